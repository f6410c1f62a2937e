package suricata

import (
	"errors"
	"slices"
	"strconv"

	"github.com/casus-sec/casus/stream/decode/internal/decerr"
	"github.com/casus-sec/casus/stream/decode/internal/jsontree"
)

// recordTypes gives each event_type the decoder knows its ECS
// categorisation and Sigma logsource category. Types not listed decode the
// envelope only (see decodeTree).
func recordTypes() map[string]recordType {
	m := map[string]recordType{
		"alert":    {kind: "alert", category: "intrusion_detection", typ: "info"},
		"flow":     {kind: "event", category: "network", typ: "connection", logsource: "network_connection"},
		"netflow":  {kind: "event", category: "network", typ: "connection"},
		"anomaly":  {kind: "event", category: "network", typ: "info"},
		"dns":      {kind: "event", category: "network", typ: "protocol", logsource: "dns"},
		"drop":     {kind: "event", category: "network", typ: "denied"},
		"fileinfo": {kind: "event", category: "file", typ: "info"},
		"stats":    {kind: "metric"},
	}
	// Application-layer transaction logs.
	for _, p := range []string{
		"http", "http2", "tls", "ssh", "smb", "ftp", "ftp_data", "smtp", "dcerpc", "krb5", "dhcp",
		"nfs", "tftp", "ike", "snmp", "sip", "rfb", "mqtt", "rdp", "modbus", "dnp3", "enip", "quic",
		"pgsql", "telnet", "websocket", "ldap", "bittorrent_dht", "mdns", "pop3", "imap", "arp",
		"doh2", "sdp",
	} {
		m[p] = recordType{kind: "event", category: "network", typ: "protocol"}
	}
	return m
}

// knownProtocols lists proto and app_proto values in lower case; the
// decoder interns them and their upper-case spelling.
func knownProtocols() []string {
	return []string{
		"tcp", "udp", "icmp", "ipv6-icmp", "sctp", "gre", "esp", "ah", "igmp", "pim", "ipip", "ipv6",
		"http", "http1", "http2", "tls", "dns", "ssh", "smb", "ftp", "ftp-data", "smtp", "dcerpc",
		"krb5", "dhcp", "nfs", "ntp", "tftp", "ike", "ikev2", "snmp", "sip", "rfb", "mqtt", "rdp",
		"modbus", "dnp3", "enip", "quic", "pgsql", "telnet", "websocket", "ldap", "bittorrent-dht",
		"imap", "pop3", "doh2", "mdns", "failed", "unknown",
	}
}

// text returns scalar i as text, named name in errors. shared says the
// native field of that name holds exactly this value (not an array join),
// so its string is reused instead of copied again.
func (r *rec) text(i int32, name string, shared bool) (string, error) {
	switch r.t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return "", nil
	case jsontree.Object, jsontree.Array:
		return "", wrongType(r.t, i, name, "string")
	}
	if shared {
		if s, ok := r.f.get(r.ev, name); ok {
			return s, nil
		}
	}
	s, _ := r.t.Text(i)
	return s, nil
}

// object returns member key of the root when it is an object, -1 when it is
// absent or null, and an error for any other type.
func (r *rec) object(key string) (int32, error) {
	i := r.t.Child(jsontree.Root, key)
	switch r.t.Kind(i) {
	case jsontree.Object:
		return i, nil
	case jsontree.Absent, jsontree.Null:
		return -1, nil
	}
	return -1, wrongType(r.t, i, key, "object")
}

// alert maps the alert object: the signature, its classtype and severity,
// what the sensor did, and ATT&CK techniques from the rule's metadata.
func (r *rec) alert() error {
	t, ev := r.t, r.ev
	a, err := r.object("alert")
	if err != nil {
		return err
	}
	if a < 0 {
		return decerr.New(Format, decerr.MissingField, "alert", errors.New("alert record without an alert object"))
	}
	if ev.RuleName, err = r.keyword("alert.signature", "alert", "signature"); err != nil {
		return err
	}

	sid := t.Child(a, "signature_id")
	n, ok, err := t.Int(sid)
	if err != nil || (ok && (n < 0 || n > 1<<32-1)) {
		return wrongType(t, sid, "alert.signature_id", "signature id in [0, 4294967295]")
	}
	if ok {
		native, _ := r.f.get(ev, "alert.signature_id")
		ev.EventCode = canonicalInt(native, n)
	}

	category, err := r.keyword("alert.category", "alert", "category")
	if err != nil {
		return err
	}
	if category != "" {
		if name, ok := r.d.classes.name(category); ok {
			ev.RuleCategory = name
		} else {
			// A classification the table does not know (a local
			// classification.config): keep its description.
			ev.RuleCategory = category
		}
	}

	sev := t.Child(a, "severity")
	n, ok, err = t.Int(sev)
	if err != nil || (ok && (n < 1 || n > 255)) {
		return wrongType(t, sev, "alert.severity", "priority in [1, 255]")
	}
	ev.EventSeverity = int(n)

	action, err := r.keyword("alert.action", "alert", "action")
	if err != nil {
		return err
	}
	ev.EventAction = action
	switch action {
	case "allowed":
		ev.EventType = "allowed"
	case "blocked":
		// Dropped or rejected in IPS mode: the attempt did not get through.
		ev.EventType, ev.EventOutcome = "denied", "failure"
	}

	if m := t.Child(a, "metadata"); t.Kind(m) == jsontree.Object {
		r.techniques(t.Child(m, "mitre_technique_id"))
		r.techniques(t.Child(m, "mitre_subtechnique_id"))
	}
	return nil
}

