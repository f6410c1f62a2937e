package app

import (
	"log/slog"

	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/decode"
	"os"
	"testing"
)

// testLogger logs warnings to stderr: kafka-go's goroutines may still log
// after a test returned, which testing.T's log would refuse.
func testLogger(*testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Reason converts a reason name for comparisons in tests.
func Reason(s string) decode.Reason { return decode.Reason(s) }

// testConfig is a valid configuration for building a service in unit tests.
func testConfig() config.Config {
	cfg := config.Defaults()
	cfg.MetricsAddr = "127.0.0.1:0"
	return cfg
}
