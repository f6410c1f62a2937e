package suricata

import (
	"fmt"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// flattener turns every scalar of a record into an ev.Fields entry named by
// its dotted path, as EVE writes it (alert.signature, flow.pkts_toserver,
// dns.queries.rrname). It is per-call scratch kept in the Decoder's pool.
//
// Values are gathered into one buffer and the event receives them as
// substrings of a single string, so a record costs one allocation for all
// its values rather than one per field.
type flattener struct {
	path   []byte
	vals   []byte
	out    []byte
	pieces []piece
	slots  []slot
	// table is an open-addressing hash index from field name to slot+1
	// (0 = empty), sized for MaxFields at a low load; reset clears only
	// the entries used. A map would cost a hashed insert per field.
	table []int32
	names map[string]string
}

// tableSize is a power of two, four times MaxFields.
const tableSize = 4 * MaxFields

// piece is one scalar value: a span of vals and the next piece of the same
// field (array elements are joined).
type piece struct {
	off, end int32
	next     int32
}

// slot is one distinct field name, in order of first appearance.
type slot struct {
	name       string
	head, tail int32 // pieces, -1 when none
	fromArray  bool  // the pieces come from array elements: join them
	start, end int32 // span of the joined value in out, after finish
	hash       uint32
	pos        int32 // index in table
}

func newFlattener(names map[string]string) *flattener {
	return &flattener{table: make([]int32, tableSize), names: names}
}

// reset forgets the last record but keeps the buffers.
func (f *flattener) reset() {
	f.path = f.path[:0]
	f.vals = f.vals[:0]
	f.out = f.out[:0]
	f.pieces = f.pieces[:0]
	for i := range f.slots {
		f.table[f.slots[i].pos] = 0
	}
	clear(f.slots) // drop name strings
	f.slots = f.slots[:0]
}

// fnv1a hashes a field name.
func fnv1a[T string | []byte](b T) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(b); i++ {
		h ^= uint32(b[i])
		h *= 16777619
	}
	return h
}

// lookup returns the slot of name and true, or the table position where
// it belongs and false.
func lookup[T string | []byte](f *flattener, name T, h uint32) (int32, bool) {
	for i := h & (tableSize - 1); ; i = (i + 1) & (tableSize - 1) {
		e := f.table[i]
		if e == 0 {
			return int32(i), false
		}
		if sl := &f.slots[e-1]; sl.hash == h && sl.name == string(name) {
			return e - 1, true
		}
	}
}

// oversized reports whether a buffer grew past what is worth pooling.
func (f *flattener) oversized() bool {
	const max = 256 << 10
	return cap(f.vals) > max || cap(f.out) > max || cap(f.pieces) > jsontree.DefaultMaxValues/4
}

// object walks the members of object i.
func (f *flattener) object(t *jsontree.Tree, i int32, inArray bool) error {
	for c := t.First(i); c >= 0; c = t.Next(c) {
		n := len(f.path)
		if n > 0 {
			f.path = append(f.path, '.')
		}
		f.path = append(f.path, t.KeyBytes(c)...)
		if err := f.value(t, c, inArray); err != nil {
			return err
		}
		f.path = f.path[:n]
	}
	return nil
}

// value adds value i under the current path.
func (f *flattener) value(t *jsontree.Tree, i int32, inArray bool) error {
	switch t.Kind(i) {
	case jsontree.Object:
		return f.object(t, i, inArray)
	case jsontree.Array:
		// Elements share the array's name; nested arrays flatten into it.
		for e := t.First(i); e >= 0; e = t.Next(e) {
			if err := f.value(t, e, true); err != nil {
				return err
			}
		}
		return nil
	case jsontree.String, jsontree.Number, jsontree.Bool:
		if len(f.path) == 0 {
			return nil // a member named "" at the top level names nothing
		}
		v, _ := t.TextBytes(i)
		return f.add(v, inArray)
	}
	return nil // null: absent
}

