package app

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/casus-sec/casus/classify/campaign"
	"github.com/casus-sec/casus/classify/escalate"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/decode"
	"github.com/casus-sec/casus/stream/pipeline"
)

// ClassifyOptions configure the offline pipeline.
type ClassifyOptions struct {
	Format         string
	Signals        bool   // also print signals
	Source         string // the records' "topic" in evidence: the file name, or "stdin"
	MaxRecordBytes int
	MinLevel       int
	Progress       bool  // draw a progress bar on Stderr
	Size           int64 // input size in bytes, for the progress bar
	// Stages sets the allowed lateness and the incident caps as
	// CASUS_ALLOWED_LATENESS and CASUS_MAX_*INCIDENTS do for the service;
	// nil takes the defaults. Its MinLevel is not read (MinLevel is).
	Stages         *config.Escalation
	Stdout, Stderr io.Writer
}

// ClassifySummary counts what an offline run saw.
type ClassifySummary struct {
	Records     int
	Bad         int
	Signals     int
	Escalations int
	Closed      int
	Reasons     map[decode.Reason]int
}

// Classify runs telemetry from in (NDJSON, or a Zeek TSV log) through the
// same pipeline as the service, with no Kafka: escalations (and signals, when asked) are written
// as NDJSON to Stdout; bad records are reported on Stderr and counted.
func Classify(in io.Reader, know *Knowledge, opt ClassifyOptions) (ClassifySummary, error) {
	sum := ClassifySummary{Reasons: map[decode.Reason]int{}}
	if opt.MaxRecordBytes <= 0 {
		opt.MaxRecordBytes = decode.DefaultMaxBytes
	}
	cfg := config.Defaults()
	if opt.Stages != nil {
		cfg.Escalation = *opt.Stages
	}
	cfg.MinLevel = opt.MinLevel
	cfg.Group.ID = "classify"
	p, err := pipeline.New(pipelineOptions(know, decode.Default(opt.MaxRecordBytes), nil))
	if err != nil {
		return sum, err
	}
	chain := campaign.NewChain(correlateOptions(cfg, know), campaignOptions(cfg, know), cfg.AllowedLateness)
	out := bufio.NewWriter(opt.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	bar := newProgress(opt.Stderr, opt.Progress, opt.Size)
	defer bar.done()

	cr := &countingReader{r: in}
	src := openSource(bufio.NewReaderSize(cr, 64<<10), opt.Format, opt.MaxRecordBytes)
	var res pipeline.Result
	var offset int64
	for {
		rec, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sum, fmt.Errorf("read %s %w", opt.Source, err)
		}
		sum.Records++
		r := pipeline.Record{Topic: opt.Source, Offset: offset, Value: rec.value, Format: opt.Format}
		offset++
		switch {
		case !rec.decoded:
			p.Process(r, &res)
		case rec.err != nil:
			res = pipeline.Result{Dead: &pipeline.DeadLetter{Reason: decode.ReasonOf(rec.err), Format: decode.ZeekTSV, Err: rec.err}}
		default:
			p.ProcessEvent(r, decode.ZeekTSV, rec.ev, &res)
		}
		if d := res.Dead; d != nil {
			sum.Bad++
			sum.Reasons[d.Reason]++
			bar.clear()
			fmt.Fprintf(opt.Stderr, "%s:%d: %v\n", opt.Source, rec.line, d.Err)
		}
		if opt.Signals {
			for _, s := range res.Signals {
				if err := enc.Encode(s); err != nil {
					return sum, fmt.Errorf("write signal: %w", err)
				}
			}
		}
		sum.Signals += len(res.Signals)
		for _, s := range res.Signals {
			chain.Signal(s)
		}
		if !res.EventTime.IsZero() {
			if err := writeOutputs(out, chain.Tick(res.EventTime), &sum); err != nil {
				return sum, err
			}
		}
		bar.update(cr.n, sum.Records)
	}
	if err := writeOutputs(out, chain.Flush(), &sum); err != nil {
		return sum, err
	}
	return sum, nil
}

// writeOutputs writes escalations and closing events as NDJSON.
func writeOutputs(out *bufio.Writer, outs []campaign.Output, sum *ClassifySummary) error {
	for _, o := range outs {
		var b []byte
		var err error
		if o.Escalation != nil {
			b, err = escalate.Marshal(*o.Escalation)
			sum.Escalations++
		} else {
			b, err = json.Marshal(o.Closed)
			sum.Closed++
		}
		if err != nil {
			return fmt.Errorf("write escalation: %w", err)
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	return nil
}

// countingReader counts the bytes read through it, for the progress bar.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readLine reads one line without its "\n" or "\r\n"; a line longer than
// max is consumed whole but returned cut to max+1 bytes, so the decoder
// reports it as too large without casus holding it in memory.
func readLine(r *bufio.Reader, max int) ([]byte, int, error) {
	var buf []byte
	n := 0
	for {
		chunk, err := r.ReadSlice('\n')
		n += len(chunk)
		// Keep two bytes past the limit so a line of exactly max bytes
		// still fits after its "\r\n" is stripped.
		if len(buf) <= max+1 {
			room := max + 2 - len(buf)
			buf = append(buf, chunk[:min(len(chunk), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(buf) > 0 && buf[len(buf)-1] == '\n' {
			buf = buf[:len(buf)-1]
			if len(buf) > 0 && buf[len(buf)-1] == '\r' {
				buf = buf[:len(buf)-1]
			}
		}
		return buf[:min(len(buf), max+1)], n, err
	}
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

type progress struct {
	w     io.Writer
	on    bool
	size  int64
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, on bool, size int64) *progress {
	return &progress{w: w, on: on && size > 0, size: size}
}

func (p *progress) update(done int64, records int) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	frac := float64(done) / float64(p.size)
	frac = min(frac, 1)
	fill := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		switch {
		case i < fill:
			bar[i] = '='
		case i == fill:
			bar[i] = '>'
		default:
			bar[i] = ' '
		}
	}
	fmt.Fprintf(p.w, "\r[%s] %3.0f%% %d records", bar, frac*100, records)
	p.drawn = true
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

func (p *progress) done() { p.clear() }
