package app

import (
	"log/slog"

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
