package soak

import (
	"context"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/casus-sec/casus/stream/kafka"
)

// ReadTopic reads every record of topic up to its end offsets when called.
func ReadTopic(ctx context.Context, brokers []string, topic string) ([]Record, error) {
	ends, err := kafka.EndOffsets(ctx, brokers, nil, topic)
	if err != nil {
		return nil, err
	}
	var out []Record
	for p, end := range ends {
		if end == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 200 * time.Millisecond, MaxBytes: 4 << 20})
		err := func() error {
			defer r.Close()
			for {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					return fmt.Errorf("read %s/%d: %w", topic, p, err)
				}
				h := make(map[string]string, len(m.Headers))
				for _, x := range m.Headers {
					h[x.Key] = string(x.Value)
				}
				out = append(out, Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Headers: h})
				if m.Offset+1 >= end {
					return nil
				}
			}
		}()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
