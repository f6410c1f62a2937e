package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// TopicSpec describes a topic casus needs.
type TopicSpec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	Configs           map[string]string
}

// EnsureTopics creates the topics that do not exist yet and waits until the
// cluster's metadata lists them all with leaders, so the first write does not
// fail with an unknown topic.
func EnsureTopics(ctx context.Context, brokers []string, transport *kafkago.Transport, specs []TopicSpec) error {
	t := adminTransport(transport)
	defer t.CloseIdleConnections()
	client := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 15 * time.Second, Transport: t}
	req := &kafkago.CreateTopicsRequest{}
	for _, s := range specs {
		tc := kafkago.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: s.ReplicationFactor}
		for k, v := range s.Configs {
			tc.ConfigEntries = append(tc.ConfigEntries, kafkago.ConfigEntry{ConfigName: k, ConfigValue: v})
		}
		req.Topics = append(req.Topics, tc)
	}
	// A fresh client may reach a broker that does not know the controller
	// yet, or one that is down or restarting; those answers pass.
	if err := retryTransient(ctx, func() error { return createTopics(ctx, client, req) }); err != nil {
		return err
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	for {
		md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: names})
		if err == nil && allLed(md, len(names)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for topics %v: %w", names, errors.Join(ctx.Err(), err))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func createTopics(ctx context.Context, client *kafkago.Client, req *kafkago.CreateTopicsRequest) error {
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	var errs []error
	for name, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafkago.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// retryTransient calls f until it succeeds, fails for good, or ctx ends,
// backing off from 100 ms to 2 s. An administrative call at start-up must
// ride through one broker of the cluster being down or restarting.
func retryTransient(ctx context.Context, f func() error) error {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		err := f()
		if err == nil || !retriable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// retriable reports whether a failed administrative call may pass by
// itself: the broker or controller is not available yet, or the connection
// dropped or timed out. A refusal (replication factor above the broker
// count, a policy, an unknown topic) is not.
func retriable(err error) bool {
	for _, e := range []error{kafkago.BrokerNotAvailable, kafkago.NotController, kafkago.RequestTimedOut,
		kafkago.LeaderNotAvailable, kafkago.NotCoordinatorForGroup, io.EOF, io.ErrUnexpectedEOF, syscall.ECONNREFUSED, syscall.ECONNRESET,
		// The client's own per-request timeout; retryTransient stops when
		// the caller's context ends.
		context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func allLed(md *kafkago.MetadataResponse, want int) bool {
	if len(md.Topics) != want {
		return false
	}
	for _, t := range md.Topics {
		if t.Error != nil || len(t.Partitions) == 0 {
			return false
		}
		for _, p := range t.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return false
			}
		}
	}
	return true
}