// add records value v for the field at f.path. A name seen again keeps the
// last value, except that array elements are joined with "\n".
func (f *flattener) add(v []byte, inArray bool) error {
	h := fnv1a(f.path)
	s, ok := lookup(f, f.path, h)
	if !ok {
		if len(f.slots) >= MaxFields {
			return tooManyFields()
		}
		name, known := f.names[string(f.path)]
		if !known {
			name = string(f.path)
		}
		pos := s
		s = int32(len(f.slots))
		f.table[pos] = s + 1
		f.slots = append(f.slots, slot{name: name, head: -1, tail: -1, hash: h, pos: pos})
	}
	p := int32(len(f.pieces))
	f.pieces = append(f.pieces, piece{off: int32(len(f.vals)), next: -1})
	f.vals = append(f.vals, v...)
	f.pieces[p].end = int32(len(f.vals))

	sl := &f.slots[s]
	if sl.head >= 0 && inArray && sl.fromArray {
		f.pieces[sl.tail].next = p
		sl.tail = p
		return nil
	}
	sl.head, sl.tail, sl.fromArray = p, p, inArray
	return nil
}

// finish builds ev.Fields from the slots: one string holds every value.
func (f *flattener) finish(ev *event.Event) {
	if len(f.slots) == 0 {
		return
	}
	for i := range f.slots {
		sl := &f.slots[i]
		sl.start = int32(len(f.out))
		for p := sl.head; p >= 0; p = f.pieces[p].next {
			if p != sl.head {
				f.out = append(f.out, '\n')
			}
			f.out = append(f.out, f.vals[f.pieces[p].off:f.pieces[p].end]...)
		}
		sl.end = int32(len(f.out))
	}
	all := string(f.out)
	ev.Fields = make([]event.Field, len(f.slots))
	for i := range f.slots {
		ev.Fields[i] = event.Field{Name: f.slots[i].name, Value: all[f.slots[i].start:f.slots[i].end]}
	}
}

// get returns the native value of field name after finish, without
// allocating: canonical string fields share the native field's string.
func (f *flattener) get(ev *event.Event, name string) (string, bool) {
	s, ok := lookup(f, name, fnv1a(name))
	if !ok {
		return "", false
	}
	return ev.Fields[s].Value, true
}

func tooManyFields() error {
	return decerr.New(Format, decerr.TooLarge, "", fmt.Errorf("more than %d distinct fields", MaxFields))
}

