package rules_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/casus-sec/casus/classify/event"
	"github.com/casus-sec/casus/classify/rules"
	"github.com/casus-sec/casus/classify/sigma"
)

const (
	idVertical   = "4f22c9a9-6a3c-4425-8dcc-aab7ff54d0d3"
	idHorizontal = "9abe469a-431e-4586-a0c0-5e83a9e3ddef"
	idPingSweep  = "30c65f2f-941f-4e0f-9096-e6c78a2772e1"
	idNet        = "840022d0-6a51-4334-9dba-76d83a0f2706"
	idNltest     = "e9945e8c-4a54-487f-a08e-301a82fc06f8"
	idWhoami     = "1912d242-45db-4188-b993-c0d9af62a94f"
	idAdFind     = "2b0877ce-f61f-4d1f-9a4b-1f456696c5e9"
	idScanProc   = "f885afef-9543-42d5-a7c1-2667a855ef1a"
	idScanUA     = "105cf485-5f25-4b78-b72a-1202b77b14d1"
	idShadow     = "bb4934a2-39cb-471a-af1d-5741605eded4"
	idCatalog    = "765d5546-5186-4178-9765-e2934e3469bc"
	idBcdedit    = "181a9f8a-af28-4540-9a02-0f046379f005"
	idCipher     = "795acf47-c3db-49b4-a149-f133d48d1ba4"
	idRansom     = "77e69e4a-16f8-449f-a102-132fe9120e34"
	idSvcStop    = "caf3d80a-663a-4387-9579-f751ef52f322"
	idRawDisk    = "b4ee28db-6fb4-487c-9675-c21d0cdb1767"
	idSynFlood   = "4ab2bc18-b2cb-4f68-aa44-cfc6a103eb07"
	idUDPFlood   = "efc14b66-80d7-4763-b8f8-0ccc702dd794"
	idModbus     = "d1d1629b-4cb0-4677-9590-4f30c8cf9467"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func load(t *testing.T, ph map[string][]string) *sigma.Ruleset {
	t.Helper()
	rs, warns, err := sigma.LoadFS(rules.FS(), sigma.Options{Placeholders: ph})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		t.Errorf("warning: %s", w)
	}
	return rs
}

func proc(exe, cmd string) []event.Event {
	name := exe[strings.LastIndexAny(exe, `\/`)+1:]
	return []event.Event{{Timestamp: t0, EventCategory: "process", HostName: "ws1", HostIP: "10.1.1.10",
		ProcessExecutable: exe, ProcessName: strings.ToLower(name), ProcessCommandLine: cmd}}
}

// series makes n events step seconds apart, built by f.
func series(n int, step float64, f func(i int, e *event.Event)) []event.Event {
	out := make([]event.Event, n)
	for i := range out {
		f(i, &out[i])
		out[i].Timestamp = t0.Add(time.Duration(float64(i) * step * float64(time.Second)))
	}
	return out
}

func tcp(src, dst string, port int) event.Event {
	return event.Event{EventCategory: "network", NetworkTransport: "tcp", SourceIP: src, DestinationIP: dst, DestinationPort: port}
}

