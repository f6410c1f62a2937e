package campaign

import (
	"time"

	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/eventtime"
)

// Chain runs the correlate and campaign stages in one process over one
// ordered input (a file, a test script): the same tasks, marks and event-
// time order as across Kafka, without the topics in between.
type Chain struct {
	corr     *correlate.Task
	camp     *Task
	lateness time.Duration
	latest   time.Time
	pos      int64
}

// ChainSource names the single input of a Chain as a source.
const ChainSource = "input"

// NewChain returns a Chain; lateness is how far behind the latest event
// time an input may still arrive in order.
func NewChain(corr correlate.Options, camp Options, lateness time.Duration) *Chain {
	return &Chain{
		corr:     correlate.NewTask(correlate.TaskOptions{Tracker: corr, Name: "correlate", Of: 1}),
		camp:     NewTask(camp),
		lateness: lateness,
	}
}

// Correlate and Campaign expose the stages (metrics, tests).
func (c *Chain) Correlate() *correlate.Task { return c.corr }

// Campaign exposes the campaign stage.
func (c *Chain) Campaign() *Task { return c.camp }

// Signal takes the next signal of the input.
func (c *Chain) Signal(sig event.Signal) {
	c.pos++
	c.corr.Signal(ChainSource, correlate.Position{Offset: c.pos}, sig)
}

// Tick says the input has reached event time t (a record was read, with or
// without signals) and returns what the watermark released.
func (c *Chain) Tick(t time.Time) []Output {
	if t.After(c.latest) {
		c.latest = t
	}
	c.corr.Mark(eventtime.Mark{Source: ChainSource, Of: 1, Watermark: c.latest.Add(-c.lateness)})
	c.corr.Advance()
	return c.pass(false)
}

// Flush releases everything held: the input ended.
func (c *Chain) Flush() []Output {
	c.corr.Flush()
	return c.pass(true)
}

func (c *Chain) pass(flush bool) []Output {
	for _, o := range c.corr.Outputs() {
		c.camp.Summary(c.corr.Watermark().Source, o.Seq, o.Summary)
	}
	c.camp.Mark(c.corr.Watermark())
	if flush {
		c.camp.Flush()
	} else {
		c.camp.Advance()
	}
	return c.camp.Outputs()
}