// knownNames lists the EVE field names the decoder expects to see, so the
// common ones cost no allocation: the envelope, the record types it maps,
// and frequent members of the others.
func knownNames() []string {
	return []string{
		// Envelope.
		"timestamp", "flow_id", "parent_id", "in_iface", "event_type", "vlan", "src_ip", "src_port",
		"dest_ip", "dest_port", "proto", "app_proto", "app_proto_ts", "app_proto_tc", "app_proto_orig",
		"app_proto_expected", "host", "tx_id", "tx_guessed", "pcap_cnt", "pcap_filename", "pkt_src",
		"community_id", "direction", "icmp_type", "icmp_code", "response_icmp_type", "response_icmp_code",
		"capture_file", "packet", "payload", "payload_printable", "stream", "packet_info.linktype",
		"metadata.flowbits", "metadata.flowints", "ether.src_mac", "ether.dest_mac",
		// Alert.
		"alert.action", "alert.gid", "alert.signature_id", "alert.rev", "alert.signature",
		"alert.category", "alert.severity", "alert.source.ip", "alert.source.port", "alert.target.ip",
		"alert.target.port", "alert.metadata.affected_product", "alert.metadata.attack_target",
		"alert.metadata.created_at", "alert.metadata.updated_at", "alert.metadata.deployment",
		"alert.metadata.former_category", "alert.metadata.malware_family",
		"alert.metadata.performance_impact", "alert.metadata.signature_severity",
		"alert.metadata.confidence", "alert.metadata.tag", "alert.metadata.cve",
		"alert.metadata.mitre_tactic_id", "alert.metadata.mitre_tactic_name",
		"alert.metadata.mitre_technique_id", "alert.metadata.mitre_technique_name",
		"alert.metadata.reviewed_at", "alert.metadata.policy",
		// Flow and TCP.
		"flow.pkts_toserver", "flow.pkts_toclient", "flow.bytes_toserver", "flow.bytes_toclient",
		"flow.start", "flow.end", "flow.age", "flow.state", "flow.reason", "flow.alerted",
		"flow.bypass", "flow.bypassed.pkts_toserver", "flow.bypassed.pkts_toclient",
		"flow.bypassed.bytes_toserver", "flow.bypassed.bytes_toclient", "flow.wrong_thread",
		"flow.exception_policy", "flow.tx_cnt", "flow.emergency", "flow.src_ip", "flow.dest_ip",
		"flow.src_port", "flow.dest_port",
		"tcp.tcp_flags", "tcp.tcp_flags_ts", "tcp.tcp_flags_tc", "tcp.syn", "tcp.fin", "tcp.rst",
		"tcp.psh", "tcp.ack", "tcp.urg", "tcp.ecn", "tcp.cwr", "tcp.state", "tcp.ts_max_regions",
		"tcp.tc_max_regions",
		// Anomaly.
		"anomaly.type", "anomaly.event", "anomaly.layer", "anomaly.code",
		// DNS (v1/v2 and v3).
		"dns.version", "dns.type", "dns.id", "dns.flags", "dns.qr", "dns.aa", "dns.tc", "dns.rd",
		"dns.ra", "dns.z", "dns.opcode", "dns.rcode", "dns.rrname", "dns.rrtype", "dns.rdata",
		"dns.ttl", "dns.tx_id", "dns.queries.rrname", "dns.queries.rrtype", "dns.answers.rrname",
		"dns.answers.rrtype", "dns.answers.ttl", "dns.answers.rdata", "dns.authorities.rrname",
		"dns.authorities.rrtype", "dns.authorities.ttl", "dns.grouped.A", "dns.grouped.AAAA",
		"dns.grouped.CNAME", "dns.query.rrname", "dns.query.rrtype", "dns.query.type",
		"dns.answer.rrname", "dns.answer.rrtype", "dns.answer.rcode",
		// HTTP.
		"http.hostname", "http.http_port", "http.url", "http.http_user_agent",
		"http.http_content_type", "http.http_refer", "http.http_method", "http.protocol",
		"http.status", "http.length", "http.redirect", "http.xff", "http.request_headers.name",
		"http.request_headers.value", "http.response_headers.name", "http.response_headers.value",
		// TLS.
		"tls.subject", "tls.issuerdn", "tls.serial", "tls.fingerprint", "tls.sni", "tls.version",
		"tls.notbefore", "tls.notafter", "tls.session_resumed", "tls.ja3.hash", "tls.ja3.string",
		"tls.ja3s.hash", "tls.ja3s.string", "tls.ja4", "tls.client_alpns", "tls.server_alpns",
		"tls.certificate", "tls.chain",
		// Files.
		"fileinfo.filename", "fileinfo.magic", "fileinfo.gaps", "fileinfo.state", "fileinfo.md5",
		"fileinfo.sha1", "fileinfo.sha256", "fileinfo.stored", "fileinfo.file_id", "fileinfo.size",
		"fileinfo.tx_id", "fileinfo.sid",
		// Netflow.
		"netflow.pkts", "netflow.bytes", "netflow.start", "netflow.end", "netflow.age",
		"netflow.min_ttl", "netflow.max_ttl", "netflow.tx_cnt",
		// SSH.
		"ssh.client.proto_version", "ssh.client.software_version", "ssh.client.hassh.hash",
		"ssh.client.hassh.string", "ssh.server.proto_version", "ssh.server.software_version",
		"ssh.server.hassh.hash", "ssh.server.hassh.string",
		// SMB.
		"smb.id", "smb.dialect", "smb.command", "smb.status", "smb.status_code", "smb.session_id",
		"smb.tree_id", "smb.filename", "smb.share", "smb.share_type", "smb.disposition",
		"smb.access", "smb.fuid", "smb.ntlmssp.domain", "smb.ntlmssp.user", "smb.ntlmssp.host",
	}
}