func TestBuiltinRules(t *testing.T) {
	rs := load(t, rules.DefaultPlaceholders())
	for _, tc := range []struct {
		name   string
		rule   string
		events []event.Event
		fire   bool
		class  event.Class
	}{
		{"vertical scan", idVertical, series(20, 1, func(i int, e *event.Event) { *e = tcp("203.0.113.5", "10.0.0.8", 1000+i) }), true, event.ClassReconnaissance},
		{"vertical scan: 19 ports", idVertical, series(19, 1, func(i int, e *event.Event) { *e = tcp("203.0.113.5", "10.0.0.8", 1000+i) }), false, ""},
		{"vertical scan: 20 ports over 4 minutes", idVertical, series(20, 12, func(i int, e *event.Event) { *e = tcp("203.0.113.5", "10.0.0.8", 1000+i) }), false, ""},
		{"vertical scan: same port 40 times", idVertical, series(40, 1, func(i int, e *event.Event) { *e = tcp("203.0.113.5", "10.0.0.8", 443) }), false, ""},
		{"horizontal scan", idHorizontal, series(20, 0.5, func(i int, e *event.Event) { *e = tcp("203.0.113.5", fmt.Sprintf("10.0.1.%d", i), 445) }), true, event.ClassReconnaissance},
		{"horizontal scan: different sources", idHorizontal, series(20, 0.5, func(i int, e *event.Event) {
			*e = tcp(fmt.Sprintf("203.0.113.%d", i), fmt.Sprintf("10.0.1.%d", i), 445)
		}), false, ""},
		{"ping sweep", idPingSweep, series(10, 1, func(i int, e *event.Event) {
			*e = event.Event{EventCategory: "network", NetworkTransport: "icmp", SourceIP: "198.51.100.7", DestinationIP: fmt.Sprintf("10.0.2.%d", i)}
		}), true, event.ClassReconnaissance},
		{"ping sweep: replies", idPingSweep, series(10, 1, func(i int, e *event.Event) {
			*e = event.Event{EventCategory: "network", NetworkTransport: "icmp", EventAction: "echo_reply", SourceIP: "198.51.100.7", DestinationIP: fmt.Sprintf("10.0.2.%d", i)}
		}), false, ""},
		{"ping sweep: 9 hosts", idPingSweep, series(9, 1, func(i int, e *event.Event) {
			*e = event.Event{EventCategory: "network", NetworkTransport: "icmp", SourceIP: "198.51.100.7", DestinationIP: fmt.Sprintf("10.0.2.%d", i)}
		}), false, ""},
		{"net group domain admins", idNet, proc(`C:\Windows\System32\net.exe`, `net group "Domain Admins" /domain`), true, event.ClassReconnaissance},
		{"net user /domain", idNet, proc(`C:\Windows\System32\net1.exe`, `net1 user -domain`), true, event.ClassReconnaissance},
		{"net view", idNet, proc(`C:\Windows\System32\net.exe`, `net view \\fileserver`), true, event.ClassReconnaissance},
		{"net use is not discovery", idNet, proc(`C:\Windows\System32\net.exe`, `net use Z: \\fs\share`), false, ""},
		{"nltest domain trusts", idNltest, proc(`C:\Windows\System32\nltest.exe`, `nltest /domain_trusts /all_trusts`), true, event.ClassReconnaissance},
		{"nltest dclist", idNltest, proc(`C:\Windows\System32\nltest.exe`, `nltest /dclist:corp.example`), true, event.ClassReconnaissance},
		{"nltest query", idNltest, proc(`C:\Windows\System32\nltest.exe`, `nltest /query`), false, ""},
		{"whoami /all", idWhoami, proc(`C:\Windows\System32\whoami.exe`, `whoami /all`), true, event.ClassReconnaissance},
		{"plain whoami", idWhoami, proc(`C:\Windows\System32\whoami.exe`, `whoami`), false, ""},
		{"adfind", idAdFind, proc(`C:\Users\Public\adfind.exe`, `adfind.exe -f "(objectcategory=computer)"`), true, event.ClassReconnaissance},
		{"renamed adfind", idAdFind, proc(`C:\Users\Public\af.exe`, `af.exe -gcb -sc trustdmp`), true, event.ClassReconnaissance},
		{"find is not adfind", idAdFind, proc(`C:\Windows\System32\find.exe`, `find "x" a.txt`), false, ""},
		{"nmap", idScanProc, proc(`/usr/bin/nmap`, `nmap -sS 10.0.0.0/24`), true, event.ClassReconnaissance},
		{"snmpd is not nmap", idScanProc, proc(`/usr/sbin/snmpd`, `snmpd -f`), false, ""},
		{"nmap user agent", idScanUA, []event.Event{{Timestamp: t0, EventCategory: "web", UserAgent: "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"}}, true, event.ClassReconnaissance},
		{"zgrab user agent over network", idScanUA, []event.Event{{Timestamp: t0, EventCategory: "network", UserAgent: "Mozilla/5.0 zgrab/0.x"}}, true, event.ClassReconnaissance},
		{"browser user agent", idScanUA, []event.Event{{Timestamp: t0, EventCategory: "web", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0"}}, false, ""},
		{"vssadmin delete shadows", idShadow, proc(`C:\Windows\System32\vssadmin.exe`, `vssadmin.exe Delete Shadows /All /Quiet`), true, event.ClassDestructive},
		{"wmic shadowcopy delete", idShadow, proc(`C:\Windows\System32\wbem\WMIC.exe`, `wmic shadowcopy delete /nointeractive`), true, event.ClassDestructive},
		{"vssadmin list shadows", idShadow, proc(`C:\Windows\System32\vssadmin.exe`, `vssadmin list shadows`), false, ""},
		{"wbadmin delete catalog", idCatalog, proc(`C:\Windows\System32\wbadmin.exe`, `wbadmin delete catalog -quiet`), true, event.ClassDestructive},
		{"wbadmin get versions", idCatalog, proc(`C:\Windows\System32\wbadmin.exe`, `wbadmin get versions`), false, ""},
		{"bcdedit recoveryenabled no", idBcdedit, proc(`C:\Windows\System32\bcdedit.exe`, `bcdedit /set {default} recoveryenabled No`), true, event.ClassDestructive},
		{"bcdedit ignoreallfailures", idBcdedit, proc(`C:\Windows\System32\bcdedit.exe`, `bcdedit /set {default} bootstatuspolicy ignoreallfailures`), true, event.ClassDestructive},
		{"bcdedit enum", idBcdedit, proc(`C:\Windows\System32\bcdedit.exe`, `bcdedit /enum`), false, ""},
		{"cipher /w", idCipher, proc(`C:\Windows\System32\cipher.exe`, `cipher /w:C:\`), true, event.ClassDestructive},
		{"cipher /e", idCipher, proc(`C:\Windows\System32\cipher.exe`, `cipher /e secret`), false, ""},
		{"mass rename to .locked", idRansom, series(50, 0.5, func(i int, e *event.Event) {
			*e = event.Event{EventCategory: "file", EventType: "change", EventAction: "rename", HostName: "fs1", FilePath: fmt.Sprintf(`D:\share\doc%d.docx.locked`, i), FileExtension: "locked"}
		}), true, event.ClassDestructive},
		{"49 renames", idRansom, series(49, 0.5, func(i int, e *event.Event) {
			*e = event.Event{EventCategory: "file", HostName: "fs1", FileExtension: "locked"}
		}), false, ""},
		{"mass rename to .docx", idRansom, series(60, 0.5, func(i int, e *event.Event) {
			*e = event.Event{EventCategory: "file", HostName: "fs1", FilePath: `D:\share\x.docx`, FileExtension: "docx"}
		}), false, ""},
		{"net stop vss", idSvcStop, proc(`C:\Windows\System32\net.exe`, `net stop vss /y`), true, event.ClassDestructive},
		{"sc config mssql disabled", idSvcStop, proc(`C:\Windows\System32\sc.exe`, `sc config "MSSQLSERVER" start= disabled`), true, event.ClassDestructive},
		{"net stop spooler", idSvcStop, proc(`C:\Windows\System32\net.exe`, `net stop spooler`), false, ""},
		{"sc query sql", idSvcStop, proc(`C:\Windows\System32\sc.exe`, `sc query MSSQLSERVER`), false, ""},
		{"raw physical drive", idRawDisk, proc(`C:\tools\dd.exe`, `dd.exe if=\\.\PhysicalDrive0 of=mbr.bin bs=512 count=1`), true, event.ClassDestructive},
		{"diskpart list", idRawDisk, proc(`C:\Windows\System32\diskpart.exe`, `diskpart /s list.txt`), false, ""},
		{"syn flood", idSynFlood, series(10, 1, func(i int, e *event.Event) {
			*e = tcp(fmt.Sprintf("198.18.%d.1", i), "10.0.0.80", 443)
			e.NetworkPackets = 10000
		}), true, event.ClassDestructive},
		{"completed tcp flows", idSynFlood, series(10, 1, func(i int, e *event.Event) {
			*e = tcp("10.5.5.5", "10.0.0.80", 443)
			e.NetworkPackets, e.EventOutcome = 10000, "success"
		}), false, ""},
		{"udp flood", idUDPFlood, series(4, 1, func(i int, e *event.Event) {
			*e = event.Event{EventCategory: "network", NetworkTransport: "udp", SourceIP: "198.18.0.1", DestinationIP: "10.0.0.53", DestinationPort: 53, NetworkPackets: 30000}
		}), true, event.ClassDestructive},
		{"udp below threshold", idUDPFlood, series(3, 1, func(i int, e *event.Event) {
			*e = event.Event{EventCategory: "network", NetworkTransport: "udp", SourceIP: "198.18.0.1", DestinationIP: "10.0.0.53", DestinationPort: 53, NetworkPackets: 30000}
		}), false, ""},
		{"modbus write from office host", idModbus, []event.Event{{Timestamp: t0, EventCategory: "network", SourceIP: "10.9.9.9", DestinationIP: "10.50.0.10", DestinationPort: 502, ICSProtocol: "modbus", ICSFunction: "write_single_register", ICSFunctionCode: 6}}, true, event.ClassDestructive},
		{"modbus write by code only", idModbus, []event.Event{{Timestamp: t0, EventCategory: "network", SourceIP: "10.9.9.9", ICSProtocol: "modbus", ICSFunctionCode: 16}}, true, event.ClassDestructive},
		{"modbus read", idModbus, []event.Event{{Timestamp: t0, EventCategory: "network", SourceIP: "10.9.9.9", ICSProtocol: "modbus", ICSFunction: "read_holding_registers", ICSFunctionCode: 3}}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rs.NewCorrelator()
			var fired []event.Signal
			for i := range tc.events {
				c.Observe(&tc.events[i], event.Evidence{Offset: int64(i)}, func(s event.Signal) {
					if s.RuleID == tc.rule {
						fired = append(fired, s)
					}
				})
			}
			if got := len(fired) > 0; got != tc.fire {
				t.Fatalf("fired %v, want %v", got, tc.fire)
			}
			if tc.fire {
				if len(fired) != 1 {
					t.Errorf("fired %d times, want once", len(fired))
				}
				if fired[0].Class != tc.class {
					t.Errorf("class %s, want %s", fired[0].Class, tc.class)
				}
				if len(fired[0].Techniques) == 0 {
					t.Error("no techniques")
				}
			}
		})
	}
}

func TestModbusEngineeringHosts(t *testing.T) {
	rs := load(t, map[string][]string{"engineering_hosts": {"10.50.1.0/24"}})
	for _, tc := range []struct {
		src  string
		fire bool
	}{{"10.50.1.20", false}, {"10.50.2.20", true}} {
		ev := event.Event{Timestamp: t0, EventCategory: "network", SourceIP: tc.src, ICSProtocol: "modbus", ICSFunctionCode: 5}
		fired := false
		rs.Match(&ev, event.Evidence{}, func(s event.Signal) { fired = fired || s.RuleID == idModbus })
		if fired != tc.fire {
			t.Errorf("write from %s fired %v, want %v", tc.src, fired, tc.fire)
		}
	}
	if _, _, err := sigma.LoadFS(rules.FS(), sigma.Options{}); err == nil {
		t.Error("built-in rules compiled without the engineering_hosts placeholder")
	}
}

// TestReadme checks README.md lists every built-in rule.
func TestReadme(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range load(t, rules.DefaultPlaceholders()).Rules() {
		if r.Emits && !strings.Contains(string(b), r.ID) {
			t.Errorf("README.md does not list %s (%s)", r.ID, r.Title)
		}
	}
}

// TestRuleMetadata holds the built-in rules to the project's conventions.
func TestRuleMetadata(t *testing.T) {
	for _, r := range load(t, rules.DefaultPlaceholders()).Rules() {
		if len(r.ID) != 36 || r.Title == "" || r.Level == "" {
			t.Errorf("%s %q: needs a UUID id, a title and a level", r.ID, r.Title)
		}
		if r.Emits && len(r.Techniques) == 0 {
			t.Errorf("%s %q: emitting rule without ATT&CK techniques", r.ID, r.Title)
		}
	}
}
