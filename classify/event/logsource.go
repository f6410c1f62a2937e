package event

import "strings"

// Logsource names where an event comes from, in Sigma's terms: product
// (windows, linux, zeek, ...), category (process_creation, ...) and service
// (sysmon, security, ...). Decoders set what they know, in lower case; an
// empty part is unknown.
type Logsource struct {
	Product  string
	Category string
	Service  string
}

// IsZero reports whether nothing is known about the source.
func (l Logsource) IsZero() bool { return l == Logsource{} }

// RuleLogsource returns the logsource rules are routed by: the one the
// decoder set, else the one the event's ECS categorisation implies (see
// InferLogsource), so events built without a decoder still route.
func (e *Event) RuleLogsource() Logsource {
	if !e.Logsource.IsZero() {
		return e.Logsource
	}
	return InferLogsource(e)
}

// InferLogsource derives a Sigma logsource from ECS fields, for formats
// that do not name one: the product from host.os.family or a known sensor
// in observer.product, the category from event.category with event.type and
// event.action, and nothing for the service.
func InferLogsource(e *Event) Logsource {
	var l Logsource
	switch fam := strings.ToLower(e.HostOSFamily); fam {
	case "windows", "linux", "macos":
		l.Product = fam
	case "darwin":
		l.Product = "macos"
	case "debian", "ubuntu", "redhat", "rhel", "centos", "fedora", "suse":
		l.Product = "linux"
	default:
		switch p := strings.ToLower(e.ObserverProduct); p {
		case "zeek", "suricata", "falco":
			l.Product = p
		}
	}
	typ := strings.ToLower(e.EventType)
	switch strings.ToLower(e.EventCategory) {
	case "process":
		switch typ {
		case "end":
			l.Category = "process_termination"
		case "access":
			l.Category = "process_access"
		default:
			l.Category = "process_creation"
		}
	case "network":
		if strings.EqualFold(e.NetworkProtocol, "dns") {
			l.Category = "dns"
		} else {
			l.Category = "network_connection"
		}
	case "file":
		switch {
		case strings.EqualFold(e.EventAction, "rename"):
			l.Category = "file_rename"
		case typ == "deletion":
			l.Category = "file_delete"
		case typ == "access":
			l.Category = "file_access"
		case typ == "change":
			l.Category = "file_change"
		default:
			l.Category = "file_event"
		}
	case "registry":
		switch typ {
		case "creation":
			l.Category = "registry_add"
		case "deletion":
			l.Category = "registry_delete"
		default:
			l.Category = "registry_set"
		}
	case "web":
		if strings.EqualFold(e.ObserverType, "proxy") {
			l.Category = "proxy"
		} else {
			l.Category = "webserver"
		}
	case "library":
		l.Category = "image_load"
	case "driver":
		l.Category = "driver_load"
	case "malware":
		l.Category = "antivirus"
	}
	return l
}
