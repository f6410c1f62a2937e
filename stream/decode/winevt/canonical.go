package winevt

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/casus-sec/casus/classify/event"
)

// canonical fills the ECS-named fields and the Sigma logsource from the
// System values and the native fields. Values that do not parse (an IP
// address, a port) leave their canonical field unset: the native field
// still carries them for the rules.
func (d *Decoder) canonical(ev *event.Event, sys *system, fs *fieldSet) {
	ev.Timestamp = sys.time
	ev.EventKind = "event"
	ev.EventCode, _ = fs.get("EventID")
	ev.EventDataset = sys.channel
	ev.HostName = sys.computer
	ev.HostOSFamily = "windows"
	ev.ObserverVendor = "Microsoft"

	service := d.tables.service(sys.channel)
	eventType, _ := fs.get("EventType")
	ev.Logsource = event.Logsource{
		Product:  "windows",
		Service:  service,
		Category: d.tables.category(service, sys.eventID, eventType),
	}

	switch service {
	case "sysmon":
		ev.ObserverProduct = "sysmon"
		sysmonECS(ev, sys.eventID, fs)
	case "security":
		ev.ObserverProduct = "windows"
		if sys.eventID == 4688 {
			ev.EventCategory, ev.EventType = "process", "start"
			setProcess(ev, fs, "NewProcessName")
			ev.ProcessCommandLine, _ = fs.get("CommandLine")
			ev.ProcessParentExecutable, _ = fs.get("ParentProcessName")
			ev.UserName, _ = fs.get("SubjectUserName")
		}
	default:
		ev.ObserverProduct = "windows"
	}
}

// sysmonECS maps the Sysmon event data of event id to ECS fields. Every
// Sysmon event with an Image names its acting process, and User its user.
func sysmonECS(ev *event.Event, id uint32, fs *fieldSet) {
	setProcess(ev, fs, "Image")
	ev.UserName, _ = fs.get("User")
	switch id {
	case 1: // process creation
		ev.EventCategory, ev.EventType = "process", "start"
		ev.ProcessCommandLine, _ = fs.get("CommandLine")
		ev.ProcessParentExecutable, _ = fs.get("ParentImage")
	case 3: // network connection
		ev.EventCategory, ev.EventType = "network", "connection"
		ev.SourceIP = ip(fs.get("SourceIp"))
		ev.SourcePort = port(fs.get("SourcePort"))
		ev.SourceDomain, _ = fs.get("SourceHostname")
		ev.DestinationIP = ip(fs.get("DestinationIp"))
		ev.DestinationPort = port(fs.get("DestinationPort"))
		ev.DestinationDomain, _ = fs.get("DestinationHostname")
		if p, ok := fs.get("Protocol"); ok {
			ev.NetworkTransport = strings.ToLower(p)
		}
	case 5: // process terminated
		ev.EventCategory, ev.EventType = "process", "end"
	case 11: // file created
		ev.EventCategory, ev.EventType = "file", "creation"
		setFile(ev, fs)
	case 23, 26: // file deleted (archived), file deletion logged
		ev.EventCategory, ev.EventType = "file", "deletion"
		setFile(ev, fs)
	case 12: // registry object added or deleted
		ev.EventCategory, ev.EventType = "registry", "creation"
		if t, _ := fs.get("EventType"); registryCategory(t) == "registry_delete" {
			ev.EventType = "deletion"
		}
	case 13, 14: // registry value set, key or value renamed
		ev.EventCategory, ev.EventType = "registry", "change"
	case 22: // DNS query
		ev.EventCategory, ev.EventType = "network", "protocol"
		ev.NetworkProtocol = "dns"
		ev.DestinationDomain, _ = fs.get("QueryName")
	}
}

// setProcess sets the process executable and name from field name.
func setProcess(ev *event.Event, fs *fieldSet, name string) {
	if p, ok := fs.get(name); ok && p != "" {
		ev.ProcessExecutable = p
		ev.ProcessName = baseName(p)
	}
}

// setFile sets the file path and extension from TargetFilename.
func setFile(ev *event.Event, fs *fieldSet) {
	if p, ok := fs.get("TargetFilename"); ok && p != "" {
		ev.FilePath = p
		ev.FileExtension = extension(p)
	}
}

// baseName returns the last element of a Windows or POSIX path.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// extension returns the file extension without the dot, as ECS
// file.extension wants it: "" when the base name has no dot or ends in one.
func extension(p string) string {
	b := baseName(p)
	i := strings.LastIndexByte(b, '.')
	if i < 0 || i == len(b)-1 {
		return ""
	}
	return b[i+1:]
}

// ip returns an IP address in canonical form (IPv4-mapped IPv6 unmapped),
// or "" when s is not one.
func ip(s string, ok bool) string {
	if !ok {
		return ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	return a.Unmap().String()
}

// port returns a port number, or 0 when s is not one.
func port(s string, ok bool) int {
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0
	}
	return int(n)
}
