package winevt

import "strings"

// The tables below follow the Sigma taxonomy appendix (version 2.1.0,
// "Windows Folder"): a rule's logsource service names an event log channel,
// and a generic category names a channel and event ids. README.md documents
// the same rows; a test keeps the two in step.

// channelService is one row of the channel → Sigma service table. A
// channel ending in "/*" matches every channel with that prefix.
type channelService struct {
	channel string
	service string
}

func channelServices() []channelService {
	return []channelService{
		{"Security", "security"},
		{"System", "system"},
		{"Application", "application"},
		{"Microsoft-Windows-Sysmon/Operational", "sysmon"},
		{"Microsoft-Windows-PowerShell/Operational", "powershell"},
		{"PowerShellCore/Operational", "powershell"},
		{"Windows PowerShell", "powershell-classic"},
		{"Microsoft-Windows-Windows Defender/Operational", "windefend"},
		{"Microsoft-Windows-TaskScheduler/Operational", "taskscheduler"},
		{"Microsoft-Windows-WMI-Activity/Operational", "wmi"},
		{"Microsoft-Windows-DNS Client Events/Operational", "dns-client"},
		{"Microsoft-Windows-DNS-Client/Operational", "dns-client"},
		{"Microsoft-Windows-Bits-Client/Operational", "bits-client"},
		{"Microsoft-Windows-CodeIntegrity/Operational", "codeintegrity-operational"},
		{"Microsoft-Windows-AppLocker/*", "applocker"},
		{"Microsoft-Windows-DriverFrameworks-UserMode/Operational", "driver-framework"},
		{"Microsoft-Windows-NTLM/Operational", "ntlm"},
		{"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall", "firewall-as"},
		{"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational", "terminalservices-localsessionmanager"},
		{"Microsoft-Windows-Application-Experience/Program-Telemetry", "application-experience"},
		{"Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant", "application-experience"},
		{"Microsoft-Windows-AppModel-Runtime/Admin", "appmodel-runtime"},
		{"Microsoft-Windows-AppXDeploymentServer/Operational", "appxdeployment-server"},
		{"Microsoft-Windows-AppxPackaging/Operational", "appxpackaging-om"},
		{"Microsoft-Windows-BitLocker/BitLocker Management", "bitlocker"},
		{"Microsoft-Windows-CAPI2/Operational", "capi2"},
		{"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational", "certificateservicesclient-lifecycle-system"},
		{"Microsoft-Windows-DHCP-Server/Operational", "dhcp"},
		{"Microsoft-Windows-Diagnosis-Scripted/Operational", "diagnosis-scripted"},
		{"DNS Server", "dns-server"},
		{"Microsoft-Windows-DNS-Server/Analytical", "dns-server-analytic"},
		{"Microsoft-Windows-DNS-Server/Audit", "dns-server-audit"},
		{"Microsoft-Windows-Hyper-V-Worker", "hyper-v-worker"},
		{"Microsoft-IIS-Configuration/Operational", "iis-configuration"},
		{"Microsoft-Windows-Kernel-EventTracing", "kernel-event-tracing"},
		{"Microsoft-Windows-Kernel-ShimEngine/Operational", "kernel-shimengine"},
		{"Microsoft-Windows-Kernel-ShimEngine/Diagnostic", "kernel-shimengine"},
		{"Microsoft-Windows-LDAP-Client/Debug", "ldap"},
		{"Microsoft-Windows-LSA/Operational", "lsa-server"},
		{"MSExchange Management", "msexchange-management"},
		{"Microsoft-Windows-Ntfs/Operational", "ntfs"},
		{"OpenSSH/Operational", "openssh"},
		{"Microsoft-Windows-PrintService/Admin", "printservice-admin"},
		{"Microsoft-Windows-PrintService/Operational", "printservice-operational"},
		{"Microsoft-Windows-Security-Mitigations/Kernel Mode", "security-mitigations"},
		{"Microsoft-Windows-Security-Mitigations/User Mode", "security-mitigations"},
		{"Microsoft-Windows-SENSE/Operational", "sense"},
		{"Microsoft-ServiceBus-Client/Operational", "servicebus-client"},
		{"Microsoft-ServiceBus-Client/Admin", "servicebus-client"},
		{"Microsoft-Windows-Shell-Core/Operational", "shell-core"},
		{"Microsoft-Windows-SmbClient/Security", "smbclient-security"},
		{"Microsoft-Windows-SmbClient/Connectivity", "smbclient-connectivity"},
		{"Microsoft-Windows-SMBServer/Connectivity", "smbserver-connectivity"},
		{"Microsoft-Windows-VHDMP/Operational", "vhdmp"},
	}
}

// eventCategory is one row of the (service, event id) → Sigma category
// table.
type eventCategory struct {
	service  string
	id       uint32
	category string
}

