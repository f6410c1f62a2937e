package sigma

import (
	"slices"
	"strings"

	"github.com/casus-sec/casus/classify/event"
)

// enterpriseTactics maps Sigma tactic tags (attack.<name>) to ATT&CK
// Enterprise tactic ids. Underscored spellings of older rules are folded to
// hyphens before lookup. Defense Evasion was split in ATT&CK v19 into Stealth
// (TA0005) and Defense Impairment (TA0112); both spellings are accepted.
var enterpriseTactics = map[string]string{
	"reconnaissance":       "TA0043",
	"resource-development": "TA0042",
	"initial-access":       "TA0001",
	"execution":            "TA0002",
	"persistence":          "TA0003",
	"privilege-escalation": "TA0004",
	"defense-evasion":      "TA0005",
	"stealth":              "TA0005",
	"defense-impairment":   "TA0112",
	"credential-access":    "TA0006",
	"discovery":            "TA0007",
	"lateral-movement":     "TA0008",
	"collection":           "TA0009",
	"exfiltration":         "TA0010",
	"command-and-control":  "TA0011",
	"impact":               "TA0040",
}

// icsTactics maps tactic tags to ATT&CK for ICS ids. The two ICS-only names
// always map; the names ICS shares with Enterprise map to their ICS id too
// when the rule carries an ICS technique (T0xxx), since SigmaHQ has one tag
// namespace for both matrices; if it carries only ICS techniques they map to
// the ICS id alone.
var icsTactics = map[string]string{
	"inhibit-response-function": "TA0107",
	"impair-process-control":    "TA0106",
	"evasion":                   "TA0103",
	"impact":                    "TA0105",
	"discovery":                 "TA0102",
	"collection":                "TA0100",
	"command-and-control":       "TA0101",
	"execution":                 "TA0104",
	"initial-access":            "TA0108",
	"lateral-movement":          "TA0109",
	"persistence":               "TA0110",
	"privilege-escalation":      "TA0111",
}

// attackTags extracts ATT&CK tactic and technique ids from Sigma tags,
// sorted and without duplicates.
func attackTags(tags []string) (tactics, techniques []string) {
	var names []string
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		rest, ok := strings.CutPrefix(t, "attack.")
		if !ok {
			continue
		}
		switch {
		case isTechnique(rest):
			techniques = append(techniques, strings.ToUpper(rest))
		case isTacticID(rest):
			tactics = append(tactics, strings.ToUpper(rest))
		default:
			names = append(names, strings.ReplaceAll(rest, "_", "-"))
		}
	}
	ics, enterprise := false, false
	for _, t := range techniques {
		if strings.HasPrefix(t, "T0") {
			ics = true
		} else {
			enterprise = true
		}
	}
	for _, n := range names {
		id, inEnterprise := enterpriseTactics[n]
		// An ICS-only rule's shared tactic names are ICS tactics.
		if inEnterprise && (enterprise || !ics) {
			tactics = append(tactics, id)
		}
		if icsID, ok := icsTactics[n]; ok && (ics || !inEnterprise) {
			tactics = append(tactics, icsID)
		}
	}
	slices.Sort(tactics)
	slices.Sort(techniques)
	return slices.Compact(tactics), slices.Compact(techniques)
}

// isTechnique matches t1234 and t1234.001.
func isTechnique(s string) bool {
	if len(s) != 5 && len(s) != 9 || s[0] != 't' || !digits(s[1:5]) {
		return false
	}
	return len(s) == 5 || s[5] == '.' && digits(s[6:])
}

// isTacticID matches ta0040.
func isTacticID(s string) bool {
	return len(s) == 6 && s[:2] == "ta" && digits(s[2:])
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// classify gives the activity class of a set of tactics: destructive beats
// reconnaissance beats intrusion (DESIGN §4).
func classify(tactics []string) event.Class {
	recon := false
	for _, t := range tactics {
		switch t {
		case "TA0040", "TA0105", "TA0106", "TA0107":
			return event.ClassDestructive
		case "TA0043", "TA0007", "TA0102":
			recon = true
		}
	}
	if recon {
		return event.ClassReconnaissance
	}
	return event.ClassIntrusion
}
