package zeek

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/stream/decode/internal/decerr"
)

// mapper turns a flat Zeek record into the canonical event. It is shared by
// the JSON decoder and the TSV reader and is immutable after newMapper.
type mapper struct {
	names      map[string]string // interned field names
	logsources map[string]logsource
	outcomes   map[string]string // conn_state → event.outcome
	datasets   map[string]string // log type → event.dataset, for the mapped ones
	modbus     map[string]int    // Zeek's Modbus function names → code
	dnp3       map[string]int    // Zeek's DNP3 function names → code
	minTime    time.Time
	maxTime    time.Time
}

func newMapper() *mapper {
	names := knownNames()
	m := &mapper{
		names:      make(map[string]string, len(names)),
		logsources: logsources(),
		outcomes:   connOutcomes(),
		modbus:     modbusFunctions(),
		dnp3:       dnp3Functions(),
		minTime:    time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		maxTime:    time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond),
	}
	for _, n := range names {
		m.names[n] = n
	}
	m.datasets = make(map[string]string, len(m.logsources))
	for p := range m.logsources {
		m.datasets[p] = "zeek." + p
	}
	return m
}

// name returns b as a string, without allocating for the usual Zeek names.
func (m *mapper) name(b []byte) string {
	if s, ok := m.names[string(b)]; ok {
		return s
	}
	return string(b)
}

// knownNames are field names common enough to intern.
func knownNames() []string {
	return []string{
		"ts", "uid", "id", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "_path", "_write_ts",
		"_system_name", "proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state",
		"local_orig", "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts",
		"resp_ip_bytes", "tunnel_parents", "ip_proto", "community_id", "orig_l2_addr", "resp_l2_addr",
		"trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name",
		"AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected", "trans_depth", "method", "host", "uri",
		"referrer", "version", "user_agent", "origin", "request_body_len", "response_body_len",
		"status_code", "status_msg", "info_code", "info_msg", "tags", "username", "password", "proxied",
		"orig_fuids", "orig_filenames", "orig_mime_types", "resp_fuids", "resp_filenames", "resp_mime_types",
		"cipher", "curve", "server_name", "resumed", "last_alert", "next_protocol", "established",
		"ssl_history", "cert_chain_fps", "client_cert_chain_fps", "sni_matches_cert", "subject", "issuer",
		"note", "msg", "sub", "src", "dst", "p", "n", "peer_descr", "actions", "email_dest", "suppress_for",
		"fuid", "file_mime_type", "file_desc", "name", "addl", "notice", "peer", "source", "tid", "unit",
		"func", "pdu_type", "exception", "fc_request", "fc_reply", "iin",
	}
}

// logsource is a mapped log type's Sigma logsource category and its ECS
// event.category and event.type.
type logsource struct{ category, ecsCategory, ecsType string }

// logsources gives each mapped log type its logsource; README.md says why.
func logsources() map[string]logsource {
	return map[string]logsource{
		"conn":   {"network_connection", "network", "connection"},
		"dns":    {"dns", "network", "protocol"},
		"http":   {"proxy", "web", "protocol"},
		"ssl":    {"", "network", "protocol"},
		"notice": {"", "intrusion_detection", "info"},
		"weird":  {"", "network", "info"},
		"modbus": {"network_connection", "network", "protocol"},
		"dnp3":   {"network_connection", "network", "protocol"},
	}
}

