package severity

import "strings"

// ATT&CK knowledge the heuristics need (severity-model §3, ATT&CK v18.1).
// Switches rather than package maps keep the tables immutable.

// baseID strips a sub-technique suffix and normalises case: "t1561.002" →
// "T1561".
func baseID(id string) string {
	id = strings.ToUpper(strings.TrimSpace(id))
	if i := strings.IndexByte(id, '.'); i >= 0 {
		return id[:i]
	}
	return id
}

// impactTechnique reports whether a technique belongs to an effect tactic:
// Impact (TA0040), ICS Impact (TA0105), ICS Inhibit Response Function
// (TA0107) or ICS Impair Process Control (TA0106).
func impactTechnique(base string) bool {
	switch base {
	case "T1485", "T1486", "T1489", "T1490", "T1491", "T1495", "T1496", "T1498", "T1499",
		"T1529", "T1531", "T1561", "T1565", "T1657", "T1667":
		return true
	}
	return icsEffectTechnique(base)
}

// icsEffectTechnique reports whether a technique is an ICS impact, inhibit
// response function or impair process control technique.
func icsEffectTechnique(base string) bool {
	switch base {
	// TA0105 Impact
	case "T0813", "T0815", "T0826", "T0827", "T0828", "T0829", "T0831", "T0832", "T0837",
		"T0879", "T0880", "T0882",
		// TA0107 Inhibit Response Function
		"T0800", "T0803", "T0804", "T0805", "T0809", "T0814", "T0816", "T0835", "T0838",
		"T0851", "T0857", "T0878", "T0881", "T0892",
		// TA0106 Impair Process Control
		"T0806", "T0836", "T0839", "T0855":
		return true
	}
	return false
}

// destructionTechnique: data or systems destroyed or encrypted for impact.
func destructionTechnique(base string) bool {
	switch base {
	case "T1485", "T1486", "T1561", "T1495", "T1490", "T0809":
		return true
	}
	return false
}

// wiperTechnique: destruction of data, disks or firmware outright.
func wiperTechnique(base string) bool {
	switch base {
	case "T1485", "T1561", "T1495", "T0809":
		return true
	}
	return false
}

// denialTechnique: a service or process made unavailable or uncontrollable.
func denialTechnique(base string) bool {
	switch base {
	case "T1498", "T1499", "T0813", "T0814", "T0826", "T0827", "T0831":
		return true
	}
	return false
}

// serviceStopTechnique: services stopped or systems shut down.
func serviceStopTechnique(base string) bool {
	switch base {
	case "T1489", "T0881", "T1529":
		return true
	}
	return false
}

// physicalTechnique: damage to property or loss of safety.
func physicalTechnique(base string) bool { return base == "T0879" || base == "T0880" }

// manipulationTechnique: control or view of a physical process manipulated.
func manipulationTechnique(base string) bool {
	switch base {
	case "T0831", "T0832", "T0836", "T0855", "T0806", "T0835":
		return true
	}
	return false
}

// qualifyingEffect reports whether a technique alone is qualifying evidence
// for candidacy condition (b) (severity-model §6.4).
func qualifyingEffect(base string) bool {
	switch base {
	case "T1485", "T1561", "T1495", "T0809",
		"T0813", "T0826", "T0827", "T0831", "T0837", "T0879", "T0880":
		return true
	}
	return false
}

// reconTechnique: Reconnaissance (TA0043) techniques.
func reconTechnique(base string) bool {
	switch base {
	case "T1595", "T1589", "T1590", "T1591", "T1592", "T1593", "T1594", "T1596", "T1597",
		"T1598", "T1681":
		return true
	}
	return false
}

// discoveryTechnique: Discovery (TA0007) and ICS Discovery (TA0102)
// techniques, which assume access.
func discoveryTechnique(base string) bool {
	switch base {
	case "T1046", "T1018", "T1087", "T1082", "T1135", "T1016", "T1049", "T1069", "T1083",
		"T1057", "T1482", "T1518", "T1580", "T1040",
		"T0840", "T0842", "T0846", "T0887", "T0888":
		return true
	}
	return false
}

// initialAccessTechnique: common Initial Access (TA0001, ICS TA0108)
// techniques: delivery and exploitation before access.
func initialAccessTechnique(base string) bool {
	switch base {
	case "T1190", "T1566", "T1133", "T1189", "T1195", "T1199", "T1200", "T1091", "T1659",
		"T0819", "T0817", "T0862", "T0865", "T0866", "T0883":
		return true
	}
	return false
}

// tacticStage returns the stage a tactic id implies, "" for unknown ids.
func tacticStage(tactic string) string {
	switch strings.ToUpper(strings.TrimSpace(tactic)) {
	case "TA0040", "TA0105", "TA0106", "TA0107":
		return StageEffect
	case "TA0002", "TA0003", "TA0004", "TA0005", "TA0006", "TA0007", "TA0008", "TA0009",
		"TA0010", "TA0011", // enterprise tactics past initial access
		"TA0100", "TA0101", "TA0102", "TA0103", "TA0104", "TA0109", "TA0110", "TA0111": // ICS
		return StagePresence
	case "TA0001", "TA0108":
		return StageEngage
	case "TA0043", "TA0042":
		return StagePrepare
	}
	return ""
}
