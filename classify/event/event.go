package event

import (
	"strconv"
	"time"
)

// Event is one telemetry record in canonical form. Field names follow the
// Elastic Common Schema; Get maps a dotted ECS name to the field so rules can
// address fields by name without reflection or maps on the hot path.
type Event struct {
	Timestamp time.Time

	// Logsource is the Sigma logsource the decoder recognised the record
	// as; rules are routed by it.
	Logsource Logsource

	EventKind     string // event.kind
	EventCategory string // event.category
	EventType     string // event.type
	EventAction   string // event.action
	EventOutcome  string // event.outcome
	EventDataset  string // event.dataset
	EventCode     string // event.code (Windows event id, ...)
	EventSeverity int    // event.severity

	SourceIP       string // source.ip
	SourcePort     int    // source.port
	SourceDomain   string // source.domain
	SourceUserName string // source.user.name

	DestinationIP     string // destination.ip
	DestinationPort   int    // destination.port
	DestinationDomain string // destination.domain

	NetworkTransport string // network.transport
	NetworkProtocol  string // network.protocol
	NetworkDirection string // network.direction
	NetworkBytes     int64  // network.bytes
	NetworkPackets   int64  // network.packets

	HostName     string // host.name
	HostIP       string // host.ip
	HostOSFamily string // host.os.family

	ProcessName             string // process.name
	ProcessExecutable       string // process.executable
	ProcessCommandLine      string // process.command_line
	ProcessParentExecutable string // process.parent.executable

	FilePath      string // file.path
	FileExtension string // file.extension

	URLOriginal            string // url.original (the requested URL or path)
	HTTPRequestMethod      string // http.request.method
	HTTPResponseStatusCode int    // http.response.status_code
	DNSQuestionName        string // dns.question.name
	TLSServerName          string // tls.client.server_name (SNI)

	UserName        string // user.name
	UserAgent       string // user_agent.original
	ServiceName     string // service.name
	RuleName        string // rule.name (an upstream IDS alert)
	RuleCategory    string // rule.category
	ObserverVendor  string // observer.vendor
	ObserverProduct string // observer.product
	ObserverType    string // observer.type

	ICSProtocol     string // ics.protocol (modbus, dnp3, ...)
	ICSFunction     string // ics.function (e.g. write_single_register)
	ICSFunctionCode int    // ics.function_code
	ICSUnitID       int    // ics.unit_id

	// ThreatTechniques are ATT&CK technique ids the sensor already names
	// (threat.technique.id).
	ThreatTechniques []string

	// Labels are free-form labels.* values.
	Labels map[string]string

	// Fields are the source's own fields under the names the sensor wrote
	// them (a Windows event's EventData, ...), kept beside the canonical
	// ones so rules written against those names match. Decoders append in
	// record order; a name appears at most once.
	Fields []Field
}

// Field is one source-native field.
type Field struct {
	Name  string
	Value string
}

// Field returns the value of the source-native field name (exact, case
// sensitive) and whether it is present.
func (e *Event) Field(name string) (string, bool) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return e.Fields[i].Value, true
		}
	}
	return "", false
}

// fieldNames are the ECS names Get knows, in the order of Event's fields.
var fieldNames = [...]string{
	"@timestamp",
	"event.kind",
	"event.category",
	"event.type",
	"event.action",
	"event.outcome",
	"event.dataset",
	"event.code",
	"event.severity",
	"source.ip",
	"source.port",
	"source.domain",
	"source.user.name",
	"destination.ip",
	"destination.port",
	"destination.domain",
	"network.transport",
	"network.protocol",
	"network.direction",
	"network.bytes",
	"network.packets",
	"host.name",
	"host.ip",
	"host.os.family",
	"process.name",
	"process.executable",
	"process.command_line",
	"process.parent.executable",
	"file.path",
	"file.extension",
	"url.original",
	"http.request.method",
	"http.response.status_code",
	"dns.question.name",
	"tls.client.server_name",
	"user.name",
	"user_agent.original",
	"service.name",
	"rule.name",
	"rule.category",
	"observer.vendor",
	"observer.product",
	"observer.type",
	"ics.protocol",
	"ics.function",
	"ics.function_code",
	"ics.unit_id",
	"threat.technique.id",
}

// FieldNames returns the ECS names Get knows (labels.* aside), in the order
// of Event's fields: what a rule can name besides the source's own fields.
func FieldNames() []string { return fieldNames[:] }

