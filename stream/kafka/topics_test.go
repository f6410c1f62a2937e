package kafka

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

func TestRetriableTopicErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("create topic a: %w", kafkago.BrokerNotAvailable), true},
		{fmt.Errorf("create topic a: %w", kafkago.NotController), true},
		{fmt.Errorf("create topics: %w", io.EOF), true},
		{fmt.Errorf("create topics: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true},
		{fmt.Errorf("create topic a: %w", kafkago.InvalidReplicationFactor), false},
		{fmt.Errorf("create topic a: %w", kafkago.PolicyViolation), false},
		{errors.New("something else"), false},
	} {
		if got := retriable(tc.err); got != tc.want {
			t.Errorf("retriable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