// apply fills ev from rec, a record of log type path ("" when unknown).
func (m *mapper) apply(rec *record, path string, ev *event.Event) error {
	ev.Logsource = event.Logsource{Product: "zeek", Service: path}
	ev.ObserverVendor, ev.ObserverProduct, ev.ObserverType = "Zeek", "zeek", "sensor"
	ev.EventKind = "event"
	switch ds, ok := m.datasets[path]; {
	case ok:
		ev.EventDataset = ds
	case path != "":
		ev.EventDataset = "zeek." + path
	default:
		ev.EventDataset = "zeek"
	}
	if ls, ok := m.logsources[path]; ok {
		ev.Logsource.Category = ls.category
		ev.EventCategory, ev.EventType = ls.ecsCategory, ls.ecsType
	}
	if err := m.timestamp(rec, ev); err != nil {
		return err
	}
	if err := m.endpoints(rec, path, ev); err != nil {
		return err
	}
	var err error
	switch path {
	case "conn":
		err = m.conn(rec, ev)
	case "dns":
		err = m.dns(rec, ev)
	case "http":
		err = m.http(rec, ev)
	case "ssl":
		err = m.ssl(rec, ev)
	case "notice":
		err = m.notice(rec, ev)
	case "weird":
		ev.RuleName, err = m.str(rec, "name")
	case "modbus":
		err = m.modbusRec(rec, ev)
	case "dnp3":
		err = m.dnp3Rec(rec, ev)
	}
	if err != nil {
		return err
	}
	ev.Fields = rec.nativeFields()
	return nil
}

// endpoints maps the connection id, and for ICMP (where Zeek's "ports" are
// the message type and code) leaves the ports out.
func (m *mapper) endpoints(rec *record, path string, ev *event.Event) error {
	var err error
	if ev.SourceIP, err = m.ip(rec, "id.orig_h"); err != nil {
		return err
	}
	if ev.DestinationIP, err = m.ip(rec, "id.resp_h"); err != nil {
		return err
	}
	proto, err := m.str(rec, "proto")
	if err != nil {
		return err
	}
	proto = strings.ToLower(proto)
	if path != "modbus" && path != "dnp3" {
		// Modbus and DNP3 records are messages inside a connection the
		// conn log reports; without a transport they do not count again
		// as connection attempts.
		ev.NetworkTransport = proto
	}
	op, _, err := m.integer(rec, "id.orig_p", 0, math.MaxUint16)
	if err != nil {
		return err
	}
	rp, _, err := m.integer(rec, "id.resp_p", 0, math.MaxUint16)
	if err != nil {
		return err
	}
	if proto == "icmp" {
		v6 := strings.Contains(ev.SourceIP, ":")
		switch {
		case op == 8 && !v6 || op == 128 && v6:
			ev.EventAction = "echo_request"
		case op == 0 && !v6 || op == 129 && v6:
			ev.EventAction = "echo_reply"
		}
	} else {
		ev.SourcePort, ev.DestinationPort = int(op), int(rp)
	}
	if path == "notice" {
		// A notice names its endpoints in src, dst and p when it has no
		// connection.
		if ev.SourceIP == "" {
			if ev.SourceIP, err = m.ip(rec, "src"); err != nil {
				return err
			}
		}
		if ev.DestinationIP == "" {
			if ev.DestinationIP, err = m.ip(rec, "dst"); err != nil {
				return err
			}
		}
		if ev.DestinationPort == 0 {
			p, _, err := m.integer(rec, "p", 0, math.MaxUint16)
			if err != nil {
				return err
			}
			ev.DestinationPort = int(p)
		}
	}
	return nil
}

// connOutcomes maps Zeek's conn_state to event.outcome; see README.md for
// the reasoning per state.
func connOutcomes() map[string]string {
	return map[string]string{
		"SF": "success", "S1": "success", "S2": "success", "S3": "success", "RSTO": "success", "RSTR": "success",
		"S0": "failure", "REJ": "failure", "RSTOS0": "failure", "RSTRH": "failure", "SH": "failure", "SHR": "failure",
		"OTH": "unknown",
	}
}

