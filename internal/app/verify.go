package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/casus-sec/casus/internal/config"
	"github.com/casus-sec/casus/stream/sign"
)

// newSigner loads the key that signs the escalations topic's records, when
// CASUS_SIGNING_KEY_FILE names one, and shows its id in
// casus_signing_key_info. Without one it returns nil: unsigned.
func newSigner(cfg config.Config, reg prometheus.Registerer) (*sign.Signer, error) {
	m := sign.NewMetrics(reg)
	if cfg.SigningKeyFile == "" {
		return nil, nil
	}
	s, err := sign.LoadSigner(cfg.SigningKeyFile, cfg.SigningKeyID)
	if err != nil {
		return nil, fmt.Errorf("%s_SIGNING_KEY_FILE: %w", config.Prefix, err)
	}
	m.Use(s)
	return s, nil
}

// signingKey names the key the campaign role signs with, for the start
// log, and warns when it publishes unsigned.
func (s *Service) signingKey() string {
	switch {
	case s.camp == nil:
		return "-" // this process publishes no escalations
	case s.camp.signer == nil:
		s.log.Warn("escalations are published unsigned: set "+config.Prefix+"_SIGNING_KEY_FILE to sign them (docs/escalations.md)", "topic", s.cfg.Escalations)
		return "none"
	}
	return s.camp.signer.KeyID()
}

// LoadVerifier reads the public keys casus verify checks against, each
// "[ID=]PATH"; an id not given is derived from the key.
func LoadVerifier(specs []string) (*sign.Verifier, error) { return sign.LoadVerifier(specs) }

// Keygen writes a new signing key pair as prefix.key and prefix.pub and
// returns their key id; it never overwrites a file.
func Keygen(prefix string) (sign.KeyPair, error) { return sign.WriteKeyPair(prefix) }

// VerifyOptions configures Verify.
type VerifyOptions struct {
	Verifier     *sign.Verifier
	MaxLineBytes int       // longest line; sign.MaxLineBytes when 0
	Stdout       io.Writer // one line per record
}

// VerifySummary counts what Verify read: every record or unreadable line
// either verified or failed.
type VerifySummary struct {
	Records, Verified, Failed int
}

// OK reports whether there was at least one record and every one verified.
func (s VerifySummary) OK() bool { return s.Records > 0 && s.Failed == 0 }

// Verify reads records as NDJSON (kcat -J or casus's envelope, see
// sign.ParseRecord) and checks the signature of each value, printing
//
//	ok TOPIC/PARTITION@OFFSET id=ESCALATION-ID key=KEY-ID
//	FAIL line N: [TOPIC/PARTITION@OFFSET: ]REASON
//
// A line that is not a record fails and reading goes on. The error is the
// input's or the output's only.
func Verify(in io.Reader, opt VerifyOptions) (VerifySummary, error) {
	var sum VerifySummary
	r := sign.NewReader(in, opt.MaxLineBytes)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return sum, nil
		}
		var le *sign.LineError
		switch {
		case errors.As(err, &le):
			sum.Records++
			sum.Failed++
			if _, err := fmt.Fprintf(opt.Stdout, "FAIL %v\n", le); err != nil {
				return sum, err
			}
			continue
		case err != nil:
			return sum, fmt.Errorf("read line %d: %w", r.Line()+1, err)
		}
		sum.Records++
		keyID, verr := opt.Verifier.VerifyHeaders(rec.Value, rec.Headers)
		if verr != nil {
			sum.Failed++
			_, err = fmt.Fprintf(opt.Stdout, "FAIL line %d: %s: %v\n", r.Line(), rec, verr)
		} else {
			sum.Verified++
			_, err = fmt.Fprintf(opt.Stdout, "ok %s id=%s key=%s\n", rec, escalationID(rec.Value), keyID)
		}
		if err != nil {
			return sum, err
		}
	}
}

// escalationID is the CloudEvents id of a verified value, "-" when it has
// none; quoted unless it is plain.
func escalationID(value []byte) string {
	var ev struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(value, &ev) != nil || ev.ID == "" {
		return "-"
	}
	if sign.ValidKeyID(ev.ID) != nil { // the same plain alphabet
		return strconv.Quote(ev.ID)
	}
	return ev.ID
}