// techniques adds the ATT&CK technique ids in metadata value i (a string
// or an array of strings, as EVE writes rule metadata): upper-cased,
// without duplicates, and only those shaped Tnnnn or Tnnnn.nnn. Anything
// else ("none", a name) stays in the native field only.
func (r *rec) techniques(i int32) {
	t := r.t
	add := func(e int32) {
		if t.Kind(e) != jsontree.String {
			return
		}
		b, _ := t.TextBytes(e)
		id, ok := techniqueID(b)
		if ok && !slices.Contains(r.ev.ThreatTechniques, id) {
			r.ev.ThreatTechniques = append(r.ev.ThreatTechniques, id)
		}
	}
	if t.Kind(i) != jsontree.Array {
		add(i)
		return
	}
	for e := t.First(i); e >= 0; e = t.Next(e) {
		add(e)
	}
}

// techniqueID validates and upper-cases an ATT&CK technique id, with
// surrounding spaces trimmed.
func techniqueID(b []byte) (string, bool) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	if (len(b) != 5 && len(b) != 9) || (b[0] != 'T' && b[0] != 't') {
		return "", false
	}
	for k := 1; k < len(b); k++ {
		if k == 5 {
			if b[k] != '.' {
				return "", false
			}
			continue
		}
		if b[k] < '0' || b[k] > '9' {
			return "", false
		}
	}
	out := make([]byte, len(b))
	copy(out, b)
	out[0] = 'T'
	return string(out), true
}

// canonicalInt returns native when it already is n in canonical decimal
// (digits, no sign, no leading zero), else n formatted.
func canonicalInt(native string, n int64) string {
	ok := native != "" && (native[0] != '0' || len(native) == 1)
	for k := 0; ok && k < len(native); k++ {
		ok = native[k] >= '0' && native[k] <= '9'
	}
	if ok {
		return native
	}
	return strconv.FormatInt(n, 10)
}

// anomaly maps the anomaly object: the anomalous event names the
// condition, as a signature names an alert.
func (r *rec) anomaly() error {
	if _, err := r.object("anomaly"); err != nil {
		return err
	}
	var err error
	r.ev.RuleName, err = r.keyword("anomaly.event", "anomaly", "event")
	return err
}

// appLayer maps the application-layer objects wherever they appear: in
// their own record type and in alerts that carry the transaction.
func (r *rec) appLayer() error {
	t, ev := r.t, r.ev
	h, err := r.object("http")
	if err != nil {
		return err
	}
	if h >= 0 {
		if ev.DestinationDomain, err = r.keyword("http.hostname", "http", "hostname"); err != nil {
			return err
		}
		if ev.URLOriginal, err = r.keyword("http.url", "http", "url"); err != nil {
			return err
		}
		if ev.HTTPRequestMethod, err = r.keyword("http.http_method", "http", "http_method"); err != nil {
			return err
		}
		if ev.UserAgent, err = r.keyword("http.http_user_agent", "http", "http_user_agent"); err != nil {
			return err
		}
		st := t.Child(h, "status")
		n, ok, err := t.Int(st)
		if err != nil || (ok && (n < 0 || n > 999)) {
			return wrongType(t, st, "http.status", "status code in [0, 999]")
		}
		ev.HTTPResponseStatusCode = int(n)
	}

	tl, err := r.object("tls")
	if err != nil {
		return err
	}
	if tl >= 0 {
		if ev.TLSServerName, err = r.keyword("tls.sni", "tls", "sni"); err != nil {
			return err
		}
	}

	d, err := r.object("dns")
	if err != nil {
		return err
	}
	if d >= 0 {
		if ev.DNSQuestionName, err = r.dnsQuestion(d); err != nil {
			return err
		}
	}
	return nil
}