func (m *mapper) conn(rec *record, ev *event.Event) error {
	state, err := m.str(rec, "conn_state")
	if err != nil {
		return err
	}
	ev.EventOutcome = m.outcomes[state]
	svc, err := m.str(rec, "service")
	if err != nil {
		return err
	}
	// service lists every protocol Zeek confirmed ("ssl,http"), and with
	// DPD::track_removed_services_in_connection also dropped ones ("-ssl").
	for p := range strings.SplitSeq(svc, ",") {
		if p = strings.TrimSpace(p); p != "" && p[0] != '-' {
			ev.NetworkProtocol = strings.ToLower(p)
			break
		}
	}
	if ev.NetworkPackets, _, err = m.sum(rec, "orig_pkts", "resp_pkts"); err != nil {
		return err
	}
	var ok bool
	if ev.NetworkBytes, ok, err = m.sum(rec, "orig_ip_bytes", "resp_ip_bytes"); err != nil {
		return err
	}
	if !ok {
		if ev.NetworkBytes, _, err = m.sum(rec, "orig_bytes", "resp_bytes"); err != nil {
			return err
		}
	}
	lo, okO, err := m.boolean(rec, "local_orig")
	if err != nil {
		return err
	}
	lr, okR, err := m.boolean(rec, "local_resp")
	if err != nil {
		return err
	}
	if okO && okR {
		switch {
		case lo && lr:
			ev.NetworkDirection = "internal"
		case lo:
			ev.NetworkDirection = "outbound"
		case lr:
			ev.NetworkDirection = "inbound"
		default:
			ev.NetworkDirection = "external"
		}
	}
	return nil
}

func (m *mapper) dns(rec *record, ev *event.Event) error {
	ev.NetworkProtocol = "dns"
	var err error
	if ev.DNSQuestionName, err = m.str(rec, "query"); err != nil {
		return err
	}
	rc, err := m.str(rec, "rcode_name")
	if err != nil {
		return err
	}
	switch {
	case rc == "NOERROR":
		ev.EventOutcome = "success"
	case rc != "":
		ev.EventOutcome = "failure"
	default:
		n, ok, err := m.integer(rec, "rcode", 0, math.MaxUint16)
		if err != nil {
			return err
		}
		if ok {
			ev.EventOutcome = "failure"
			if n == 0 {
				ev.EventOutcome = "success"
			}
		}
	}
	return nil
}

func (m *mapper) http(rec *record, ev *event.Event) error {
	ev.NetworkProtocol = "http"
	var err error
	if ev.HTTPRequestMethod, err = m.str(rec, "method"); err != nil {
		return err
	}
	if ev.URLOriginal, err = m.str(rec, "uri"); err != nil {
		return err
	}
	host, err := m.str(rec, "host")
	if err != nil {
		return err
	}
	ev.DestinationDomain = hostName(host)
	if ev.UserAgent, err = m.str(rec, "user_agent"); err != nil {
		return err
	}
	code, ok, err := m.integer(rec, "status_code", 0, 999)
	if err != nil {
		return err
	}
	ev.HTTPResponseStatusCode = int(code)
	if ok && code > 0 {
		ev.EventOutcome = "success"
		if code >= 400 {
			ev.EventOutcome = "failure"
		}
	}
	return nil
}

// hostName strips a port from an HTTP Host value ("example.com:8080",
// "[2001:db8::1]:8080").
func hostName(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i && allDigits(h[i+1:]) {
		return h[:i]
	}
	return h
}

func (m *mapper) ssl(rec *record, ev *event.Event) error {
	ev.NetworkProtocol = "tls"
	var err error
	if ev.TLSServerName, err = m.str(rec, "server_name"); err != nil {
		return err
	}
	est, ok, err := m.boolean(rec, "established")
	if err != nil {
		return err
	}
	if ok {
		ev.EventOutcome = "failure"
		if est {
			ev.EventOutcome = "success"
		}
	}
	return nil
}

func (m *mapper) notice(rec *record, ev *event.Event) error {
	ev.EventKind = "alert"
	note, err := m.str(rec, "note")
	if err != nil {
		return err
	}
	ev.RuleName = note
	// Notice types are named Module::Name (Scan::Port_Scan); the module is
	// the notice's category.
	if mod, _, ok := strings.Cut(note, "::"); ok {
		ev.RuleCategory = mod
	}
	return nil
}

