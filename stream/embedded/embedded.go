package embedded

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running in-process broker.
type Broker struct {
	c *kfake.Cluster
}

// Start starts a one-node broker on a free port of 127.0.0.1 (or on port when
// non-zero) with the given topics created with partitions each.
func Start(port int, partitions int32, topics ...string) (*Broker, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DefaultNumPartitions(int(partitions))}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker: %w", err)
	}
	return &Broker{c: c}, nil
}

// Addr is the broker's bootstrap address (127.0.0.1:port).
func (b *Broker) Addr() string { return b.c.ListenAddrs()[0] }

// Close stops the broker.
func (b *Broker) Close() { b.c.Close() }
