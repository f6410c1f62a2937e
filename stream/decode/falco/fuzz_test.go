package falco_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/casus-sec/casus/stream/decode/falco"
	"github.com/casus-sec/casus/stream/decode/internal/decodetest"
)

func FuzzDecode(f *testing.F) {
	for _, dir := range decodetest.GoldenCases(f) {
		in, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"class_uid":null}`, `{"class_uid":"4001","time":"1e3"}`,
		`{"class_uid":4001,"activity_id":3,"traffic":{"packets_in":9223372036854775807,"packets_out":1}}`,
		`{"class_uid":1001,"activity_id":5,"file":{"name":"a.b"},"file_result":{"parent_folder":"C:\\x","name":".c"}}`,
		`{"class_uid":2004,"evidences":[{"process":{"file":{"path":"/bin/x"}}},1],"resources":[null]}`,
		`{"class_uid":2001,"finding":{"types":"x"},"attacks":[{"sub_technique":{"uid":"T1000.001"}}]}`,
		"{\"class_uid\":1007,\"process\":{\"cmd_line\":\"\xc3\"}}",
		`{"class_uid":1007,"a":[[{"b":[1,{"b":2}]}]],"a":3}`,
	} {
		f.Add([]byte(s))
	}
	d := falco.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := decodetest.CheckDecode(t, d, falco.Format, data, decodetest.Limits{MaxFields: falco.MaxFields})
		if err == nil && (ev.EventSeverity < 0 || ev.EventSeverity > 6) {
			t.Errorf("severity %d outside 0-6", ev.EventSeverity)
		}
	})
}