func (m *mapper) modbusRec(rec *record, ev *event.Event) error {
	ev.ICSProtocol, ev.NetworkProtocol = "modbus", "modbus"
	fn, err := m.str(rec, "func")
	if err != nil {
		return err
	}
	exc, err := m.str(rec, "exception")
	if err != nil {
		return err
	}
	// Zeek names an exception response FUNC_EXCEPTION (code | 0x80).
	base, isExc := strings.CutSuffix(strings.ToUpper(fn), "_EXCEPTION")
	if fn != "" {
		ev.ICSFunction = strings.ToLower(base)
		ev.EventAction = ev.ICSFunction
		ev.ICSFunctionCode = functionCode(m.modbus, base)
	}
	unit, _, err := m.integer(rec, "unit", 0, 255)
	if err != nil {
		return err
	}
	ev.ICSUnitID = int(unit)
	pdu, err := m.str(rec, "pdu_type")
	if err != nil {
		return err
	}
	switch {
	case exc != "" || isExc:
		ev.EventOutcome = "failure"
	case pdu == "RESP":
		ev.EventOutcome = "success"
	}
	return nil
}

func (m *mapper) dnp3Rec(rec *record, ev *event.Event) error {
	ev.ICSProtocol, ev.NetworkProtocol = "dnp3", "dnp3"
	fn, err := m.str(rec, "fc_request")
	if err != nil {
		return err
	}
	if fn == "" {
		// Unsolicited responses have no request.
		if fn, err = m.str(rec, "fc_reply"); err != nil {
			return err
		}
	}
	if fn != "" {
		up := strings.ToUpper(fn)
		ev.ICSFunction = strings.ToLower(fn)
		ev.EventAction = ev.ICSFunction
		ev.ICSFunctionCode = functionCode(m.dnp3, up)
	}
	return nil
}

// functionCode looks a Zeek function name up in table, and reads Zeek's
// "unknown-N" for codes it has no name for. 0 when neither.
func functionCode(table map[string]int, name string) int {
	if c, ok := table[name]; ok {
		return c
	}
	if n, ok := strings.CutPrefix(name, "UNKNOWN-"); ok {
		if c, err := strconv.ParseUint(n, 10, 8); err == nil {
			return int(c)
		}
	}
	return 0
}

// timestamp reads ts: epoch seconds with a fraction (Zeek's default),
// integer epoch milliseconds (JSON::TS_MILLIS) or ISO 8601
// (JSON::TS_ISO8601).
func (m *mapper) timestamp(rec *record, ev *event.Event) error {
	e := rec.get("ts")
	if e == nil || e.kind == kindText && strings.TrimSpace(e.value) == "" {
		return nil
	}
	if e.kind != kindText && e.kind != kindNumber {
		return wrongType("ts", "epoch seconds or ISO 8601 time", e)
	}
	t, err := m.parseTime(e.value)
	if err != nil {
		return decerr.New(Format, decerr.WrongType, "ts", err)
	}
	ev.Timestamp = t
	return nil
}

// millisFrom is the smallest integer ts read as milliseconds: 1e11 seconds
// is in the year 5138, 1e11 milliseconds in 1973.
const millisFrom = 1e11

func (m *mapper) parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	if sec, nsec, integer, ok := parseEpoch(s); ok {
		if integer && (sec >= millisFrom || sec <= -millisFrom) {
			t = time.UnixMilli(sec).UTC()
		} else {
			t = time.Unix(sec, nsec).UTC()
		}
	} else if f, err := strconv.ParseFloat(s, 64); err == nil && decimalFloat(s) {
		// Exponent forms (1.5e9) the exact reader does not take.
		if math.Abs(f) > 1e12 {
			return t, errors.New("want epoch seconds in years 0000-9999")
		}
		sec, frac := math.Modf(f)
		t = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	} else {
		p, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return t, fmt.Errorf("want epoch seconds or ISO 8601 time, got %q", decerr.Truncate(s, 32))
		}
		t = p.UTC()
	}
	if t.Before(m.minTime) || t.After(m.maxTime) {
		return time.Time{}, errors.New("want a time in years 0000-9999")
	}
	return t, nil
}

