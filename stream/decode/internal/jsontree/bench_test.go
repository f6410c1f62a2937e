package jsontree

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// benchRecord is a Suricata-style alert of ordinary size (about 900 bytes).
var benchRecord = []byte(`{"timestamp":"2024-03-01T12:00:00.123456+0000","flow_id":1234567890123456,"in_iface":"eth0","event_type":"alert","src_ip":"203.0.113.7","src_port":51234,"dest_ip":"10.0.0.5","dest_port":445,"proto":"TCP","pkt_src":"wire/pcap","community_id":"1:abcdefghijklmnopqrstuvwxyz0=","alert":{"action":"allowed","gid":1,"signature_id":2024218,"rev":3,"signature":"ET EXPLOIT Possible ETERNALBLUE MS17-010 Echo Response","category":"Attempted Administrator Privilege Gain","severity":1,"metadata":{"affected_product":["Windows_XP_Vista_7_8_10_Server_32_64_Bit"],"attack_target":["SMB_Client"],"created_at":["2017_04_17"],"deployment":["Internal"],"mitre_tactic_id":["TA0008"],"mitre_tactic_name":["Lateral_Movement"],"mitre_technique_id":["T1210"],"mitre_technique_name":["Exploitation_Of_Remote_Services"],"signature_severity":["Major"],"updated_at":["2019_07_26"]}},"flow":{"pkts_toserver":8,"pkts_toclient":6,"bytes_toserver":1200,"bytes_toclient":900,"start":"2024-03-01T11:59:59.000000+0000"},"app_proto":"smb","host":"sensor-1","path":"C:\\Windows\\System32\\drivers\\srv.sys \u00e9"}`)

// BenchmarkParse compares the tree parser with the two encoding/json
// approaches it replaces, on the same record in the same run.
func BenchmarkParse(b *testing.B) {
	b.Run("jsontree", func(b *testing.B) {
		var t Tree
		b.ReportAllocs()
		b.SetBytes(int64(len(benchRecord)))
		for b.Loop() {
			if err := t.Parse("bench", benchRecord, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib_tokens", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchRecord)))
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(benchRecord))
			dec.UseNumber()
			for {
				if _, err := dec.Token(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("stdlib_map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchRecord)))
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(benchRecord, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
