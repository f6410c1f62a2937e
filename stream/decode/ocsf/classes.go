package ocsf

import (
	"slices"
	"strings"

	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// Network Activity activity ids (OCSF 1.x, class 4001).
const (
	netOpen    = 1
	netClose   = 2
	netReset   = 3
	netFail    = 4
	netRefuse  = 5
	netTraffic = 6
)

// network maps Network Activity (4001): endpoints, transport, direction,
// traffic counters, and an outcome that tells a completed connection from
// a refused or failed attempt.
func (r *record) network() error {
	t, ev, root := r.t, r.ev, jsontree.Root
	ev.EventCategory, ev.EventType = "network", "connection"
	ev.Logsource.Category = "network_connection"
	if err := r.endpoints(root, ""); err != nil {
		return err
	}
	if err := r.actingProcess(root, ""); err != nil {
		return err
	}
	if err := r.connection(t.Child(root, "connection_info"), "connection_info"); err != nil {
		return err
	}
	packets, err := r.traffic(t.Child(root, "traffic"), "traffic")
	if err != nil {
		return err
	}

	// The activity says more about the connection than status_id, which
	// some producers set for the log record rather than the connection.
	switch r.activity {
	case netOpen, netClose, netTraffic:
		ev.EventOutcome = "success"
	case netReset, netFail, netRefuse:
		ev.EventOutcome = "failure"
	default:
		action, _, err := integer(t, t.Child(root, "action_id"), "action_id", 0, 1<<31-1)
		if err != nil {
			return err
		}
		if action == 2 { // Denied
			ev.EventOutcome = "failure"
		} else if err := r.statusOutcome(); err != nil {
			return err
		}
	}
	// An opened, closed, reset, refused or reported connection crossed the
	// wire at least once; without counters, 1 is the honest lower bound, so
	// rules that skip zero-packet records still see the attempt. A failed
	// attempt (timeout, no route) may never have left the host.
	if !packets {
		switch r.activity {
		case netOpen, netClose, netReset, netRefuse, netTraffic:
			ev.NetworkPackets = 1
		}
	}
	return nil
}

// endpoints maps src_endpoint and dst_endpoint of object o (field names
// prefixed with prefix).
func (r *record) endpoints(o int32, prefix string) error {
	t, ev := r.t, r.ev
	var err error
	src, dst := t.Child(o, "src_endpoint"), t.Child(o, "dst_endpoint")
	sp, dp := prefix+"src_endpoint", prefix+"dst_endpoint"
	if ev.SourceIP, err = ipAddr(t, t.Child(src, "ip"), sp+".ip"); err != nil {
		return err
	}
	if ev.SourcePort, err = port(t, t.Child(src, "port"), sp+".port"); err != nil {
		return err
	}
	if ev.SourceDomain, err = str(t, t.Child(src, "hostname"), sp+".hostname"); err != nil {
		return err
	}
	if ev.DestinationIP, err = ipAddr(t, t.Child(dst, "ip"), dp+".ip"); err != nil {
		return err
	}
	if ev.DestinationPort, err = port(t, t.Child(dst, "port"), dp+".port"); err != nil {
		return err
	}
	if ev.DestinationDomain, err = str(t, t.Child(dst, "hostname"), dp+".hostname"); err != nil {
		return err
	}
	return nil
}

// connection maps connection_info: the transport from protocol_name, else
// from the IANA protocol_num, and the direction.
func (r *record) connection(ci int32, field string) error {
	t, ev := r.t, r.ev
	name, err := str(t, t.Child(ci, "protocol_name"), field+".protocol_name")
	if err != nil {
		return err
	}
	ev.NetworkTransport = strings.ToLower(name)
	if ev.NetworkTransport == "" {
		num, ok, err := integer(t, t.Child(ci, "protocol_num"), field+".protocol_num", 0, 255)
		if err != nil {
			return err
		}
		if ok {
			switch num {
			case 1:
				ev.NetworkTransport = "icmp"
			case 6:
				ev.NetworkTransport = "tcp"
			case 17:
				ev.NetworkTransport = "udp"
			case 58:
				ev.NetworkTransport = "ipv6-icmp"
			}
		}
	}
	dir, ok, err := integer(t, t.Child(ci, "direction_id"), field+".direction_id", 0, 1<<31-1)
	if err != nil {
		return err
	}
	if !ok {
		s, err := str(t, t.Child(ci, "direction"), field+".direction")
		if err != nil {
			return err
		}
		switch strings.ToLower(s) {
		case "inbound":
			dir = 1
		case "outbound":
			dir = 2
		case "lateral":
			dir = 3
		}
	}
	switch dir {
	case 1:
		ev.NetworkDirection = "inbound"
	case 2:
		ev.NetworkDirection = "outbound"
	case 3:
		ev.NetworkDirection = "internal"
	}
	return nil
}

// traffic maps the traffic counters: packets and bytes, else the sums of
// the _in and _out counters. It reports whether a packet count was given.
func (r *record) traffic(tr int32, field string) (bool, error) {
	t, ev := r.t, r.ev
	sum := func(key string) (int64, bool, error) {
		n, ok, err := count(t, t.Child(tr, key), field+"."+key)
		if err != nil || ok {
			return n, ok, err
		}
		in, iok, err := count(t, t.Child(tr, key+"_in"), field+"."+key+"_in")
		if err != nil {
			return 0, false, err
		}
		out, ook, err := count(t, t.Child(tr, key+"_out"), field+"."+key+"_out")
		if err != nil {
			return 0, false, err
		}
		if in > 1<<62 || out > 1<<62 {
			return 0, false, wrongType(t, t.Child(tr, key+"_in"), field+"."+key+"_in", "counter below 2^62")
		}
		return in + out, iok || ook, nil
	}
	var err error
	var ok bool
	if ev.NetworkBytes, _, err = sum("bytes"); err != nil {
		return false, err
	}
	if ev.NetworkPackets, ok, err = sum("packets"); err != nil {
		return false, err
	}
	return ok, nil
}

// actingProcess maps the process an event is about, for classes where
// that is the acting one: process at the top of object o, else
// actor.process.
func (r *record) actingProcess(o int32, prefix string) error {
	t := r.t
	if p := t.Child(o, "process"); t.Kind(p) == jsontree.Object {
		return r.setProcess(p, prefix+"process", true)
	}
	return r.setProcess(t.Path(o, "actor", "process"), prefix+"actor.process", true)
}

// setProcess maps an OCSF process object to process.*; withParent adds
// its parent_process as process.parent.executable.
func (r *record) setProcess(p int32, field string, withParent bool) error {
	t, ev := r.t, r.ev
	if t.Kind(p) == jsontree.Absent {
		return nil
	}
	if t.Kind(p) != jsontree.Object {
		return wrongType(t, p, field, "object")
	}
	var err error
	if ev.ProcessName, err = firstStr(t, p, field, "name"); err != nil {
		return err
	}
	file := t.Child(p, "file")
	path, name, err := r.filePath(file, field+".file")
	if err != nil {
		return err
	}
	ev.ProcessExecutable = path
	if ev.ProcessName == "" {
		ev.ProcessName = name
	}
	if ev.ProcessCommandLine, err = str(t, t.Child(p, "cmd_line"), field+".cmd_line"); err != nil {
		return err
	}
	if withParent {
		pp, _, err := r.filePath(t.Path(p, "parent_process", "file"), field+".parent_process.file")
		if err != nil {
			return err
		}
		ev.ProcessParentExecutable = pp
	}
	return nil
}

// filePath returns an OCSF file object's path (its path, else parent_folder
// joined with name) and name.
func (r *record) filePath(f int32, field string) (path, name string, err error) {
	t := r.t
	if t.Kind(f) == jsontree.Absent {
		return "", "", nil
	}
	if t.Kind(f) != jsontree.Object {
		return "", "", wrongType(t, f, field, "object")
	}
	if name, err = str(t, t.Child(f, "name"), field+".name"); err != nil {
		return "", "", err
	}
	if path, err = str(t, t.Child(f, "path"), field+".path"); err != nil {
		return "", "", err
	}
	if path == "" {
		dir, err := str(t, t.Child(f, "parent_folder"), field+".parent_folder")
		if err != nil {
			return "", "", err
		}
		if dir != "" {
			path = joinPath(dir, name)
		}
	}
	return path, name, nil
}

// Process Activity activity ids (class 1007).
const (
	procLaunch    = 1
	procTerminate = 2
	procOpen      = 3
)

// process maps Process Activity (1007). The actor's process is the one
// that launched, opened or injected into the target process, so it stands
// in for the parent when process.parent_process is absent.
func (r *record) process() error {
	t, ev, root := r.t, r.ev, jsontree.Root
	ev.EventCategory = "process"
	switch r.activity {
	case procLaunch:
		ev.EventType, ev.Logsource.Category = "start", "process_creation"
	case procTerminate:
		ev.EventType, ev.Logsource.Category = "end", "process_termination"
	case procOpen:
		ev.EventType, ev.Logsource.Category = "access", "process_access"
	default:
		ev.EventType = "info"
	}
	if err := r.statusOutcome(); err != nil {
		return err
	}
	if err := r.setProcess(t.Child(root, "process"), "process", true); err != nil {
		return err
	}
	if ev.ProcessParentExecutable == "" {
		pp, _, err := r.filePath(t.Path(root, "actor", "process", "file"), "actor.process.file")
		if err != nil {
			return err
		}
		ev.ProcessParentExecutable = pp
	}
	if ev.UserName == "" {
		var err error
		if ev.UserName, err = str(t, t.Path(root, "process", "user", "name"), "process.user.name"); err != nil {
			return err
		}
	}
	return nil
}

// File System Activity activity ids (class 1001).
const (
	fileCreate  = 1
	fileRead    = 2
	fileUpdate  = 3
	fileDelete  = 4
	fileRename  = 5
	fileEncrypt = 10
	fileOpen    = 14
)

// file maps File System Activity (1001). For a rename, file.path and
// file.extension are the new name's (file_result), which is what a rule
// watching for ransomware extensions must see; the old name stays in the
// native file.* fields.
func (r *record) file() error {
	t, ev, root := r.t, r.ev, jsontree.Root
	ev.EventCategory = "file"
	switch r.activity {
	case fileCreate:
		ev.EventType, ev.Logsource.Category = "creation", "file_event"
	case fileUpdate, fileEncrypt:
		ev.EventType, ev.Logsource.Category = "change", "file_event"
	case fileDelete:
		ev.EventType, ev.Logsource.Category = "deletion", "file_delete"
	case fileRename:
		ev.EventType, ev.Logsource.Category = "change", "file_rename"
		ev.EventAction = "rename"
	case fileRead, fileOpen:
		ev.EventType, ev.Logsource.Category = "access", "file_access"
	default:
		ev.EventType = "info"
	}
	if err := r.statusOutcome(); err != nil {
		return err
	}
	if err := r.actingProcess(root, ""); err != nil {
		return err
	}
	f, field := t.Child(root, "file"), "file"
	if r.activity == fileRename && t.Kind(t.Child(root, "file_result")) == jsontree.Object {
		f, field = t.Child(root, "file_result"), "file_result"
	}
	return r.setFile(f, field)
}

// setFile maps an OCSF file object to file.path and file.extension (its
// ext, else the extension of its name or path).
func (r *record) setFile(f int32, field string) error {
	t, ev := r.t, r.ev
	path, name, err := r.filePath(f, field)
	if err != nil {
		return err
	}
	if path == "" {
		path = name
	}
	ev.FilePath = path
	ext, err := str(t, t.Child(f, "ext"), field+".ext")
	if err != nil {
		return err
	}
	ext = strings.TrimPrefix(ext, ".")
	if ext == "" {
		ext = extension(name)
	}
	if ext == "" {
		ext = extension(path)
	}
	ev.FileExtension = ext
	return nil
}

// finding maps Detection Finding (2004) and Security Finding (2001): the
// finding's title and type become the rule, ATT&CK techniques from
// finding_info.attacks (and the older top-level attacks) become
// threat.technique.id, and the first evidence supplies endpoints, process
// and file where the finding has none of its own.
func (r *record) finding() error {
	t, ev, root := r.t, r.ev, jsontree.Root
	ev.EventKind, ev.EventCategory, ev.EventType = "alert", "intrusion_detection", "indicator"
	fi, fiField := t.Child(root, "finding_info"), "finding_info"
	if t.Kind(fi) != jsontree.Object {
		fi, fiField = t.Child(root, "finding"), "finding" // OCSF 1.0 Security Finding
	}
	var err error
	if ev.RuleName, err = str(t, t.Child(fi, "title"), fiField+".title"); err != nil {
		return err
	}
	if ev.RuleName == "" {
		if ev.RuleName, err = str(t, t.Path(fi, "analytic", "name"), fiField+".analytic.name"); err != nil {
			return err
		}
	}
	types := t.Child(fi, "types")
	switch t.Kind(types) {
	case jsontree.Array:
		if ev.RuleCategory, err = str(t, t.First(types), fiField+".types"); err != nil {
			return err
		}
	default:
		if ev.RuleCategory, err = str(t, types, fiField+".types"); err != nil {
			return err
		}
	}
	if err := r.attacks(t.Child(fi, "attacks"), fiField+".attacks"); err != nil {
		return err
	}
	if err := r.attacks(t.Child(root, "attacks"), "attacks"); err != nil {
		return err
	}

	if err := r.endpoints(root, ""); err != nil {
		return err
	}
	if err := r.actingProcess(root, ""); err != nil {
		return err
	}
	if err := r.setFile(t.Child(root, "file"), "file"); err != nil {
		return err
	}
	if ev := t.Child(root, "evidences"); t.Kind(ev) == jsontree.Array {
		if err := r.evidence(t.First(ev)); err != nil {
			return err
		}
	}
	return r.resource()
}

// attacks collects technique and sub-technique uids from an array of
// OCSF attack objects. Ids that are not ATT&CK technique ids stay native.
func (r *record) attacks(a int32, field string) error {
	t, ev := r.t, r.ev
	switch t.Kind(a) {
	case jsontree.Absent, jsontree.Null:
		return nil
	case jsontree.Array:
	default:
		return wrongType(t, a, field, "array")
	}
	for at := t.First(a); at >= 0; at = t.Next(at) {
		for _, k := range [...]string{"technique", "sub_technique"} {
			id, err := str(t, t.Path(at, k, "uid"), field+"."+k+".uid")
			if err != nil {
				return err
			}
			if isTechnique(id) {
				id = strings.ToUpper(id)
				if !slices.Contains(ev.ThreatTechniques, id) {
					ev.ThreatTechniques = append(ev.ThreatTechniques, id)
				}
			}
		}
	}
	return nil
}

// evidence fills what the finding lacks from its first evidence artifact.
func (r *record) evidence(e int32) error {
	if r.t.Kind(e) != jsontree.Object {
		return nil
	}
	ev := r.ev
	keep := *ev
	if err := r.endpoints(e, "evidences."); err != nil {
		return err
	}
	if err := r.actingProcess(e, "evidences."); err != nil {
		return err
	}
	if err := r.setFile(r.t.Child(e, "file"), "evidences.file"); err != nil {
		return err
	}
	if u, err := str(r.t, r.t.Path(e, "actor", "user", "name"), "evidences.actor.user.name"); err != nil {
		return err
	} else if keep.UserName == "" {
		ev.UserName = u
	}
	// The finding's own values win over the evidence's.
	for _, p := range []struct{ dst, own *string }{
		{&ev.SourceIP, &keep.SourceIP}, {&ev.SourceDomain, &keep.SourceDomain},
		{&ev.DestinationIP, &keep.DestinationIP}, {&ev.DestinationDomain, &keep.DestinationDomain},
		{&ev.ProcessName, &keep.ProcessName}, {&ev.ProcessExecutable, &keep.ProcessExecutable},
		{&ev.ProcessCommandLine, &keep.ProcessCommandLine},
		{&ev.ProcessParentExecutable, &keep.ProcessParentExecutable},
		{&ev.FilePath, &keep.FilePath}, {&ev.FileExtension, &keep.FileExtension},
	} {
		if *p.own != "" {
			*p.dst = *p.own
		}
	}
	if keep.SourcePort != 0 {
		ev.SourcePort = keep.SourcePort
	}
	if keep.DestinationPort != 0 {
		ev.DestinationPort = keep.DestinationPort
	}
	return nil
}

// resource fills host.name and host.ip from the first affected resource
// when the finding names no device.
func (r *record) resource() error {
	t, ev := r.t, r.ev
	res := t.Child(jsontree.Root, "resources")
	if t.Kind(res) != jsontree.Array {
		return nil
	}
	first := t.First(res)
	if ev.HostName == "" {
		h, err := str(t, t.Child(first, "hostname"), "resources.hostname")
		if err != nil {
			return err
		}
		ev.HostName = h
	}
	if ev.HostIP == "" {
		ip, err := ipAddr(t, t.Child(first, "ip"), "resources.ip")
		if err != nil {
			return err
		}
		ev.HostIP = ip
	}
	return nil
}
