package sign

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics shows which key signs, so a rotation is visible.
type Metrics struct {
	// KeyInfo is 1 for the key in use, labelled by its id; it has no
	// series while escalations are published unsigned.
	KeyInfo *prometheus.GaugeVec
}

// NewMetrics registers the collectors with reg; a nil reg leaves them
// unregistered.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{KeyInfo: promauto.With(reg).NewGaugeVec(prometheus.GaugeOpts{
		Name: "casus_signing_key_info",
		Help: "1 for the key that signs the records on the escalations topic, by key id; absent while they are unsigned.",
	}, []string{"key_id"})}
}

// Use records s as the key in use, replacing any earlier one.
func (m *Metrics) Use(s *Signer) {
	m.KeyInfo.Reset()
	if s != nil {
		m.KeyInfo.WithLabelValues(s.KeyID()).Set(1)
	}
}
