package event

import "time"

// Class is the activity class of a signal (DESIGN §4).
type Class string

// Activity classes, in rising order of gravity.
const (
	ClassBenign         Class = "benign"
	ClassReconnaissance Class = "reconnaissance"
	ClassIntrusion      Class = "intrusion"
	ClassDestructive    Class = "destructive"
)

// Rank orders classes by gravity: benign 0 < reconnaissance < intrusion < destructive.
func (c Class) Rank() int {
	switch c {
	case ClassReconnaissance:
		return 1
	case ClassIntrusion:
		return 2
	case ClassDestructive:
		return 3
	}
	return 0
}

// Evidence points at the Kafka record (or input line) a signal came from.
type Evidence struct {
	Topic     string    `json:"topic"`
	Partition int       `json:"partition"`
	Offset    int64     `json:"offset"`
	EventTime time.Time `json:"event_time"`
}

// Signal is a rule match: what a rule recognised in one event (or, for a
// correlation rule, in a window of events) and where it came from.
type Signal struct {
	RuleID     string    `json:"rule_id"`
	RuleTitle  string    `json:"rule_title"`
	RuleLevel  string    `json:"rule_level"` // Sigma level: informational, low, medium, high, critical
	Class      Class     `json:"class"`
	Tactics    []string  `json:"tactics,omitempty"`    // ATT&CK tactic ids, e.g. TA0040
	Techniques []string  `json:"techniques,omitempty"` // ATT&CK technique ids, e.g. T1490
	Time       time.Time `json:"time"`                 // event time
	Source     string    `json:"source,omitempty"`     // acting address or host
	Target     string    `json:"target,omitempty"`     // address or host acted on
	Port       int       `json:"port,omitempty"`       // destination port of the event, 0 when none
	// Count is how many events the signal stands for (1 for a single-event
	// rule; the window's count for a correlation rule).
	Count    int      `json:"count"`
	Evidence Evidence `json:"evidence"`
}