// Sysmon event 12 is registry_add or registry_delete by its EventType; see
// registryCategory.
const sysmonRegistryAddDelete = 12

func eventCategories() []eventCategory {
	return []eventCategory{
		{"sysmon", 1, "process_creation"},
		{"sysmon", 2, "file_change"},
		{"sysmon", 3, "network_connection"},
		{"sysmon", 4, "sysmon_status"},
		{"sysmon", 5, "process_termination"},
		{"sysmon", 6, "driver_load"},
		{"sysmon", 7, "image_load"},
		{"sysmon", 8, "create_remote_thread"},
		{"sysmon", 9, "raw_access_thread"},
		{"sysmon", 10, "process_access"},
		{"sysmon", 11, "file_event"},
		{"sysmon", 13, "registry_set"},
		{"sysmon", 14, "registry_rename"},
		{"sysmon", 15, "create_stream_hash"},
		{"sysmon", 16, "sysmon_status"},
		{"sysmon", 17, "pipe_created"},
		{"sysmon", 18, "pipe_created"},
		{"sysmon", 19, "wmi_event"},
		{"sysmon", 20, "wmi_event"},
		{"sysmon", 21, "wmi_event"},
		{"sysmon", 22, "dns_query"},
		{"sysmon", 23, "file_delete"},
		{"sysmon", 24, "clipboard_capture"},
		{"sysmon", 25, "process_tampering"},
		{"sysmon", 26, "file_delete_detected"},
		{"sysmon", 27, "file_block_executable"},
		{"sysmon", 28, "file_block_shredding"},
		{"sysmon", 29, "file_executable_detected"},
		{"sysmon", 255, "sysmon_error"},
		{"security", 4688, "process_creation"},
		{"powershell", 4103, "ps_module"},
		{"powershell", 4104, "ps_script"},
		{"powershell-classic", 400, "ps_classic_start"},
		{"powershell-classic", 600, "ps_classic_provider_start"},
		{"powershell-classic", 800, "ps_classic_script"},
		// Defender detections that carry a threat name and path, the ids
		// Sigma's antivirus category stands for on Windows.
		{"windefend", 1006, "antivirus"},
		{"windefend", 1007, "antivirus"},
		{"windefend", 1008, "antivirus"},
		{"windefend", 1009, "antivirus"},
		{"windefend", 1010, "antivirus"},
		{"windefend", 1011, "antivirus"},
		{"windefend", 1012, "antivirus"},
		{"windefend", 1017, "antivirus"},
		{"windefend", 1018, "antivirus"},
		{"windefend", 1019, "antivirus"},
		{"windefend", 1115, "antivirus"},
		{"windefend", 1116, "antivirus"},
	}
}

// registryCategory names Sysmon event 12 by its EventType: DeleteKey and
// DeleteValue are registry_delete, everything else (CreateKey, CreateValue,
// or no EventType) registry_add.
func registryCategory(eventType string) string {
	if len(eventType) >= 6 && strings.EqualFold(eventType[:6], "delete") {
		return "registry_delete"
	}
	return "registry_add"
}

// tables is the lookup form of the tables above, built once by New.
type tables struct {
	services   map[string]string // channel, as spelled and lower case → service
	prefixes   []channelService  // lower-case channel prefix → service
	categories map[catKey]string
}

type catKey struct {
	service string
	id      uint32
}

func newTables() tables {
	t := tables{services: map[string]string{}, categories: map[catKey]string{}}
	for _, r := range channelServices() {
		ch := strings.ToLower(r.channel)
		if p, ok := strings.CutSuffix(ch, "*"); ok {
			t.prefixes = append(t.prefixes, channelService{p, r.service})
			continue
		}
		// The channel as spelled in the table is looked up first, without
		// lower-casing the record's channel.
		t.services[r.channel] = r.service
		t.services[ch] = r.service
	}
	for _, r := range eventCategories() {
		t.categories[catKey{r.service, r.id}] = r.category
	}
	return t
}

// service returns the Sigma service of a channel; channel names compare
// case-insensitively, as Windows treats them.
func (t *tables) service(channel string) string {
	if channel == "" {
		return ""
	}
	if s, ok := t.services[channel]; ok {
		return s
	}
	ch := strings.ToLower(channel)
	if s, ok := t.services[ch]; ok {
		return s
	}
	for _, p := range t.prefixes {
		if strings.HasPrefix(ch, p.channel) {
			return p.service
		}
	}
	return ""
}

// category returns the Sigma category of an event of service with id; the
// registry event type decides Sysmon event 12.
func (t *tables) category(service string, id uint32, eventType string) string {
	if service == "sysmon" && id == sysmonRegistryAddDelete {
		return registryCategory(eventType)
	}
	return t.categories[catKey{service, id}]
}