// decimalFloat reports whether s is written with digits, sign, point and
// exponent only: ParseFloat also takes "Inf", "NaN" and hex floats.
func decimalFloat(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
		default:
			return false
		}
	}
	return true
}

// parseEpoch reads [-]digits[.digits] exactly (no float rounding).
// integer reports that there was no fraction.
func parseEpoch(s string) (sec, nsec int64, integer, ok bool) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	ip, fp, hasDot := strings.Cut(s, ".")
	if ip == "" || len(ip) > 15 || !allDigits(ip) || hasDot && fp != "" && !allDigits(fp) {
		return 0, 0, false, false
	}
	sec, _ = strconv.ParseInt(ip, 10, 64)
	for i := 0; i < 9; i++ {
		nsec *= 10
		if i < len(fp) {
			nsec += int64(fp[i] - '0')
		}
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	return sec, nsec, !hasDot, true
}

// str returns a text field; numbers and bools are taken as written, a
// list or object is wrong.
func (m *mapper) str(rec *record, name string) (string, error) {
	e := rec.get(name)
	if e == nil {
		return "", nil
	}
	if e.kind == kindList || e.kind == kindObject {
		return "", wrongType(name, "string", e)
	}
	return e.value, nil
}

// ip returns an address field in canonical form.
func (m *mapper) ip(rec *record, name string) (string, error) {
	e := rec.get(name)
	if e == nil || e.kind == kindText && e.value == "" {
		return "", nil
	}
	if e.kind != kindText {
		return "", wrongType(name, "IP address", e)
	}
	a, err := netip.ParseAddr(e.value)
	if err != nil || a.Zone() != "" {
		return "", wrongType(name, "IP address", e)
	}
	if a.Is4() {
		return e.value, nil // valid IPv4 text is already canonical
	}
	return a.Unmap().String(), nil
}

// integer returns an integer field within [lo, hi]: a number, or a string
// holding one (forwarders write both). ok is false when it is absent.
func (m *mapper) integer(rec *record, name string, lo, hi int64) (n int64, ok bool, err error) {
	e := rec.get(name)
	if e == nil || e.kind == kindText && strings.TrimSpace(e.value) == "" {
		return 0, false, nil
	}
	bad := func() error { return wrongType(name, fmt.Sprintf("integer in [%d, %d]", lo, hi), e) }
	if e.kind != kindText && e.kind != kindNumber {
		return 0, false, bad()
	}
	s := strings.TrimSpace(e.value)
	n, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if e.kind != kindNumber || ferr != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
			return 0, false, bad()
		}
		n = int64(f)
	}
	if n < lo || n > hi {
		return 0, false, bad()
	}
	return n, true, nil
}

// sum adds two counters, saturating; ok when either is present.
func (m *mapper) sum(rec *record, a, b string) (int64, bool, error) {
	x, okA, err := m.integer(rec, a, 0, math.MaxInt64)
	if err != nil {
		return 0, false, err
	}
	y, okB, err := m.integer(rec, b, 0, math.MaxInt64)
	if err != nil {
		return 0, false, err
	}
	if x > math.MaxInt64-y {
		return math.MaxInt64, true, nil
	}
	return x + y, okA || okB, nil
}

// boolean reads a bool field: JSON true/false, TSV T/F, or those as text.
func (m *mapper) boolean(rec *record, name string) (v, ok bool, err error) {
	e := rec.get(name)
	if e == nil || e.kind == kindText && e.value == "" {
		return false, false, nil
	}
	if e.kind == kindBool || e.kind == kindText {
		switch e.value {
		case "true", "T":
			return true, true, nil
		case "false", "F":
			return false, true, nil
		}
	}
	return false, false, wrongType(name, "bool", e)
}

func wrongType(name, want string, e *entry) error {
	got := e.kind.String()
	switch e.kind {
	case kindText, kindList:
		got += " " + strconv.Quote(decerr.Truncate(e.value, 32))
	case kindNumber:
		got += " " + decerr.Truncate(e.value, 32)
	}
	return decerr.New(Format, decerr.WrongType, name, fmt.Errorf("want %s, got %s", want, got))
}

