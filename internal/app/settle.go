package app

import (
	"context"
	"fmt"
	"time"

	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/kafka"
)

// WaitSettled waits until every role of cfg's group has committed all of
// its input and stayed so for quiet. A finite input needs the wait: its end
// turns the partitions idle, which releases the records the watermarks held
// to the next role, which writes more input for the role after it. check,
// when not nil, is called every round and ends the wait with its error
// (a process that died).
func WaitSettled(ctx context.Context, brokers []string, cfg config.Config, quiet time.Duration, check func() error) error {
	var stages [][2]string
	for _, in := range cfg.Inputs {
		stages = append(stages, [2]string{GroupOf(cfg.Group.ID, config.RoleClassify), in.Topic})
	}
	stages = append(stages,
		[2]string{GroupOf(cfg.Group.ID, config.RoleCorrelate), cfg.Signals},
		[2]string{GroupOf(cfg.Group.ID, config.RoleCampaign), cfg.Incidents})
	var since time.Time
	behind := ""
	for {
		behind = ""
		for _, s := range stages {
			ok, err := kafka.CaughtUp(ctx, brokers, nil, s[0], s[1])
			if err != nil || !ok {
				behind = fmt.Sprintf("group %s on %s", s[0], s[1])
				break
			}
		}
		switch {
		case behind != "":
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		case time.Since(since) > quiet:
			return nil
		}
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("roles of %s not settled (%s behind): %w", cfg.Group.ID, behind, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
