package suricata

import "strings"

// classtype is one line of Suricata's etc/classification.config:
// "config classification: <name>,<description>,<priority>".
type classtype struct {
	name        string
	description string
	priority    int
}

// classtypes returns the classification table Suricata ships
// (OISF/suricata etc/classification.config, the same list Emerging Threats
// distributes), in file order. EVE alerts carry the description in
// alert.category; rules and the severity model speak of the short name.
func classtypes() []classtype {
	return []classtype{
		{"not-suspicious", "Not Suspicious Traffic", 3},
		{"unknown", "Unknown Traffic", 3},
		{"bad-unknown", "Potentially Bad Traffic", 2},
		{"attempted-recon", "Attempted Information Leak", 2},
		{"successful-recon-limited", "Information Leak", 2},
		{"successful-recon-largescale", "Large Scale Information Leak", 2},
		{"attempted-dos", "Attempted Denial of Service", 2},
		{"successful-dos", "Denial of Service", 2},
		{"attempted-user", "Attempted User Privilege Gain", 1},
		{"unsuccessful-user", "Unsuccessful User Privilege Gain", 1},
		{"successful-user", "Successful User Privilege Gain", 1},
		{"attempted-admin", "Attempted Administrator Privilege Gain", 1},
		{"successful-admin", "Successful Administrator Privilege Gain", 1},
		{"rpc-portmap-decode", "Decode of an RPC Query", 2},
		{"shellcode-detect", "Executable code was detected", 1},
		{"string-detect", "A suspicious string was detected", 3},
		{"suspicious-filename-detect", "A suspicious filename was detected", 2},
		{"suspicious-login", "An attempted login using a suspicious username was detected", 2},
		{"system-call-detect", "A system call was detected", 2},
		{"tcp-connection", "A TCP connection was detected", 4},
		{"trojan-activity", "A Network Trojan was detected", 1},
		{"unusual-client-port-connection", "A client was using an unusual port", 2},
		{"network-scan", "Detection of a Network Scan", 3},
		{"denial-of-service", "Detection of a Denial of Service Attack", 2},
		{"non-standard-protocol", "Detection of a non-standard protocol or event", 2},
		{"protocol-command-decode", "Generic Protocol Command Decode", 3},
		{"web-application-activity", "access to a potentially vulnerable web application", 2},
		{"web-application-attack", "Web Application Attack", 1},
		{"misc-activity", "Misc activity", 3},
		{"misc-attack", "Misc Attack", 2},
		{"icmp-event", "Generic ICMP event", 3},
		{"inappropriate-content", "Inappropriate Content was Detected", 1},
		{"policy-violation", "Potential Corporate Privacy Violation", 1},
		{"default-login-attempt", "Attempt to login by a default username and password", 2},
		{"targeted-activity", "Targeted Malicious Activity was Detected", 1},
		{"exploit-kit", "Exploit Kit Activity Detected", 1},
		{"external-ip-check", "Device Retrieving External IP Address Detected", 2},
		{"domain-c2", "Domain Observed Used for C2 Detected", 1},
		{"pup-activity", "Possibly Unwanted Program Detected", 2},
		{"credential-theft", "Successful Credential Theft Detected", 1},
		{"social-engineering", "Possible Social Engineering Attempted", 2},
		{"coin-mining", "Crypto Currency Mining Activity Detected", 2},
		{"command-and-control", "Malware Command and Control Activity Detected", 1},
	}
}

// Classtype returns the classtype short name and default priority (1 is the
// most severe) of a classification description as EVE writes it in
// alert.category, e.g. "Attempted Information Leak" → "attempted-recon", 2.
// The match ignores case and surrounding spaces, since rule sets differ in
// capitalisation ("A Network Trojan was Detected"); ok is false for a
// description the table does not know.
func Classtype(description string) (name string, priority int, ok bool) {
	description = strings.TrimSpace(description)
	for _, c := range classtypes() {
		if strings.EqualFold(c.description, description) {
			return c.name, c.priority, true
		}
	}
	return "", 0, false
}

// ClasstypeNames returns every classtype short name the decoder knows, in
// the order of Suricata's classification.config.
func ClasstypeNames() []string {
	cs := classtypes()
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	return names
}

// classIndex answers the decode path's classtype questions without
// allocating: exact descriptions first, then a case-insensitive scan.
type classIndex struct {
	byDescription map[string]string // exact description → short name
	byName        map[string]string // short name → itself, interned
	all           []classtype
}

func newClassIndex() classIndex {
	all := classtypes()
	ci := classIndex{
		byDescription: make(map[string]string, len(all)),
		byName:        make(map[string]string, len(all)),
		all:           all,
	}
	for _, c := range all {
		ci.byDescription[c.description] = c.name
		ci.byName[c.name] = c.name
	}
	return ci
}

// name returns the classtype short name for an alert.category value: the
// classtype whose description it is, or the value itself when it already
// is a short name (forwarders that rewrite the category).
func (ci *classIndex) name(category string) (string, bool) {
	if n, ok := ci.byDescription[category]; ok {
		return n, true
	}
	if n, ok := ci.byName[category]; ok {
		return n, true
	}
	s := strings.TrimSpace(category)
	for _, c := range ci.all {
		if strings.EqualFold(c.description, s) || strings.EqualFold(c.name, s) {
			return c.name, true
		}
	}
	return "", false
}
