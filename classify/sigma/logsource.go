package sigma

import (
	"strings"

	"github.com/casus-sec/casus/classify/event"
)

// Logsource is a rule's logsource section.
type Logsource struct {
	Product  string
	Category string
	Service  string
}

// categoryRoutes maps Sigma logsource categories to the ECS event.category
// values of the events they can describe. A rule whose category is listed
// here is tested only against events of those categories; a rule without a
// category, or with one not listed, is tested against every event.
var categoryRoutes = map[string][]string{
	"process_creation":     {"process"},
	"process_access":       {"process"},
	"process_termination":  {"process"},
	"network_connection":   {"network"},
	"firewall":             {"network"},
	"dns":                  {"network"},
	"dns_query":            {"network"},
	"proxy":                {"network", "web"},
	"webserver":            {"web", "network"},
	"file_event":           {"file"},
	"file_rename":          {"file"},
	"file_change":          {"file"},
	"file_delete":          {"file"},
	"file_access":          {"file"},
	"create_stream_hash":   {"file"},
	"registry_add":         {"registry"},
	"registry_delete":      {"registry"},
	"registry_event":       {"registry"},
	"registry_set":         {"registry"},
	"registry_rename":      {"registry"},
	"image_load":           {"library"},
	"driver_load":          {"driver"},
	"antivirus":            {"malware", "intrusion_detection"},
	"create_remote_thread": {"process"},
}

// osProducts are logsource products that name an operating system; they
// are checked against host.os.family when the event sets it.
var osProducts = map[string][]string{
	"windows": {"windows"},
	"linux":   {"linux", "debian", "redhat", "ubuntu", "rhel", "centos"},
	"macos":   {"macos", "darwin"},
}

// sensorProducts are logsource products that name a sensor; they are
// checked against observer.product when the event sets it.
var sensorProducts = map[string]bool{
	"zeek": true, "suricata": true, "falco": true, "sysmon": true,
}

// productFilter tells whether an event may come from a rule's product. It
// rejects only on a contradiction the event states itself: a product that
// is an OS against a different host.os.family, or a sensor product against
// a different observer.product. Anything else passes, service included.
type productFilter struct {
	os     []string // accepted host.os.family values; nil: no OS check
	sensor string   // required observer.product when set; "": no check
}

func newProductFilter(product string) productFilter {
	p := strings.ToLower(product)
	if fams, ok := osProducts[p]; ok {
		return productFilter{os: fams}
	}
	if sensorProducts[p] {
		return productFilter{sensor: p}
	}
	return productFilter{}
}

func (f *productFilter) allows(e *event.Event) bool {
	if f.os != nil && e.HostOSFamily != "" {
		ok := false
		for _, fam := range f.os {
			if strings.EqualFold(e.HostOSFamily, fam) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if f.sensor != "" && e.ObserverProduct != "" && !strings.EqualFold(e.ObserverProduct, f.sensor) {
		return false
	}
	return true
}
