package kafka

import (
	"errors"
	"fmt"
	"io"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"client-side too large", kafkago.MessageTooLargeError{}, true},
		{"broker too large", kafkago.MessageSizeTooLarge, true},
		{"broker too large inside write errors", kafkago.WriteErrors{nil, kafkago.MessageSizeTooLarge}, true},
		{"authorisation", fmt.Errorf("wrapped: %w", kafkago.TopicAuthorizationFailed), true},
		{"leader moved is retriable", kafkago.NotLeaderForPartition, false},
		{"unknown topic is retriable (metadata lag)", kafkago.UnknownTopicOrPartition, false},
		{"retriable write errors", kafkago.WriteErrors{kafkago.RequestTimedOut, nil}, false},
		{"network", io.ErrUnexpectedEOF, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := permanent(tc.err); got != tc.want {
				t.Errorf("permanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	var pe *PermanentError
	if !errors.As(&PermanentError{Err: io.EOF}, &pe) || !errors.Is(&PermanentError{Err: io.EOF}, io.EOF) {
		t.Error("PermanentError does not unwrap")
	}
}
