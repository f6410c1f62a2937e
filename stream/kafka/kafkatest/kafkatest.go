// Package kafkatest finds the real Apache Kafka broker that the test script
// starts, for integration tests. It is imported by tests only.
package kafkatest

import (
	"os"
	"strings"
	"testing"
)

// Brokers returns the addresses in CASUS_TEST_BROKERS. Without them the
// test is skipped, and under CI (CI=true) it fails: there the script always
// starts a broker, so a missing one is a broken run, not a reason to skip.
func Brokers(tb testing.TB) []string {
	tb.Helper()
	b := os.Getenv("CASUS_TEST_BROKERS")
	if b == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("CASUS_TEST_BROKERS is not set under CI: scripts/test.sh starts the broker and sets it")
		}
		tb.Skip("integration test needs a real Kafka broker: run scripts/test.sh, or set CASUS_TEST_BROKERS=host:port")
	}
	return strings.Split(b, ",")
}