// modbusFunctions is Zeek's Modbus::function_codes
// (base/protocols/modbus/consts.zeek), name → code.
func modbusFunctions() map[string]int {
	return map[string]int{
		"READ_COILS": 0x01, "READ_DISCRETE_INPUTS": 0x02, "READ_HOLDING_REGISTERS": 0x03,
		"READ_INPUT_REGISTERS": 0x04, "WRITE_SINGLE_COIL": 0x05, "WRITE_SINGLE_REGISTER": 0x06,
		"READ_EXCEPTION_STATUS": 0x07, "DIAGNOSTICS": 0x08, "GET_COMM_EVENT_COUNTER": 0x0B,
		"GET_COMM_EVENT_LOG": 0x0C, "WRITE_MULTIPLE_COILS": 0x0F, "WRITE_MULTIPLE_REGISTERS": 0x10,
		"REPORT_SLAVE_ID": 0x11, "READ_FILE_RECORD": 0x14, "WRITE_FILE_RECORD": 0x15,
		"MASK_WRITE_REGISTER": 0x16, "READ_WRITE_MULTIPLE_REGISTERS": 0x17, "READ_FIFO_QUEUE": 0x18,
		"ENCAP_INTERFACE_TRANSPORT": 0x2B, "OBJECT_MESSAGING": 0x5B,
		"PROGRAM_484": 0x09, "POLL_484": 0x0A, "PROGRAM_584_984": 0x0D, "POLL_584_984": 0x0E,
		"PROGRAM_884_U84": 0x12, "RESET_COMM_LINK_884_U84": 0x13, "PROGRAM_CONCEPT": 0x28,
		"MULTIPLE_FUNCTION_CODES": 0x29, "PROGRAM_UNITY": 0x5A, "FIRMWARE_REPLACEMENT": 0x7D,
		"PROGRAM_584_984_2": 0x7E, "REPORT_LOCAL_ADDRESS": 0x7F,
	}
}

// dnp3Functions is Zeek's DNP3::function_codes
// (base/protocols/dnp3/consts.zeek), name → code.
func dnp3Functions() map[string]int {
	return map[string]int{
		"CONFIRM": 0x00, "READ": 0x01, "WRITE": 0x02, "SELECT": 0x03, "OPERATE": 0x04,
		"DIRECT_OPERATE": 0x05, "DIRECT_OPERATE_NR": 0x06, "IMMED_FREEZE": 0x07, "IMMED_FREEZE_NR": 0x08,
		"FREEZE_CLEAR": 0x09, "FREEZE_CLEAR_NR": 0x0a, "FREEZE_AT_TIME": 0x0b, "FREEZE_AT_TIME_NR": 0x0c,
		"COLD_RESTART": 0x0d, "WARM_RESTART": 0x0e, "INITIALIZE_DATA": 0x0f, "INITIALIZE_APPL": 0x10,
		"START_APPL": 0x11, "STOP_APPL": 0x12, "SAVE_CONFIG": 0x13, "ENABLE_UNSOLICITED": 0x14,
		"DISABLE_UNSOLICITED": 0x15, "ASSIGN_CLASS": 0x16, "DELAY_MEASURE": 0x17, "RECORD_CURRENT_TIME": 0x18,
		"OPEN_FILE": 0x19, "CLOSE_FILE": 0x1a, "DELETE_FILE": 0x1b, "GET_FILE_INFO": 0x1c,
		"AUTHENTICATE_FILE": 0x1d, "ABORT_FILE": 0x1e, "ACTIVATE_CONFIG": 0x1f, "AUTHENTICATE_REQ": 0x20,
		"AUTHENTICATE_REQ_NR": 0x21, "RESPONSE": 0x81, "UNSOLICITED_RESPONSE": 0x82, "AUTHENTICATE_RESPONSE": 0x83,
	}
}