// Get returns the value of a field by its dotted ECS name, rendered as a
// string, and whether the field is set. Numbers are decimal; an unset number
// (zero) counts as absent, which matches how sensors omit them.
func (e *Event) Get(field string) (string, bool) {
	switch field {
	case "@timestamp":
		if e.Timestamp.IsZero() {
			return "", false
		}
		return e.Timestamp.UTC().Format(time.RFC3339Nano), true
	case "event.kind":
		return str(e.EventKind)
	case "event.category":
		return str(e.EventCategory)
	case "event.type":
		return str(e.EventType)
	case "event.action":
		return str(e.EventAction)
	case "event.outcome":
		return str(e.EventOutcome)
	case "event.dataset":
		return str(e.EventDataset)
	case "event.code":
		return str(e.EventCode)
	case "event.severity":
		return num(int64(e.EventSeverity))
	case "source.ip":
		return str(e.SourceIP)
	case "source.port":
		return num(int64(e.SourcePort))
	case "source.domain":
		return str(e.SourceDomain)
	case "source.user.name":
		return str(e.SourceUserName)
	case "destination.ip":
		return str(e.DestinationIP)
	case "destination.port":
		return num(int64(e.DestinationPort))
	case "destination.domain":
		return str(e.DestinationDomain)
	case "network.transport":
		return str(e.NetworkTransport)
	case "network.protocol":
		return str(e.NetworkProtocol)
	case "network.direction":
		return str(e.NetworkDirection)
	case "network.bytes":
		return num(e.NetworkBytes)
	case "network.packets":
		return num(e.NetworkPackets)
	case "host.name":
		return str(e.HostName)
	case "host.ip":
		return str(e.HostIP)
	case "host.os.family":
		return str(e.HostOSFamily)
	case "process.name":
		return str(e.ProcessName)
	case "process.executable":
		return str(e.ProcessExecutable)
	case "process.command_line":
		return str(e.ProcessCommandLine)
	case "process.parent.executable":
		return str(e.ProcessParentExecutable)
	case "file.path":
		return str(e.FilePath)
	case "file.extension":
		return str(e.FileExtension)
	case "url.original":
		return str(e.URLOriginal)
	case "http.request.method":
		return str(e.HTTPRequestMethod)
	case "http.response.status_code":
		return num(int64(e.HTTPResponseStatusCode))
	case "dns.question.name":
		return str(e.DNSQuestionName)
	case "tls.client.server_name":
		return str(e.TLSServerName)
	case "user.name":
		return str(e.UserName)
	case "user_agent.original":
		return str(e.UserAgent)
	case "service.name":
		return str(e.ServiceName)
	case "rule.name":
		return str(e.RuleName)
	case "rule.category":
		return str(e.RuleCategory)
	case "observer.vendor":
		return str(e.ObserverVendor)
	case "observer.product":
		return str(e.ObserverProduct)
	case "observer.type":
		return str(e.ObserverType)
	case "ics.protocol":
		return str(e.ICSProtocol)
	case "ics.function":
		return str(e.ICSFunction)
	case "ics.function_code":
		return num(int64(e.ICSFunctionCode))
	case "ics.unit_id":
		return num(int64(e.ICSUnitID))
	case "threat.technique.id":
		if len(e.ThreatTechniques) == 0 {
			return "", false
		}
		return e.ThreatTechniques[0], true
	}
	if len(field) > len("labels.") && field[:len("labels.")] == "labels." {
		v, ok := e.Labels[field[len("labels."):]]
		return v, ok
	}
	return "", false
}

// Target returns the address or name of the asset the event acts on: the
// destination for network events, else the host the event was observed on.
func (e *Event) Target() string {
	switch {
	case e.DestinationIP != "":
		return e.DestinationIP
	case e.HostIP != "":
		return e.HostIP
	default:
		return e.HostName
	}
}

// Source returns the acting address, or the host itself for host events
// (a command run on a host acts from that host).
func (e *Event) Source() string {
	switch {
	case e.SourceIP != "":
		return e.SourceIP
	case e.HostIP != "":
		return e.HostIP
	default:
		return e.HostName
	}
}

func str(s string) (string, bool) { return s, s != "" }

func num(n int64) (string, bool) {
	if n == 0 {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}
