package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/casus-sec/casus/classify/campaign"
	"github.com/casus-sec/casus/classify/correlate"
	"github.com/casus-sec/casus/classify/eventtime"
	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/kafka"
	"github.com/casus-sec/casus/stream/sign"
)

func testKeyPair(t *testing.T, name string) (*sign.Signer, sign.KeyPair) {
	t.Helper()
	kp, err := Keygen(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.LoadSigner(kp.PrivatePath, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, kp
}

func signHeaders(m kafka.Message) []sign.Header {
	out := make([]sign.Header, len(m.Headers))
	for i, h := range m.Headers {
		out[i] = sign.Header(h)
	}
	return out
}

// Every record the campaign role publishes on the escalations topic, the
// escalation and the closing event alike, carries both signature headers
// and verifies; the state and dead letters it writes are not signed.
func TestCampaignHandlerSigns(t *testing.T) {
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	signer, kp := testKeyPair(t, "camp")
	pub := &recordingPublisher{}
	h := &campaignHandler{stageIO: stageTestIO(t, pub), escalations: "escalations", prefix: statePrefix("g", config.RoleCampaign),
		totals: totals{}, seen: map[int]campaign.Stats{}, signer: signer,
		tasks: map[int]*campaign.Task{0: campaign.NewTask(campaignOptions(config.Defaults(), know))}}
	t0 := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	s := correlate.Summary{ID: "inc-1", Version: 1, Time: t0, Organisation: "Harbor Bank", Sector: "finance", Tier: 1,
		FirstSeen: t0, LastSeen: t0, Class: "destructive", Classes: []string{"destructive"}, Techniques: []string{"T1485", "T1561.002"},
		Tactics: []string{"TA0040"}, GraveTechniques: []string{"T1485", "T1561.002"}, Targets: 1, Sources: 1}
	v, _ := json.Marshal(s)
	batch := []kafka.Message{
		{Topic: "incidents", Offset: 0, Value: v, Headers: []kafka.Header{{Key: HeaderUpstream, Value: []byte("signals/0")}, {Key: HeaderPosition, Value: []byte("1")}}},
		{Topic: "incidents", Offset: 1, Value: []byte("{bad"), Headers: []kafka.Header{{Key: HeaderUpstream, Value: []byte("signals/0")}, {Key: HeaderPosition, Value: []byte("2")}}},
		markRecord("incidents", 0, eventtime.Mark{Source: "signals/0", Of: 1, Watermark: t0.Add(time.Minute)}),
	}
	if err := h.Handle(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	// The correlate role closes the quiet incident: the campaign role
	// publishes its closing event.
	closed := s
	closed.Version, closed.Time, closed.Closed = 2, t0.Add(25*time.Hour), correlate.ClosedQuiet
	cv, _ := json.Marshal(closed)
	if err := h.Handle(context.Background(), []kafka.Message{
		{Topic: "incidents", Offset: 3, Value: cv, Headers: []kafka.Header{{Key: HeaderUpstream, Value: []byte("signals/0")}, {Key: HeaderPosition, Value: []byte("3")}}},
		markRecord("incidents", 0, eventtime.Mark{Source: "signals/0", Of: 1, Watermark: t0.Add(26 * time.Hour)}),
	}); err != nil {
		t.Fatal(err)
	}
	ver, err := LoadVerifier([]string{kp.PublicPath})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, m := range pub.got {
		signed := headerValue(m, sign.HeaderSignature) != ""
		if m.Topic != "escalations" {
			if signed {
				t.Errorf("a record on %s is signed", m.Topic)
			}
			continue
		}
		types[headerValue(m, "ce_type")]++
		if got := headerValue(m, sign.HeaderKeyID); got != signer.KeyID() {
			t.Errorf("%s: key id header %q, want %s", headerValue(m, "ce_id"), got, signer.KeyID())
		}
		if _, err := ver.VerifyHeaders(m.Value, signHeaders(m)); err != nil {
			t.Errorf("%s does not verify: %v", headerValue(m, "ce_id"), err)
		}
		if size(m) > kafka.MaxRecordBytes {
			t.Errorf("signed record of %d bytes", size(m))
		}
	}
	if types["casus.escalation.v1"] == 0 || types["casus.escalation.closed"] == 0 {
		t.Errorf("records on the escalations topic by type: %v, want escalations and a closing event", types)
	}
}

// NewService loads the configured key for the campaign role and shows its
// id in casus_signing_key_info; a key others can read stops it, naming the
// variable and the file.
func TestNewServiceSigningKey(t *testing.T) {
	know, err := ScenarioKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	_, kp := testKeyPair(t, "svc")
	cfg := testConfig()
	cfg.SigningKeyFile, cfg.SigningKeyID = kp.PrivatePath, "prod-2026"
	svc, err := NewService(cfg, know, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if svc.camp == nil || svc.camp.signer == nil || svc.camp.signer.KeyID() != "prod-2026" {
		t.Fatalf("campaign role signer %+v", svc.camp)
	}
	want := "# HELP casus_signing_key_info 1 for the key that signs the records on the escalations topic, by key id; absent while they are unsigned.\n# TYPE casus_signing_key_info gauge\ncasus_signing_key_info{key_id=\"prod-2026\"} 1\n"
	if err := testutil.GatherAndCompare(svc.Registry(), strings.NewReader(want), "casus_signing_key_info"); err != nil {
		t.Error(err)
	}

	unsigned, _ := testService(t)
	if n, err := testutil.GatherAndCount(unsigned.Registry(), "casus_signing_key_info"); err != nil || n != 0 {
		t.Errorf("unsigned service: %d key series (%v), want none", n, err)
	}
	if got := unsigned.signingKey(); got != "none" {
		t.Errorf("unsigned start log names key %q", got)
	}

	if err := os.Chmod(kp.PrivatePath, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewService(cfg, know, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "CASUS_SIGNING_KEY_FILE") || !strings.Contains(err.Error(), kp.PrivatePath) {
		t.Errorf("world-readable key: %v", err)
	}
	// A process without the campaign role does not sign, and does not need the key.
	cfg.Roles = []config.Role{config.RoleClassify}
	if _, err := NewService(cfg, know, testLogger(t)); err != nil {
		t.Errorf("classify-only process with an unusable key: %v", err)
	}
}

func TestVerify(t *testing.T) {
	cur, curKP := testKeyPair(t, "cur")
	old, oldKP := testKeyPair(t, "old")
	stranger, _ := testKeyPair(t, "stranger")
	rec := func(offset int64, s *sign.Signer, value string) sign.Record {
		r := sign.Record{Topic: "casus.escalations", Partition: 1, Offset: offset, Value: []byte(value)}
		if s != nil {
			r.Headers = s.Headers(r.Value)
		}
		return r
	}
	tampered := rec(3, cur, `{"id":"esc-3","data":{"level":3}}`)
	tampered.Value = []byte(`{"id":"esc-3","data":{"level":4}}`)
	var in bytes.Buffer
	for _, r := range []sign.Record{
		rec(0, cur, `{"id":"esc-0"}`),
		rec(1, old, `{"id":"esc-1"}`),
		rec(2, nil, `{"id":"esc-2"}`),
		tampered,
		rec(4, stranger, `{"id":"esc-4"}`),
	} {
		b, err := sign.MarshalRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(append(b, '\n'))
	}
	in.WriteString("not json\n")
	ver, err := LoadVerifier([]string{curKP.PublicPath, "old-key=" + oldKP.PublicPath})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := Verify(&in, VerifyOptions{Verifier: ver, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	known := strings.Join(ver.KeyIDs(), ", ")
	want := []string{
		"ok casus.escalations/1@0 id=esc-0 key=" + cur.KeyID(),
		"FAIL line 2: casus.escalations/1@1: unknown key id " + old.KeyID() + " (known: " + known + ")",
		"FAIL line 3: casus.escalations/1@2: unsigned: no casus.signature header",
		"FAIL line 4: casus.escalations/1@3: signature does not match under key " + cur.KeyID(),
		"FAIL line 5: casus.escalations/1@4: unknown key id " + stranger.KeyID(),
		"FAIL line 6: not JSON",
	}
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s", out.String())
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], want[i])
		}
	}
	if sum != (VerifySummary{Records: 6, Verified: 1, Failed: 5}) || sum.OK() {
		t.Errorf("summary %+v", sum)
	}

	// The old key under the id its records name: rotation.
	ver, err = LoadVerifier([]string{curKP.PublicPath, oldKP.PublicPath})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sign.MarshalRecord(rec(1, old, `{"id":"esc-1"}`))
	out.Reset()
	if sum, err := Verify(bytes.NewReader(b), VerifyOptions{Verifier: ver, Stdout: &out}); err != nil || !sum.OK() {
		t.Errorf("old record with both keys: %+v %v\n%s", sum, err, out.String())
	}
	if sum, _ := Verify(strings.NewReader("\n\n"), VerifyOptions{Verifier: ver, Stdout: &out}); sum.OK() {
		t.Error("no records counted as verified")
	}
	if _, err := Verify(errReader{}, VerifyOptions{Verifier: ver, Stdout: &out}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("input error: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("broken pipe") }
