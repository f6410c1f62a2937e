package app

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The HTTP endpoints serve metrics and health and nothing else, to GET and
// HEAD only, and do not let a client hold a connection open by sending
// slowly or send unbounded headers.
func TestHTTPEndpoints(t *testing.T) {
	svc, _ := testService(t)
	svc.httpLimits = httpLimits{readHeader: 300 * time.Millisecond, read: time.Second, write: time.Second, idle: time.Second, maxHeaderBytes: 4 << 10}
	srv, err := svc.serveHTTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	addr := svc.MetricsAddr()
	base := "http://" + addr
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}

	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/metrics", 200, "casus_build_info"},
		{"GET", "/healthz", 200, "ok"},
		{"HEAD", "/healthz", 200, ""},
		{"GET", "/readyz", 503, "not ready"}, // not consuming: never ready
		{"GET", "/", 404, ""},
		{"GET", "/debug/pprof/", 404, ""},
		{"GET", "/debug/vars", 404, ""},
		{"GET", "/metrics/extra", 404, ""},
		{"GET", "/healthz?verbose=1", 200, "ok"},
		{"POST", "/metrics", 405, ""},
		{"PUT", "/healthz", 405, ""},
		{"DELETE", "/readyz", 405, ""},
		{"OPTIONS", "/metrics", 405, ""},
		{"TRACE", "/metrics", 405, ""},
	} {
		req, err := http.NewRequest(tc.method, base+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tc.method, tc.path, resp.StatusCode, trim(body), tc.status, tc.body)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no X-Content-Type-Options: nosniff", tc.method, tc.path)
		}
	}

	// Headers beyond the limit are refused, not buffered.
	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("b", 64<<10))
	if resp, err := noRedirect.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("64 KiB header: %d, want 431", resp.StatusCode)
		}
	}

	// A client that never finishes its request line is cut off after the
	// header timeout rather than holding the connection.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	_, err = bufio.NewReader(c).ReadString('\n')
	if err == nil {
		// Go may answer 408 before closing; the connection must then close.
		_, err = io.ReadAll(c)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("slow client still connected after %s", time.Since(start))
	}
}

func trim(b []byte) string {
	s := string(b)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
