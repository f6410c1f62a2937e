package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// A call that fails transiently is retried until it succeeds; one that
// fails for good, or outlives its context, is not.
func TestRetryTransient(t *testing.T) {
	calls := 0
	err := retryTransient(context.Background(), func() error {
		if calls++; calls < 3 {
			return fmt.Errorf("metadata: %w", kafkago.BrokerNotAvailable)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("transient failures: err %v after %d calls, want success on the 3rd", err, calls)
	}
	calls = 0
	err = retryTransient(context.Background(), func() error { calls++; return kafkago.InvalidReplicationFactor })
	if !errors.Is(err, kafkago.InvalidReplicationFactor) || calls != 1 {
		t.Errorf("permanent failure: err %v after %d calls, want it at once", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = retryTransient(ctx, func() error { return kafkago.BrokerNotAvailable })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, kafkago.BrokerNotAvailable) {
		t.Errorf("ended context: err %v, want both the last failure and the context's", err)
	}
}

func TestRetriableTopicErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("create topic a: %w", kafkago.BrokerNotAvailable), true},
		{fmt.Errorf("create topic a: %w", kafkago.NotController), true},
		{fmt.Errorf("create topics: %w", io.EOF), true},
		{fmt.Errorf("create topics: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true},
		{fmt.Errorf("metadata of topic t: %w", &net.OpError{Op: "read", Err: timeoutError{}}), true},
		{fmt.Errorf("metadata of topic t: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("create topic a: %w", kafkago.InvalidReplicationFactor), false},
		{fmt.Errorf("topic t: %w", kafkago.UnknownTopicOrPartition), false},
		{fmt.Errorf("create topic a: %w", kafkago.PolicyViolation), false},
		{errors.New("something else"), false},
	} {
		if got := retriable(tc.err); got != tc.want {
			t.Errorf("retriable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
