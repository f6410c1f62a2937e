package scenario

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

//go:embed assets.yaml
var assetsYAML []byte

//go:embed intel.yaml
var intelYAML []byte

// AssetsYAML returns the scenario's asset inventory file.
func AssetsYAML() []byte { return slices.Clone(assetsYAML) }

// IntelYAML returns the scenario's intelligence file.
func IntelYAML() []byte { return slices.Clone(intelYAML) }

// Record is one telemetry record: the key names the site (the organisation's
// /16), so one site's records stay in order on one partition.
type Record struct {
	Key   []byte
	Value []byte
	Time  time.Time
}

// Config sizes the scenario.
type Config struct {
	// Benign is the number of benign background records (default 10,000).
	Benign int
	// Seed makes the background reproducible (default 1).
	Seed uint64
	// Start is the event time of the first record (default 2026-03-02T06:00:00Z).
	Start time.Time
}

// Span is how much event time the scenario covers.
const Span = 8 * time.Hour

// sites are the organisations' /16 prefixes, as in assets.yaml.
var sites = []string{"10.10", "10.20", "10.21", "10.22", "10.23", "10.30"}

// Generate returns the scenario's records in event-time order.
func Generate(cfg Config) []Record {
	if cfg.Benign <= 0 {
		cfg.Benign = 10000
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	}
	g := &gen{rnd: rand.New(rand.NewPCG(cfg.Seed, 0x636173757321)), t0: cfg.Start}
	for i := 0; i < cfg.Benign; i++ {
		g.benign(cfg.Start.Add(time.Duration(g.rnd.Int64N(int64(Span)))))
	}
	g.reconnaissance(cfg.Start.Add(30 * time.Minute))
	g.background(cfg.Start.Add(2 * time.Hour))
	g.ransomware(cfg.Start.Add(4 * time.Hour))
	g.destructiveWave(cfg.Start.Add(5 * time.Hour))
	slices.SortStableFunc(g.out, func(a, b Record) int { return a.Time.Compare(b.Time) })
	return g.out
}

type gen struct {
	rnd *rand.Rand
	t0  time.Time
	out []Record
}

type obj = map[string]any

func (g *gen) add(site string, t time.Time, ev obj) {
	ev["@timestamp"] = t.UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(ev)
	if err != nil {
		panic(fmt.Sprintf("scenario: marshal: %v", err)) // maps of strings and numbers always marshal
	}
	g.out = append(g.out, Record{Key: []byte(site), Value: b, Time: t})
}

func flow(src string, sport int, dst string, dport int, transport string, packets int64, outcome string) obj {
	return obj{
		"event":       obj{"kind": "event", "category": "network", "type": "connection", "outcome": outcome, "dataset": "network.flow"},
		"source":      obj{"ip": src, "port": sport},
		"destination": obj{"ip": dst, "port": dport},
		"network":     obj{"transport": transport, "packets": packets, "bytes": packets * 60},
		"observer":    obj{"vendor": "casus-scenario", "product": "flow-sensor", "type": "sensor"},
	}
}

func process(host, hostIP, remote, executable, name, commandLine, parent string) obj {
	ev := obj{
		"event":   obj{"kind": "event", "category": "process", "type": "start", "dataset": "windows.sysmon"},
		"host":    obj{"name": host, "ip": hostIP, "os": obj{"family": "windows"}},
		"process": obj{"executable": executable, "name": name, "command_line": commandLine, "parent": obj{"executable": parent}},
		"user":    obj{"name": "svc-admin"},
	}
	if remote != "" {
		// A command run through a remote session names the session's origin.
		ev["source"] = obj{"ip": remote}
	}
	return ev
}

func (g *gen) pick(xs []string) string { return xs[g.rnd.IntN(len(xs))] }

