package ecs

import (
	"math"
	"slices"

	"github.com/casus-sec/casus/classify/event"
)

// kind is how a field's JSON value is read.
type kind uint8

const (
	kindKeyword    kind = iota // string; numbers and booleans as their text
	kindIP                     // string holding an IP address
	kindInt                    // integer within [min, max]: number or decimal string
	kindTime                   // @timestamp
	kindTechniques             // threat.technique.id: string or array of strings
	kindLabels                 // "labels" itself: must be an object
)

// want names what a kind accepts, for wrong_type messages.
func (k kind) want() string {
	switch k {
	case kindIP:
		return "IP address"
	case kindInt:
		return "number"
	case kindTime:
		return "RFC 3339 time or epoch milliseconds"
	case kindLabels:
		return "object"
	}
	return "string"
}

// spec says how one dotted ECS field is read and where it goes.
type spec struct {
	kind     kind
	str      func(*event.Event) *string // kindKeyword, kindIP
	setInt   func(*event.Event, int64)  // kindInt
	min, max int64                      // kindInt
}

// labelsPrefix marks free-form labels; everything after it is the label key.
const labelsPrefix = "labels."

// fieldSpecs returns the mapping from dotted ECS name to event field.
// README.md documents the same table; a test keeps the two in step.
func fieldSpecs() map[string]spec {
	kw := func(f func(*event.Event) *string) spec { return spec{kind: kindKeyword, str: f} }
	ip := func(f func(*event.Event) *string) spec { return spec{kind: kindIP, str: f} }
	in := func(lo, hi int64, f func(*event.Event, int64)) spec {
		return spec{kind: kindInt, setInt: f, min: lo, max: hi}
	}
	const (
		maxPort  = math.MaxUint16
		maxByte  = math.MaxUint8
		maxCount = math.MaxInt64
	)
	return map[string]spec{
		"@timestamp":          {kind: kindTime},
		"threat.technique.id": {kind: kindTechniques},
		"labels":              {kind: kindLabels},

		"event.kind":     kw(func(e *event.Event) *string { return &e.EventKind }),
		"event.category": kw(func(e *event.Event) *string { return &e.EventCategory }),
		"event.type":     kw(func(e *event.Event) *string { return &e.EventType }),
		"event.action":   kw(func(e *event.Event) *string { return &e.EventAction }),
		"event.outcome":  kw(func(e *event.Event) *string { return &e.EventOutcome }),
		"event.dataset":  kw(func(e *event.Event) *string { return &e.EventDataset }),
		"event.code":     kw(func(e *event.Event) *string { return &e.EventCode }),
		"event.severity": in(math.MinInt32, math.MaxInt32, func(e *event.Event, n int64) { e.EventSeverity = int(n) }),

		"source.ip":        ip(func(e *event.Event) *string { return &e.SourceIP }),
		"source.port":      in(0, maxPort, func(e *event.Event, n int64) { e.SourcePort = int(n) }),
		"source.domain":    kw(func(e *event.Event) *string { return &e.SourceDomain }),
		"source.user.name": kw(func(e *event.Event) *string { return &e.SourceUserName }),

		"destination.ip":     ip(func(e *event.Event) *string { return &e.DestinationIP }),
		"destination.port":   in(0, maxPort, func(e *event.Event, n int64) { e.DestinationPort = int(n) }),
		"destination.domain": kw(func(e *event.Event) *string { return &e.DestinationDomain }),

		"network.transport": kw(func(e *event.Event) *string { return &e.NetworkTransport }),
		"network.protocol":  kw(func(e *event.Event) *string { return &e.NetworkProtocol }),
		"network.direction": kw(func(e *event.Event) *string { return &e.NetworkDirection }),
		"network.bytes":     in(0, maxCount, func(e *event.Event, n int64) { e.NetworkBytes = n }),
		"network.packets":   in(0, maxCount, func(e *event.Event, n int64) { e.NetworkPackets = n }),

		"host.name":      kw(func(e *event.Event) *string { return &e.HostName }),
		"host.ip":        ip(func(e *event.Event) *string { return &e.HostIP }),
		"host.os.family": kw(func(e *event.Event) *string { return &e.HostOSFamily }),

		"process.name":              kw(func(e *event.Event) *string { return &e.ProcessName }),
		"process.executable":        kw(func(e *event.Event) *string { return &e.ProcessExecutable }),
		"process.command_line":      kw(func(e *event.Event) *string { return &e.ProcessCommandLine }),
		"process.parent.executable": kw(func(e *event.Event) *string { return &e.ProcessParentExecutable }),

		"file.path":      kw(func(e *event.Event) *string { return &e.FilePath }),
		"file.extension": kw(func(e *event.Event) *string { return &e.FileExtension }),

		"url.original":              kw(func(e *event.Event) *string { return &e.URLOriginal }),
		"http.request.method":       kw(func(e *event.Event) *string { return &e.HTTPRequestMethod }),
		"http.response.status_code": in(0, 999, func(e *event.Event, n int64) { e.HTTPResponseStatusCode = int(n) }),
		"dns.question.name":         kw(func(e *event.Event) *string { return &e.DNSQuestionName }),
		"tls.client.server_name":    kw(func(e *event.Event) *string { return &e.TLSServerName }),

		"user.name":           kw(func(e *event.Event) *string { return &e.UserName }),
		"user_agent.original": kw(func(e *event.Event) *string { return &e.UserAgent }),
		"service.name":        kw(func(e *event.Event) *string { return &e.ServiceName }),
		"rule.name":           kw(func(e *event.Event) *string { return &e.RuleName }),
		"rule.category":       kw(func(e *event.Event) *string { return &e.RuleCategory }),
		"observer.vendor":     kw(func(e *event.Event) *string { return &e.ObserverVendor }),
		"observer.product":    kw(func(e *event.Event) *string { return &e.ObserverProduct }),
		"observer.type":       kw(func(e *event.Event) *string { return &e.ObserverType }),

		"ics.protocol":      kw(func(e *event.Event) *string { return &e.ICSProtocol }),
		"ics.function":      kw(func(e *event.Event) *string { return &e.ICSFunction }),
		"ics.function_code": in(0, maxByte, func(e *event.Event, n int64) { e.ICSFunctionCode = int(n) }),
		"ics.unit_id":       in(0, maxPort, func(e *event.Event, n int64) { e.ICSUnitID = int(n) }),
	}
}

// Fields returns the dotted ECS names the decoder maps, sorted, with
// "labels.*" standing for every label.
func (d *Decoder) Fields() []string {
	names := make([]string, 0, len(d.fields))
	for n := range d.fields {
		if n != "labels" {
			names = append(names, n)
		}
	}
	names = append(names, labelsPrefix+"*")
	slices.Sort(names)
	return names
}