// dnsQuestion finds the queried name in each EVE DNS layout: version 3's
// queries array (Suricata 8), the rrname member of versions 1 and 2, and
// the query array / answer object of DNS data in version 2 alerts. Only
// the first query is the question; answers[].rrname are answer owners.
func (r *rec) dnsQuestion(d int32) (string, error) {
	t := r.t
	for _, layout := range [...]struct{ member, name string }{
		{"queries", "dns.queries.rrname"},
		{"rrname", "dns.rrname"},
		{"query", "dns.query.rrname"},
		{"answer", "dns.answer.rrname"},
	} {
		i := t.Child(d, layout.member)
		switch t.Kind(i) {
		case jsontree.Absent, jsontree.Null:
			continue
		case jsontree.String:
			if layout.member == "rrname" {
				return r.text(i, layout.name, true)
			}
		case jsontree.Array:
			first := t.First(i)
			if t.Kind(first) != jsontree.Object {
				continue
			}
			n := t.Child(first, "rrname")
			if t.Kind(n) != jsontree.String && t.Kind(n) != jsontree.Absent && t.Kind(n) != jsontree.Null {
				return "", wrongType(t, n, layout.name, "string")
			}
			// With one element the native field is this value itself.
			return r.text(n, layout.name, t.Next(first) < 0)
		case jsontree.Object:
			if layout.member == "answer" {
				n := t.Child(i, "rrname")
				if t.Kind(n) == jsontree.Number || t.Kind(n) == jsontree.Bool {
					return "", wrongType(t, n, layout.name, "string")
				}
				return r.text(n, layout.name, true)
			}
		}
		if layout.member == "rrname" {
			return "", wrongType(t, i, layout.name, "string")
		}
	}
	return "", nil
}

// flowCounts maps the flow object's packet and byte counts (flow records,
// and alerts that carry the flow so far) to network.packets and
// network.bytes, both directions added.
func (r *rec) flowCounts() error {
	fl, err := r.object("flow")
	if err != nil || fl < 0 {
		return err
	}
	ps, okps, err := r.count("flow.pkts_toserver", "flow", "pkts_toserver")
	if err != nil {
		return err
	}
	pc, okpc, err := r.count("flow.pkts_toclient", "flow", "pkts_toclient")
	if err != nil {
		return err
	}
	bs, okbs, err := r.count("flow.bytes_toserver", "flow", "bytes_toserver")
	if err != nil {
		return err
	}
	bc, okbc, err := r.count("flow.bytes_toclient", "flow", "bytes_toclient")
	if err != nil {
		return err
	}
	if okps || okpc {
		r.ev.NetworkPackets = ps + pc
	}
	if okbs || okbc {
		r.ev.NetworkBytes = bs + bc
	}
	r.toClient, r.haveToClient = pc, okpc
	return nil
}

// TCP flag bits as EVE writes them in hex (tcp_flags, tcp_flags_ts,
// tcp_flags_tc).
const (
	flagSYN = 0x02
	flagACK = 0x10
)

// flowOutcome sets event.outcome of a flow record: success for a
// connection that was established, failure for an attempt nobody
// completed, unset when the record does not tell. See README.md for the
// rules and why they read the per-direction TCP flags.
func (r *rec) flowOutcome() error {
	ev := r.ev
	if ev.NetworkTransport != "tcp" {
		if r.haveToClient {
			ev.EventOutcome = outcome(r.toClient > 0)
		}
		return nil
	}
	ts, okTS, err := r.flags("tcp.tcp_flags_ts", "tcp", "tcp_flags_ts")
	if err != nil {
		return err
	}
	tc, okTC, err := r.flags("tcp.tcp_flags_tc", "tcp", "tcp_flags_tc")
	if err != nil {
		return err
	}
	if okTS && okTC {
		// The client acknowledged and the server answered with ACK: after
		// a SYN, the server's answer must be SYN-ACK, not a RST-ACK.
		ev.EventOutcome = outcome(ts&flagACK != 0 && tc&flagACK != 0 && (tc&flagSYN != 0 || ts&flagSYN == 0))
		return nil
	}
	state, err := r.keyword("flow.state", "flow", "state")
	if err != nil {
		return err
	}
	switch state {
	case "new":
		ev.EventOutcome = "failure"
		return nil
	case "established":
		ev.EventOutcome = "success"
		return nil
	}
	tcpState, err := r.keyword("tcp.state", "tcp", "state")
	if err != nil {
		return err
	}
	switch tcpState {
	case "established", "fin_wait1", "fin_wait2", "closing", "close_wait", "last_ack", "time_wait":
		ev.EventOutcome = "success"
		return nil
	case "syn_sent", "syn_recv", "none":
		ev.EventOutcome = "failure"
		return nil
	}
	if r.haveToClient && r.toClient == 0 {
		ev.EventOutcome = "failure"
	}
	return nil
}

func outcome(ok bool) string {
	if ok {
		return "success"
	}
	return "failure"
}

// flags reads a TCP flags member: a hex byte as EVE writes it ("1b").
func (r *rec) flags(name string, keys ...string) (byte, bool, error) {
	i := r.t.Path(jsontree.Root, keys...)
	switch r.t.Kind(i) {
	case jsontree.Absent, jsontree.Null:
		return 0, false, nil
	case jsontree.String:
	default:
		return 0, false, wrongType(r.t, i, name, "TCP flags as hex")
	}
	b, _ := r.t.TextBytes(i)
	if len(b) == 0 || len(b) > 2 {
		return 0, false, wrongType(r.t, i, name, "TCP flags as hex")
	}
	var v byte
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false, wrongType(r.t, i, name, "TCP flags as hex")
		}
		v = v<<4 | c
	}
	return v, true, nil
}