func (g *gen) benign(t time.Time) {
	site := g.pick(sites)
	switch k := g.rnd.IntN(100); {
	case k < 55: // ordinary client → server traffic
		ports := []int{443, 53, 445, 389, 88, 3389, 80}
		dport := ports[g.rnd.IntN(len(ports))]
		transport := "tcp"
		if dport == 53 {
			transport = "udp"
		}
		src := fmt.Sprintf("%s.1.%d", site, 10+g.rnd.IntN(240))
		dst := fmt.Sprintf("%s.0.%d", site, 10+g.rnd.IntN(10))
		g.add(site, t, flow(src, 49152+g.rnd.IntN(16000), dst, dport, transport, int64(3+g.rnd.IntN(400)), "success"))
	case k < 70: // internet visitors of the public web servers
		src := fmt.Sprintf("198.18.%d.%d", g.rnd.IntN(256), 1+g.rnd.IntN(254))
		g.add(site, t, flow(src, 49152+g.rnd.IntN(16000), site+".0.80", 443, "tcp", int64(10+g.rnd.IntN(300)), "success"))
	case k < 88: // everyday processes, some close to what the rules look for
		type p struct{ exe, name, cmd string }
		procs := []p{
			{`C:\Program Files\Google\Chrome\Application\chrome.exe`, "chrome.exe", `"chrome.exe" --type=renderer`},
			{`C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, "OUTLOOK.EXE", `"OUTLOOK.EXE" /recycle`},
			{`C:\Windows\System32\svchost.exe`, "svchost.exe", `svchost.exe -k netsvcs -p`},
			{`C:\Windows\System32\vssadmin.exe`, "vssadmin.exe", `vssadmin list shadows`},
			{`C:\Windows\System32\whoami.exe`, "whoami.exe", `whoami`},
			{`C:\Windows\System32\sc.exe`, "sc.exe", `sc query spooler`},
			{`C:\Windows\System32\net.exe`, "net.exe", `net use Z: \\fs01\share`},
			{`C:\Windows\System32\wbem\WMIC.exe`, "WMIC.exe", `wmic os get caption`},
			{`C:\Windows\System32\cipher.exe`, "cipher.exe", `cipher /e C:\Users\alice\private`},
			{`C:\Windows\System32\bcdedit.exe`, "bcdedit.exe", `bcdedit /enum`},
		}
		pr := procs[g.rnd.IntN(len(procs))]
		n := g.rnd.IntN(90)
		g.add(site, t, process(fmt.Sprintf("ws-%s-%d", site, n), fmt.Sprintf("%s.2.%d", site, 10+n), "", pr.exe, pr.name, pr.cmd, `C:\Windows\explorer.exe`))
	case k < 96: // office files saved
		exts := []string{"docx", "xlsx", "pdf", "pptx"}
		ext := g.pick(exts)
		n := g.rnd.IntN(90)
		g.add(site, t, obj{
			"event": obj{"kind": "event", "category": "file", "type": "change", "action": "rename", "dataset": "windows.sysmon"},
			"host":  obj{"name": fmt.Sprintf("ws-%s-%d", site, n), "ip": fmt.Sprintf("%s.2.%d", site, 10+n)},
			"file":  obj{"path": fmt.Sprintf(`C:\Users\staff\Documents\report-%d.%s`, g.rnd.IntN(1000), ext), "extension": ext},
		})
	default: // the utility's engineering workstation polling and setting PLCs
		fn, code := "read_holding_registers", 3
		if g.rnd.IntN(4) == 0 {
			fn, code = "write_single_register", 6
		}
		ev := flow("10.10.9.10", 49152+g.rnd.IntN(16000), fmt.Sprintf("10.10.5.%d", 10+g.rnd.IntN(5)), 502, "tcp", 4, "success")
		ev["ics"] = obj{"protocol": "modbus", "function": fn, "function_code": code, "unit_id": 1}
		ev["network"].(obj)["protocol"] = "modbus"
		g.add("10.10", t, ev)
	}
}

// reconnaissance: ELECTRUM-7 maps the utility and a bank.
func (g *gen) reconnaissance(t time.Time) {
	// Vertical scan of a utility server: 40 ports in 40 s.
	for i := 0; i < 40; i++ {
		g.add("10.10", t.Add(time.Duration(i)*time.Second), flow("203.0.113.10", 40000+i, "10.10.1.5", 20+i*7, "tcp", 1, "failure"))
	}
	// Horizontal scan of the bank's SMB servers: 50 hosts in 50 s.
	t = t.Add(20 * time.Minute)
	for i := 0; i < 50; i++ {
		g.add("10.20", t.Add(time.Duration(i)*time.Second), flow("203.0.113.11", 41000+i, fmt.Sprintf("10.20.0.%d", 100+i), 445, "tcp", 1, "failure"))
	}
	// Ping sweep of the utility's control network from the second cluster.
	t = t.Add(20 * time.Minute)
	for i := 0; i < 30; i++ {
		ev := flow("192.0.2.20", 0, fmt.Sprintf("10.10.5.%d", 1+i), 0, "icmp", 1, "success")
		ev["network"].(obj)["protocol"] = "icmp"
		ev["event"].(obj)["action"] = "echo_request"
		g.add("10.10", t.Add(time.Duration(i)*500*time.Millisecond), ev)
	}
	// Discovery inside the bank through a remote session.
	t = t.Add(15 * time.Minute)
	cmds := [][3]string{
		{`C:\Windows\System32\net.exe`, "net.exe", `net group "domain admins" /domain`},
		{`C:\Windows\System32\nltest.exe`, "nltest.exe", `nltest /domain_trusts /all_trusts`},
		{`C:\Windows\System32\whoami.exe`, "whoami.exe", `whoami /all`},
		{`C:\Users\Public\AdFind.exe`, "AdFind.exe", `AdFind.exe -f "(objectcategory=computer)"`},
	}
	for i, c := range cmds {
		g.add("10.20", t.Add(time.Duration(i)*time.Minute), process("fs-harbor-01", "10.20.3.21", "203.0.113.12", c[0], c[1], c[2], `C:\Windows\System32\cmd.exe`))
	}
	// Nmap's scripting engine against the utility's web server.
	t = t.Add(10 * time.Minute)
	for i := 0; i < 3; i++ {
		ev := flow("203.0.113.13", 42000+i, "10.10.0.80", 80, "tcp", 6, "success")
		ev["user_agent"] = obj{"original": "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"}
		ev["network"].(obj)["protocol"] = "http"
		g.add("10.10", t.Add(time.Duration(i)*time.Second), ev)
	}
}

// background: an unattributed scanner sweeps the retailer, as happens daily.
func (g *gen) background(t time.Time) {
	for i := 0; i < 25; i++ {
		g.add("10.30", t.Add(time.Duration(i)*2*time.Second), flow("198.18.200.7", 50000+i, "10.30.0.80", 1000+i, "tcp", 1, "failure"))
	}
}

// ransomware: a criminal group encrypts one retailer's file server.
func (g *gen) ransomware(t time.Time) {
	src := "198.51.100.23"
	g.add("10.30", t, process("fs-acme-01", "10.30.2.40", src, `C:\Windows\System32\vssadmin.exe`, "vssadmin.exe", `vssadmin.exe delete shadows /all /quiet`, `C:\Windows\System32\cmd.exe`))
	for i := 0; i < 60; i++ {
		g.add("10.30", t.Add(time.Minute+time.Duration(i)*500*time.Millisecond), obj{
			"event":  obj{"kind": "event", "category": "file", "type": "change", "action": "rename", "dataset": "windows.sysmon"},
			"host":   obj{"name": "fs-acme-01", "ip": "10.30.2.40"},
			"source": obj{"ip": src},
			"file":   obj{"path": fmt.Sprintf(`D:\shares\finance\ledger-%03d.xlsx.locked`, i), "extension": "locked"},
		})
	}
}

// destructiveWave: ELECTRUM-7 wipes four banks and manipulates the utility's PLCs.
func (g *gen) destructiveWave(t time.Time) {
	banks := []struct{ site, host string }{
		{"10.20", "fs-harbor-01"}, {"10.21", "fs-meridian-01"}, {"10.22", "fs-crown-01"}, {"10.23", "fs-pacific-01"},
	}
	cmds := [][3]string{
		{`C:\Windows\System32\net.exe`, "net.exe", `net stop "Veeam Backup Service" /y`},
		{`C:\Windows\System32\vssadmin.exe`, "vssadmin.exe", `vssadmin.exe delete shadows /all /quiet`},
		{`C:\Windows\System32\wbadmin.exe`, "wbadmin.exe", `wbadmin delete catalog -quiet`},
		{`C:\Windows\System32\bcdedit.exe`, "bcdedit.exe", `bcdedit /set {default} recoveryenabled No`},
		{`C:\Windows\System32\cipher.exe`, "cipher.exe", `cipher /w:D:\`},
		{`C:\ProgramData\perfsvc.exe`, "perfsvc.exe", `C:\ProgramData\perfsvc.exe -o \\.\PhysicalDrive0 -fill random`},
	}
	for b, bank := range banks {
		at := t.Add(time.Duration(b) * 10 * time.Minute)
		src := "203.0.113.50"
		if b%2 == 1 {
			src = "192.0.2.50"
		}
		hostIP := bank.site + ".3.21"
		for i, c := range cmds {
			g.add(bank.site, at.Add(time.Duration(i)*2*time.Minute), process(bank.host, hostIP, src, c[0], c[1], c[2], `C:\Windows\System32\cmd.exe`))
		}
	}
	// SYN flood against the first bank's web front while its servers are wiped.
	at := t.Add(3 * time.Minute)
	for i := 0; i < 30; i++ {
		ev := flow(fmt.Sprintf("203.0.113.%d", 100+i), 1024+i, "10.20.0.80", 443, "tcp", 8000, "failure")
		g.add("10.20", at.Add(time.Duration(i)*1500*time.Millisecond), ev)
	}
	// Modbus writes to the utility's PLCs from outside the engineering network.
	at = t.Add(45 * time.Minute)
	for i := 0; i < 5; i++ {
		ev := flow("203.0.113.70", 43000+i, "10.10.5.10", 502, "tcp", 4, "success")
		ev["ics"] = obj{"protocol": "modbus", "function": "write_single_register", "function_code": 6, "unit_id": 1}
		ev["network"].(obj)["protocol"] = "modbus"
		g.add("10.10", at.Add(time.Duration(i)*10*time.Second), ev)
	}
}
