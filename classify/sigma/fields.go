package sigma

import (
	"strings"

	"github.com/casus-sec/casus/classify/event"
)

// fieldID names one field of event.Event. Rules are compiled to fieldIDs so
// matching reads the struct directly: no string switch and no number
// formatting per rule per event.
type fieldID uint8

const (
	fNone fieldID = iota
	fTimestamp
	fEventKind
	fEventCategory
	fEventType
	fEventAction
	fEventOutcome
	fEventDataset
	fEventCode
	fEventSeverity
	fSourceIP
	fSourcePort
	fSourceDomain
	fSourceUserName
	fDestinationIP
	fDestinationPort
	fDestinationDomain
	fNetworkTransport
	fNetworkProtocol
	fNetworkDirection
	fNetworkBytes
	fNetworkPackets
	fHostName
	fHostIP
	fHostOSFamily
	fProcessName
	fProcessExecutable
	fProcessCommandLine
	fProcessParentExecutable
	fFilePath
	fFileExtension
	fURLOriginal
	fHTTPRequestMethod
	fHTTPResponseStatusCode
	fDNSQuestionName
	fTLSServerName
	fUserName
	fUserAgent
	fServiceName
	fRuleName
	fRuleCategory
	fObserverVendor
	fObserverProduct
	fObserverType
	fICSProtocol
	fICSFunction
	fICSFunctionCode
	fICSUnitID
	fThreatTechnique // multi-valued
	fLabel           // labels[key]
)

// ecsFields are the ECS names event.Event carries (see event.Event.Get).
var ecsFields = map[string]fieldID{
	"@timestamp":                fTimestamp,
	"event.kind":                fEventKind,
	"event.category":            fEventCategory,
	"event.type":                fEventType,
	"event.action":              fEventAction,
	"event.outcome":             fEventOutcome,
	"event.dataset":             fEventDataset,
	"event.code":                fEventCode,
	"event.severity":            fEventSeverity,
	"source.ip":                 fSourceIP,
	"source.port":               fSourcePort,
	"source.domain":             fSourceDomain,
	"source.user.name":          fSourceUserName,
	"destination.ip":            fDestinationIP,
	"destination.port":          fDestinationPort,
	"destination.domain":        fDestinationDomain,
	"network.transport":         fNetworkTransport,
	"network.protocol":          fNetworkProtocol,
	"network.direction":         fNetworkDirection,
	"network.bytes":             fNetworkBytes,
	"network.packets":           fNetworkPackets,
	"host.name":                 fHostName,
	"host.ip":                   fHostIP,
	"host.os.family":            fHostOSFamily,
	"process.name":              fProcessName,
	"process.executable":        fProcessExecutable,
	"process.command_line":      fProcessCommandLine,
	"process.parent.executable": fProcessParentExecutable,
	"file.path":                 fFilePath,
	"file.extension":            fFileExtension,
	"url.original":              fURLOriginal,
	"http.request.method":       fHTTPRequestMethod,
	"http.response.status_code": fHTTPResponseStatusCode,
	"dns.question.name":         fDNSQuestionName,
	"tls.client.server_name":    fTLSServerName,
	"user.name":                 fUserName,
	"user_agent.original":       fUserAgent,
	"service.name":              fServiceName,
	"rule.name":                 fRuleName,
	"rule.category":             fRuleCategory,
	"observer.vendor":           fObserverVendor,
	"observer.product":          fObserverProduct,
	"observer.type":             fObserverType,
	"ics.protocol":              fICSProtocol,
	"ics.function":              fICSFunction,
	"ics.function_code":         fICSFunctionCode,
	"ics.unit_id":               fICSUnitID,
	"threat.technique.id":       fThreatTechnique,
}

// sigmaFields maps common Sigma (Sysmon/Windows, Zeek, Suricata, web) field
// names to ECS, so public-style rules work on canonical events.
var sigmaFields = map[string]string{
	"Image":               "process.executable",
	"OriginalFileName":    "process.name",
	"ProcessName":         "process.name",
	"CommandLine":         "process.command_line",
	"ParentImage":         "process.parent.executable",
	"TargetFilename":      "file.path",
	"User":                "user.name",
	"DestinationIp":       "destination.ip",
	"dst_ip":              "destination.ip",
	"dest_ip":             "destination.ip",
	"DestinationPort":     "destination.port",
	"dst_port":            "destination.port",
	"dest_port":           "destination.port",
	"SourceIp":            "source.ip",
	"src_ip":              "source.ip",
	"SourcePort":          "source.port",
	"src_port":            "source.port",
	"DestinationHostname": "destination.domain",
	"SourceHostname":      "source.domain",
	"c-useragent":         "user_agent.original",
	"UserAgent":           "user_agent.original",
	"ServiceName":         "service.name",
	"EventID":             "event.code",
	"Computer":            "host.name",
	"ComputerName":        "host.name",
	"Protocol":            "network.transport",
	"id.orig_h":           "source.ip",
	"id.orig_p":           "source.port",
	"id.resp_h":           "destination.ip",
	"id.resp_p":           "destination.port",
	// Web server and proxy logs (W3C extended names, as Sigma's webserver
	// and proxy rules use them).
	"c-uri":       "url.original",
	"cs-uri":      "url.original",
	"cs-uri-stem": "url.original",
	"cs-method":   "http.request.method",
	"sc-status":   "http.response.status_code",
	"cs-host":     "destination.domain",
	"r-dns":       "destination.domain",
	"query":       "dns.question.name",
	"QueryName":   "dns.question.name",
	"server_name": "tls.client.server_name",
}

// keywordFields are the text fields a keyword (field-less) selection searches.
var keywordFields = []fieldID{
	fProcessCommandLine, fProcessExecutable, fProcessName, fProcessParentExecutable,
	fFilePath, fUserAgent, fDestinationDomain, fSourceDomain, fRuleName,
	fEventAction, fServiceName, fUserName, fURLOriginal, fDNSQuestionName, fTLSServerName,
}

// fieldRef is a rule's field name resolved to where the value lives.
type fieldRef struct {
	name string // as written in the rule
	// native is the source-native field (event.Event.Fields) read first:
	// the rule's name, unless it is an ECS or labels.* name.
	native string
	ecs    string  // ECS name, or the label key for fLabel
	id     fieldID // where the value lives when the event has no native field
	label  bool    // no canonical mapping: read from Event.Labels (warned about)
}

// resolveField maps a rule's field name to the event with the built-in
// mapping only. ECS names are used as they are and "labels.x" reads label
// x. Any other name is read from the event's own fields under that name
// first (a Windows event's EventData), then from the ECS field the built-in
// mapping gives it (sigmaFields), else from Event.Labels under the name.
func resolveField(name string) fieldRef {
	if id, ok := ecsFields[name]; ok {
		return fieldRef{name: name, ecs: name, id: id}
	}
	if k, ok := strings.CutPrefix(name, "labels."); ok && k != "" {
		return fieldRef{name: name, ecs: k, id: fLabel}
	}
	if ecs, ok := sigmaFields[name]; ok {
		return fieldRef{name: name, native: name, ecs: ecs, id: ecsFields[ecs]}
	}
	return fieldRef{name: name, native: name, ecs: name, id: fLabel, label: true}
}

// numeric reports whether the field may yield a number rather than text.
func (f *fieldRef) numeric() bool {
	switch f.id {
	case fTimestamp, fEventSeverity, fSourcePort, fDestinationPort, fNetworkBytes,
		fNetworkPackets, fICSFunctionCode, fICSUnitID, fHTTPResponseStatusCode:
		return true
	}
	return false
}

// value returns the field's value: a string, or an integer for numeric
// fields (num true). Zero numbers and empty strings are absent, as in
// event.Event.Get. Multi-valued fields return their first value.
func (f *fieldRef) value(e *event.Event) (s string, n int64, num, ok bool) {
	if f.native != "" && len(e.Fields) > 0 {
		if v, found := e.Field(f.native); found {
			return v, 0, false, v != ""
		}
	}
	switch f.id {
	case fTimestamp:
		if e.Timestamp.IsZero() {
			return "", 0, false, false
		}
		return "", e.Timestamp.UnixNano(), true, true
	case fEventKind:
		s = e.EventKind
	case fEventCategory:
		s = e.EventCategory
	case fEventType:
		s = e.EventType
	case fEventAction:
		s = e.EventAction
	case fEventOutcome:
		s = e.EventOutcome
	case fEventDataset:
		s = e.EventDataset
	case fEventCode:
		s = e.EventCode
	case fEventSeverity:
		n, num = int64(e.EventSeverity), true
	case fSourceIP:
		s = e.SourceIP
	case fSourcePort:
		n, num = int64(e.SourcePort), true
	case fSourceDomain:
		s = e.SourceDomain
	case fSourceUserName:
		s = e.SourceUserName
	case fDestinationIP:
		s = e.DestinationIP
	case fDestinationPort:
		n, num = int64(e.DestinationPort), true
	case fDestinationDomain:
		s = e.DestinationDomain
	case fNetworkTransport:
		s = e.NetworkTransport
	case fNetworkProtocol:
		s = e.NetworkProtocol
	case fNetworkDirection:
		s = e.NetworkDirection
	case fNetworkBytes:
		n, num = e.NetworkBytes, true
	case fNetworkPackets:
		n, num = e.NetworkPackets, true
	case fHostName:
		s = e.HostName
	case fHostIP:
		s = e.HostIP
	case fHostOSFamily:
		s = e.HostOSFamily
	case fProcessName:
		s = e.ProcessName
	case fProcessExecutable:
		s = e.ProcessExecutable
	case fProcessCommandLine:
		s = e.ProcessCommandLine
	case fProcessParentExecutable:
		s = e.ProcessParentExecutable
	case fFilePath:
		s = e.FilePath
	case fFileExtension:
		s = e.FileExtension
	case fURLOriginal:
		s = e.URLOriginal
	case fHTTPRequestMethod:
		s = e.HTTPRequestMethod
	case fHTTPResponseStatusCode:
		n, num = int64(e.HTTPResponseStatusCode), true
	case fDNSQuestionName:
		s = e.DNSQuestionName
	case fTLSServerName:
		s = e.TLSServerName
	case fUserName:
		s = e.UserName
	case fUserAgent:
		s = e.UserAgent
	case fServiceName:
		s = e.ServiceName
	case fRuleName:
		s = e.RuleName
	case fRuleCategory:
		s = e.RuleCategory
	case fObserverVendor:
		s = e.ObserverVendor
	case fObserverProduct:
		s = e.ObserverProduct
	case fObserverType:
		s = e.ObserverType
	case fICSProtocol:
		s = e.ICSProtocol
	case fICSFunction:
		s = e.ICSFunction
	case fICSFunctionCode:
		n, num = int64(e.ICSFunctionCode), true
	case fICSUnitID:
		n, num = int64(e.ICSUnitID), true
	case fThreatTechnique:
		if len(e.ThreatTechniques) > 0 {
			s = e.ThreatTechniques[0]
		}
	case fLabel:
		s = e.Labels[f.ecs]
	}
	if num {
		return "", n, true, n != 0
	}
	return s, 0, false, s != ""
}

// textValue returns a string field's value for keyword search.
func textValue(e *event.Event, id fieldID) string {
	f := fieldRef{id: id}
	s, _, _, _ := f.value(e)
	return s
}
