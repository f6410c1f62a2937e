package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/casus-sec/casus/internal/config"
)

const (
	helmChart     = "helm/casus"
	helmRulesCopy = "helm/casus/files/casus-rules.yml"
	helmRulesFile = "prometheus/casus-rules.yml"
	helmBadValues = "testdata/helm"
	// helmKubeVersion is passed to helm template: a helm built with
	// `go install` assumes Kubernetes 1.20, older than the chart allows.
	helmKubeVersion = "1.30.0"
	helmBrokers     = "kafka:\n  brokers: [kafka-bootstrap.kafka.svc:9092]\n"
)

// helmObject is one rendered Kubernetes object, as decoded from YAML.
type helmObject = map[string]any

// helmBin returns the helm binary the tests that render the chart use, or
// skips the test.
func helmBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("CASUS_HELM")
	if bin == "" {
		t.Skip("CASUS_HELM is not set: these tests render the chart with helm; deploy/helm/check.sh installs helm v3.22.0 and sets it")
	}
	return bin
}

// helmValues writes values (YAML) to a file for helm's -f.
func helmValues(t *testing.T, values string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// helmTemplate renders the chart with the given values files and returns
// its objects, or the error helm reported.
func helmTemplate(t *testing.T, valueFiles ...string) ([]helmObject, error) {
	t.Helper()
	args := []string{"template", "casus", helmChart, "--namespace", "soc", "--kube-version", helmKubeVersion}
	for _, f := range valueFiles {
		args = append(args, "-f", f)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helmBin(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, errors.New(strings.TrimSpace(stderr.String()))
	}
	dec := yaml.NewDecoder(&stdout)
	var objs []helmObject
	for {
		var o helmObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			t.Fatalf("decoding helm template output: %v", err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
}

// helmRender is helmTemplate for values that must render.
func helmRender(t *testing.T, valueFiles ...string) []helmObject {
	t.Helper()
	objs, err := helmTemplate(t, valueFiles...)
	if err != nil {
		t.Fatalf("helm template %v: %v", valueFiles, err)
	}
	return objs
}

// helmDefaults renders the chart's defaults plus the required brokers.
func helmDefaults(t *testing.T) []helmObject {
	t.Helper()
	return helmRender(t, helmValues(t, helmBrokers))
}

func helmFull(t *testing.T) []helmObject {
	t.Helper()
	return helmRender(t, filepath.Join(helmChart, "ci", "full-values.yaml"))
}

// helmGet walks a decoded object along keys (map keys, or list indexes as
// ints); nil when the path does not exist.
func helmGet(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func helmMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func helmList(v any) []any {
	l, _ := v.([]any)
	return l
}

// helmFind returns the objects of a kind.
func helmFind(objs []helmObject, kind string) []helmObject {
	var out []helmObject
	for _, o := range objs {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

// helmOne returns the one object of a kind.
func helmOne(t *testing.T, objs []helmObject, kind string) helmObject {
	t.Helper()
	found := helmFind(objs, kind)
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(found), kind)
	}
	return found[0]
}

// helmContainer returns the Deployment's casus container.
func helmContainer(t *testing.T, objs []helmObject) map[string]any {
	t.Helper()
	containers := helmList(helmGet(helmOne(t, objs, "Deployment"), "spec", "template", "spec", "containers"))
	if len(containers) != 1 {
		t.Fatalf("%d containers, want 1", len(containers))
	}
	return helmMap(containers[0])
}

// helmEnv returns the environment the casus container starts with: the
// ConfigMaps it reads with envFrom, then its env (which wins).
func helmEnv(t *testing.T, objs []helmObject) map[string]string {
	t.Helper()
	c := helmContainer(t, objs)
	env := map[string]string{}
	for _, from := range helmList(c["envFrom"]) {
		name, _ := helmGet(from, "configMapRef", "name").(string)
		cm := helmConfigMap(t, objs, name)
		for k, v := range helmMap(cm["data"]) {
			env[k] = v.(string)
		}
	}
	for _, e := range helmList(c["env"]) {
		name, _ := helmGet(e, "name").(string)
		value, _ := helmGet(e, "value").(string)
		env[name] = value
	}
	return env
}

func helmConfigMap(t *testing.T, objs []helmObject, name string) helmObject {
	t.Helper()
	for _, cm := range helmFind(objs, "ConfigMap") {
		if helmGet(cm, "metadata", "name") == name {
			return cm
		}
	}
	t.Fatalf("no ConfigMap %q rendered", name)
	return nil
}

// TestHelmProbes checks that the probes ask casus's own endpoints on the
// port casus listens on.
func TestHelmProbes(t *testing.T) {
	objs := helmDefaults(t)
	c := helmContainer(t, objs)
	ports := helmList(c["ports"])
	if len(ports) != 1 || helmGet(ports[0], "name") != "metrics" || helmGet(ports[0], "containerPort") != 9464 {
		t.Fatalf("container ports = %v, want one named metrics on 9464", ports)
	}
	if got := helmEnv(t, objs)["CASUS_METRICS_ADDR"]; got != "0.0.0.0:9464" {
		t.Errorf("CASUS_METRICS_ADDR = %q, want 0.0.0.0:9464 (the container port, on every interface)", got)
	}
	for _, tc := range []struct{ probe, path string }{
		{"readinessProbe", "/readyz"},
		{"livenessProbe", "/healthz"},
		{"startupProbe", "/healthz"},
	} {
		get := helmMap(helmGet(c, tc.probe, "httpGet"))
		if get == nil {
			t.Errorf("%s: no httpGet", tc.probe)
			continue
		}
		if get["path"] != tc.path || get["port"] != "metrics" {
			t.Errorf("%s: GET %v on port %v, want %s on port metrics", tc.probe, get["path"], get["port"], tc.path)
		}
		if p, _ := helmGet(c, tc.probe, "periodSeconds").(int); p <= 0 {
			t.Errorf("%s: periodSeconds %v, want it set", tc.probe, helmGet(c, tc.probe, "periodSeconds"))
		}
	}
	// Restoring state takes a while: the startup probe allows minutes.
	period, _ := helmGet(c, "startupProbe", "periodSeconds").(int)
	failures, _ := helmGet(c, "startupProbe", "failureThreshold").(int)
	if period*failures < 120 {
		t.Errorf("startupProbe allows %ds to start, want at least 2 minutes", period*failures)
	}
	svc := helmOne(t, objs, "Service")
	sp := helmList(helmGet(svc, "spec", "ports"))
	if len(sp) != 1 || helmGet(sp[0], "targetPort") != "metrics" || helmGet(sp[0], "name") != "metrics" {
		t.Errorf("Service ports = %v, want one named metrics targeting the metrics port", sp)
	}
	if helmGet(svc, "spec", "type") != "ClusterIP" {
		t.Errorf("Service type = %v, want ClusterIP", helmGet(svc, "spec", "type"))
	}
}

// TestHelmSecurityContext checks the hardening that casus's image and its
// key checks rely on.
func TestHelmSecurityContext(t *testing.T) {
	helmBin(t)
	for _, values := range []string{"default", "full"} {
		t.Run(values, func(t *testing.T) {
			objs := helmDefaults(t)
			if values == "full" {
				objs = helmFull(t)
			}
			sc := helmMap(helmContainer(t, objs)["securityContext"])
			for _, tc := range []struct {
				key  []any
				want any
			}{
				{[]any{"runAsNonRoot"}, true},
				{[]any{"runAsUser"}, 65532},
				{[]any{"runAsGroup"}, 65532},
				{[]any{"readOnlyRootFilesystem"}, true},
				{[]any{"allowPrivilegeEscalation"}, false},
				{[]any{"capabilities", "drop"}, []any{"ALL"}},
				{[]any{"seccompProfile", "type"}, "RuntimeDefault"},
			} {
				if got := helmGet(sc, tc.key...); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("container securityContext %v = %v, want %v", tc.key, got, tc.want)
				}
			}
			if add := helmGet(sc, "capabilities", "add"); add != nil {
				t.Errorf("container adds capabilities %v", add)
			}
			pod := helmGet(helmOne(t, objs, "Deployment"), "spec", "template", "spec")
			for _, tc := range []struct {
				key  []any
				want any
			}{
				{[]any{"securityContext", "fsGroup"}, 65532},
				{[]any{"securityContext", "runAsNonRoot"}, true},
				{[]any{"securityContext", "seccompProfile", "type"}, "RuntimeDefault"},
				{[]any{"automountServiceAccountToken"}, false},
			} {
				if got := helmGet(pod, tc.key...); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("pod %v = %v, want %v", tc.key, got, tc.want)
				}
			}
			sa := helmOne(t, objs, "ServiceAccount")
			if sa["automountServiceAccountToken"] != false {
				t.Errorf("ServiceAccount automountServiceAccountToken = %v, want false", sa["automountServiceAccountToken"])
			}
			if helmGet(pod, "serviceAccountName") != helmGet(sa, "metadata", "name") {
				t.Errorf("pod runs as %v, the chart creates %v", helmGet(pod, "serviceAccountName"), helmGet(sa, "metadata", "name"))
			}
		})
	}
}

// helmVarNames are the names of casus's configuration variables.
func helmVarNames() map[string]config.Var {
	vars := map[string]config.Var{}
	for _, v := range config.Vars() {
		vars[v.Name] = v
	}
	return vars
}

// TestHelmVariablesExist checks that every CASUS_* variable the chart sets,
// with any of its ci values, is one casus reads: a misspelt one would be
// ignored.
func TestHelmVariablesExist(t *testing.T) {
	helmBin(t)
	vars := helmVarNames()
	files, err := filepath.Glob(filepath.Join(helmChart, "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci values files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			objs := helmRender(t, f)
			c := helmContainer(t, objs)
			var names []string
			for _, from := range helmList(c["envFrom"]) {
				name, _ := helmGet(from, "configMapRef", "name").(string)
				for k := range helmMap(helmConfigMap(t, objs, name)["data"]) {
					if !strings.HasPrefix(k, config.Prefix+"_") {
						t.Errorf("ConfigMap %s holds %s, not a casus variable", name, k)
					}
					names = append(names, k)
				}
			}
			for _, e := range helmList(c["env"]) {
				if name, _ := helmGet(e, "name").(string); strings.HasPrefix(name, config.Prefix+"_") {
					names = append(names, name)
				}
			}
			if len(names) == 0 {
				t.Fatal("the container gets no CASUS_* variable")
			}
			for _, n := range names {
				if _, ok := vars[n]; !ok {
					t.Errorf("the chart sets %s, which casus does not read", n)
				}
			}
		})
	}
}

// TestHelmVariablesInTemplates checks every CASUS_* name written in the
// templates, including those only some values render.
func TestHelmVariablesInTemplates(t *testing.T) {
	vars := helmVarNames()
	files, err := filepath.Glob(filepath.Join(helmChart, "templates", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	re := regexp.MustCompile(`\bCASUS_[A-Z0-9_]*[A-Z0-9]\b`)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range re.FindAllString(string(b), -1) {
			seen++
			if _, ok := vars[n]; !ok {
				t.Errorf("%s names %s, which casus does not read", f, n)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no CASUS_* name in the templates")
	}
}

// TestHelmSchemaConfig checks that values.schema.json accepts in config
// exactly casus's variables, each with a type that fits it.
func TestHelmSchemaConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(helmChart, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Config struct {
				Properties           map[string]map[string]any `json:"properties"`
				AdditionalProperties *bool                     `json:"additionalProperties"`
			} `json:"config"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	cfg := schema.Properties.Config
	if cfg.AdditionalProperties == nil || *cfg.AdditionalProperties {
		t.Error("config accepts any key: a misspelt variable would pass helm lint")
	}
	for _, v := range config.Vars() {
		p, ok := cfg.Properties[v.Name]
		if !ok {
			t.Errorf("config does not accept %s (add it to values.schema.json)", v.Name)
			continue
		}
		want := map[string]string{"bool": "#/definitions/envBool", "int": "#/definitions/envInt", "duration": "#/definitions/envDuration"}[v.Type]
		if want == "" && strings.Contains(v.Type, "|") && !strings.HasPrefix(v.Type, "list of") {
			var allowed []string
			for _, a := range strings.Split(v.Type, "|") {
				allowed = append(allowed, strings.Trim(a, `"`))
			}
			got, _ := json.Marshal(p["enum"])
			if w, _ := json.Marshal(allowed); !bytes.Equal(got, w) {
				t.Errorf("config.%s: enum %s, want %s", v.Name, got, w)
			}
			continue
		}
		if want == "" {
			want = "#/definitions/envString"
		}
		if p["$ref"] != want {
			t.Errorf("config.%s (%s): schema %v, want $ref %s", v.Name, v.Type, p, want)
		}
	}
	vars := helmVarNames()
	for name := range cfg.Properties {
		if _, ok := vars[name]; !ok {
			t.Errorf("config accepts %s, which casus does not read", name)
		}
	}
}

// helmMountFor finds the volume mount holding path: the mount with the
// longest mountPath that is path or a directory above it. It returns the
// mount and path relative to its mountPath ("" for the directory itself).
func helmMountFor(c map[string]any, p string) (map[string]any, string) {
	var best map[string]any
	rel := ""
	for _, m := range helmList(c["volumeMounts"]) {
		mp, _ := helmGet(m, "mountPath").(string)
		if mp == "" || (p != mp && !strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/")) {
			continue
		}
		if best == nil || len(mp) > len(best["mountPath"].(string)) {
			best, rel = helmMap(m), strings.TrimPrefix(strings.TrimPrefix(p, mp), "/")
		}
	}
	return best, rel
}

func helmVolume(t *testing.T, objs []helmObject, name string) map[string]any {
	t.Helper()
	for _, v := range helmList(helmGet(helmOne(t, objs, "Deployment"), "spec", "template", "spec", "volumes")) {
		if helmGet(v, "name") == name {
			return helmMap(v)
		}
	}
	t.Fatalf("no volume %q", name)
	return nil
}

// TestHelmFilesMounted checks that every file variable names a file that a
// mounted volume holds, taken from the Secret or ConfigMap key the values
// name, and that Secret files are group-readable only.
func TestHelmFilesMounted(t *testing.T) {
	helmBin(t)
	type source struct{ kind, name, key string } // key "" for a whole directory
	for _, tc := range []struct {
		values string
		want   map[string]source
	}{
		{"full-values.yaml", map[string]source{
			"CASUS_KAFKA_TLS_CA_FILE":        {"secret", "casus-kafka-tls", "ca.crt"},
			"CASUS_KAFKA_TLS_CERT_FILE":      {"secret", "casus-kafka-tls", "tls.crt"},
			"CASUS_KAFKA_TLS_KEY_FILE":       {"secret", "casus-kafka-tls", "tls.key"},
			"CASUS_KAFKA_SASL_USERNAME_FILE": {"secret", "casus-kafka-sasl", "user"},
			"CASUS_KAFKA_SASL_PASSWORD_FILE": {"secret", "casus-kafka-sasl", "password"},
			"CASUS_SIGNING_KEY_FILE":         {"secret", "casus-signing", "ed25519.pem"},
			"CASUS_POLICY_FILE":              {"configMap", "casus-full-policy", "policy.yaml"},
			"CASUS_ASSETS_FILE":              {"configMap", "casus-full-assets", "assets.yaml"},
			"CASUS_INTEL_FILE":               {"configMap", "casus-full-intel", "intel.yaml"},
			"CASUS_RULES_DIRS":               {"configMap", "casus-full-rules", ""},
		}},
		{"existing-values.yaml", map[string]source{
			"CASUS_KAFKA_SASL_USERNAME_FILE": {"secret", "msk-credentials", "username"},
			"CASUS_KAFKA_SASL_PASSWORD_FILE": {"secret", "msk-credentials", "password"},
			"CASUS_POLICY_FILE":              {"configMap", "soc-policy", "severity.yaml"},
			"CASUS_ASSETS_FILE":              {"configMap", "soc-cmdb-export", "assets.yaml"},
			"CASUS_INTEL_FILE":               {"configMap", "soc-intel", "intel.yaml"},
			"CASUS_RULES_DIRS":               {"configMap", "soc-sigma-rules", ""},
		}},
		{"default-values.yaml", map[string]source{}},
	} {
		t.Run(tc.values, func(t *testing.T) {
			objs := helmRender(t, filepath.Join(helmChart, "ci", tc.values))
			env := helmEnv(t, objs)
			c := helmContainer(t, objs)
			for name, value := range env {
				if _, ok := tc.want[name]; !ok && (strings.HasSuffix(name, "_FILE") || name == "CASUS_RULES_DIRS") {
					t.Errorf("%s=%s set, not expected with these values", name, value)
				}
			}
			for name, src := range tc.want {
				p, ok := env[name]
				if !ok {
					t.Errorf("%s is not set", name)
					continue
				}
				if !path.IsAbs(p) || path.Clean(p) != p {
					t.Errorf("%s=%q is not a clean absolute path", name, p)
					continue
				}
				m, rel := helmMountFor(c, p)
				if m == nil {
					t.Errorf("%s=%s: no volume is mounted there", name, p)
					continue
				}
				if sp, ok := m["subPath"]; ok {
					t.Errorf("%s=%s: mounted with subPath %v, which never sees updates", name, p, sp)
				}
				if m["readOnly"] != true {
					t.Errorf("%s=%s: mount %v is writable", name, p, m["name"])
				}
				vol := helmVolume(t, objs, m["name"].(string))
				v := helmMap(vol[src.kind])
				if v == nil {
					t.Errorf("%s=%s: volume %v is not a %s: %v", name, p, m["name"], src.kind, vol)
					continue
				}
				ref := v["name"]
				if src.kind == "secret" {
					ref = v["secretName"]
					// 0440: group-read through fsGroup; casus refuses
					// world-readable keys.
					if v["defaultMode"] != 0o440 {
						t.Errorf("%s: secret volume defaultMode %v, want 0440 (%d)", name, v["defaultMode"], 0o440)
					}
				}
				if ref != src.name {
					t.Errorf("%s=%s: from %s %v, want %s", name, p, src.kind, ref, src.name)
				}
				if src.key == "" {
					if rel != "" {
						t.Errorf("%s=%s: not the mounted directory itself (%s)", name, p, m["mountPath"])
					}
					continue
				}
				found := false
				for _, it := range helmList(v["items"]) {
					if helmGet(it, "path") == rel {
						found = true
						if helmGet(it, "key") != src.key {
							t.Errorf("%s=%s: file from key %v, want key %s", name, p, helmGet(it, "key"), src.key)
						}
					}
				}
				if !found {
					t.Errorf("%s=%s: volume %v projects no file %q (items %v)", name, p, m["name"], rel, v["items"])
				}
			}
		})
	}
}

// TestHelmNoSubPath checks that no mount uses subPath: the rules must
// hot-reload, and the other files must follow a ConfigMap or Secret update.
func TestHelmNoSubPath(t *testing.T) {
	for _, objs := range [][]helmObject{helmFull(t), helmRender(t, filepath.Join(helmChart, "ci", "existing-values.yaml"))} {
		c := helmContainer(t, objs)
		rules := false
		for _, m := range helmList(c["volumeMounts"]) {
			if _, ok := helmMap(m)["subPath"]; ok {
				t.Errorf("mount %v uses subPath", m)
			}
			if helmGet(m, "mountPath") == "/etc/casus/rules" {
				rules = true
			}
		}
		if !rules {
			t.Error("no rules directory mounted at /etc/casus/rules")
		}
	}
}

// helmPodTemplate returns the Deployment's pod template and its annotations.
func helmPodTemplate(t *testing.T, objs []helmObject) (map[string]any, map[string]any) {
	t.Helper()
	tpl := helmMap(helmGet(helmOne(t, objs, "Deployment"), "spec", "template"))
	return tpl, helmMap(helmGet(tpl, "metadata", "annotations"))
}

// TestHelmChecksums checks that a configuration change rolls the pods
// (the pod template changes) and a rules change does not (rules reload in
// place).
func TestHelmChecksums(t *testing.T) {
	base := helmBrokers + "config:\n  CASUS_LOG_LEVEL: info\nrules:\n  files:\n    a.yml: |\n      title: a\n"
	baseTpl, baseAnn := helmPodTemplate(t, helmRender(t, helmValues(t, base)))
	for _, key := range []string{"checksum/config", "checksum/context"} {
		if s, _ := baseAnn[key].(string); len(s) != 64 {
			t.Errorf("annotation %s = %q, want a sha256", key, baseAnn[key])
		}
	}
	for _, tc := range []struct {
		name, values string
		changed      string // the annotation that must change; "" for none
	}{
		{"config", strings.Replace(base, "CASUS_LOG_LEVEL: info", "CASUS_LOG_LEVEL: debug", 1), "checksum/config"},
		{"brokers", strings.Replace(base, "kafka-bootstrap.kafka.svc:9092", "kafka-0.kafka.svc:9092", 1), "checksum/config"},
		{"policy", base + "policy:\n  content: 'name: p'\n", "checksum/context"},
		{"rules", strings.Replace(base, "title: a", "title: b", 1), ""},
		{"another rule", base + "    b.yml: |\n      title: b\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := helmRender(t, helmValues(t, tc.values))
			tpl, ann := helmPodTemplate(t, objs)
			if tc.changed == "" {
				if !reflect.DeepEqual(tpl, baseTpl) {
					t.Errorf("a rules change alters the pod template, which would restart the pods:\n%v\n%v", tpl, baseTpl)
				}
				return
			}
			if ann[tc.changed] == baseAnn[tc.changed] {
				t.Errorf("%s unchanged by a %s change: the pods would keep the old settings", tc.changed, tc.name)
			}
		})
	}
	// And the rules did change, in their ConfigMap.
	objs := helmRender(t, helmValues(t, strings.Replace(base, "title: a", "title: b", 1)))
	if got := helmGet(helmConfigMap(t, objs, "casus-rules"), "data", "a.yml"); got != "title: b\n" {
		t.Errorf("rules ConfigMap a.yml = %q, want the new rule", got)
	}
}

// TestHelmAutoscaling checks the lag-driven HorizontalPodAutoscaler: absent
// by default, and with the full values scaling the Deployment on
// casus_consumer_lag, slowly down.
func TestHelmAutoscaling(t *testing.T) {
	def := helmDefaults(t)
	if hpa := helmFind(def, "HorizontalPodAutoscaler"); len(hpa) != 0 {
		t.Errorf("default values render a HorizontalPodAutoscaler")
	}
	if r := helmGet(helmOne(t, def, "Deployment"), "spec", "replicas"); r != 1 {
		t.Errorf("default replicas = %v, want 1", r)
	}

	full := helmFull(t)
	dep := helmOne(t, full, "Deployment")
	if r, ok := helmMap(helmGet(dep, "spec"))["replicas"]; ok {
		t.Errorf("with autoscaling the Deployment sets replicas %v, which would fight the autoscaler", r)
	}
	hpa := helmOne(t, full, "HorizontalPodAutoscaler")
	if hpa["apiVersion"] != "autoscaling/v2" {
		t.Errorf("apiVersion %v, want autoscaling/v2", hpa["apiVersion"])
	}
	spec := helmMap(hpa["spec"])
	target := helmMap(spec["scaleTargetRef"])
	if target["kind"] != "Deployment" || target["name"] != helmGet(dep, "metadata", "name") {
		t.Errorf("scaleTargetRef %v, want the Deployment %v", target, helmGet(dep, "metadata", "name"))
	}
	if spec["minReplicas"] != 2 || spec["maxReplicas"] != 12 {
		t.Errorf("replicas %v..%v, want 2..12 (full-values.yaml)", spec["minReplicas"], spec["maxReplicas"])
	}
	metrics := helmList(spec["metrics"])
	if len(metrics) != 1 {
		t.Fatalf("%d metrics, want 1", len(metrics))
	}
	m := helmMap(metrics[0])
	if m["type"] != "External" || helmGet(m, "external", "metric", "name") != "casus_consumer_lag" {
		t.Errorf("metric %v, want External casus_consumer_lag", m)
	}
	if _, ok := exported(t)["casus_consumer_lag"]; !ok {
		t.Error("casus does not export casus_consumer_lag")
	}
	sel := helmMap(helmGet(m, "external", "metric", "selector", "matchLabels"))
	svc := helmOne(t, full, "Service")
	if sel["service"] != helmGet(svc, "metadata", "name") || sel["topic"] != "edr" {
		t.Errorf("metric selector %v, want service=%v and the values' topic=edr", sel, helmGet(svc, "metadata", "name"))
	}
	if helmGet(m, "external", "target", "type") != "AverageValue" || helmGet(m, "external", "target", "averageValue") != "50000" {
		t.Errorf("target %v, want AverageValue 50000", helmGet(m, "external", "target"))
	}
	down, _ := helmGet(spec, "behavior", "scaleDown", "stabilizationWindowSeconds").(int)
	up, _ := helmGet(spec, "behavior", "scaleUp", "stabilizationWindowSeconds").(int)
	if down < 600 || down <= up {
		t.Errorf("scale-down stabilization %ds (scale-up %ds): a rebalance is costly, want at least 10 minutes and longer than scale-up", down, up)
	}
}

// TestHelmMonitoring checks the ServiceMonitor and PrometheusRule of the
// full values.
func TestHelmMonitoring(t *testing.T) {
	def := helmDefaults(t)
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if len(helmFind(def, kind)) != 0 {
			t.Errorf("default values render a %s, which needs the Prometheus Operator's CRDs", kind)
		}
	}
	if len(helmFind(def, "PodDisruptionBudget")) != 1 {
		t.Error("default values render no PodDisruptionBudget")
	} else if p := helmGet(helmOne(t, def, "PodDisruptionBudget"), "spec", "unhealthyPodEvictionPolicy"); p != "AlwaysAllow" {
		// A pod without partitions is never ready: counted, it would block drains.
		t.Errorf("PodDisruptionBudget unhealthyPodEvictionPolicy %v, want AlwaysAllow", p)
	}
	full := helmFull(t)
	sm := helmOne(t, full, "ServiceMonitor")
	ep := helmList(helmGet(sm, "spec", "endpoints"))
	if len(ep) != 1 || helmGet(ep[0], "port") != "metrics" || helmGet(ep[0], "path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %v, want port metrics path /metrics", ep)
	}
	// The rules select job="casus": the job label comes from the Service's
	// app.kubernetes.io/name.
	svc := helmOne(t, full, "Service")
	jobLabel, _ := helmGet(sm, "spec", "jobLabel").(string)
	if job := helmGet(svc, "metadata", "labels", jobLabel); job != "casus" {
		t.Errorf("scraped under job %v (jobLabel %q), want casus, the job the rules select", job, jobLabel)
	}
	for k, v := range helmMap(helmGet(sm, "spec", "selector", "matchLabels")) {
		if helmGet(svc, "metadata", "labels", k) != v {
			t.Errorf("ServiceMonitor selects %s=%v, the Service has %v", k, v, helmGet(svc, "metadata", "labels", k))
		}
	}

	pr := helmOne(t, full, "PrometheusRule")
	b, err := os.ReadFile(helmRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []any `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("%s: %v", helmRulesFile, err)
	}
	if len(file.Groups) == 0 || !reflect.DeepEqual(helmGet(pr, "spec", "groups"), any(file.Groups)) {
		t.Errorf("PrometheusRule groups differ from %s", helmRulesFile)
	}
	if helmGet(pr, "metadata", "labels", "release") != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule labels %v lack the values' release label", helmGet(pr, "metadata", "labels"))
	}
}

// TestHelmGoMemLimit checks GOMEMLIMIT against the memory limit.
func TestHelmGoMemLimit(t *testing.T) {
	helmBin(t)
	for _, tc := range []struct {
		name, values, want string // want "" for unset
	}{
		{"default", "", "966367641"}, // 90% of 1Gi
		{"Mi", "resources:\n  limits:\n    memory: 512Mi\n", "483183820"},
		{"decimal", "resources:\n  limits:\n    memory: 2G\ngoMemLimitPercent: 80\n", "1600000000"},
		{"fraction", "resources:\n  limits:\n    memory: 1.5Gi\n", "1449551462"},
		{"bytes", "resources:\n  limits:\n    memory: 1000000000\n", "900000000"},
		{"off", "goMemLimitPercent: 0\n", ""},
		// Helm merges maps with the defaults: null removes the default limit.
		{"no limit", "resources:\n  limits: null\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := helmRender(t, helmValues(t, helmBrokers), helmValues(t, tc.values))
			var got *string
			for _, e := range helmList(helmContainer(t, objs)["env"]) {
				if helmGet(e, "name") == "GOMEMLIMIT" {
					v, _ := helmGet(e, "value").(string)
					got = &v
				}
			}
			switch {
			case tc.want == "" && got != nil:
				t.Errorf("GOMEMLIMIT=%s, want it unset", *got)
			case tc.want != "" && got == nil:
				t.Errorf("GOMEMLIMIT unset, want %s", tc.want)
			case got != nil && *got != tc.want:
				t.Errorf("GOMEMLIMIT=%s, want %s", *got, tc.want)
			}
		})
	}
}

// TestHelmGracePeriod checks that Kubernetes waits longer than casus drains.
func TestHelmGracePeriod(t *testing.T) {
	for _, tc := range []struct {
		values string
		want   int
	}{
		{"", 45},
		{"config:\n  CASUS_GRACE_PERIOD: 1m\nterminationGracePeriodSeconds: 61\n", 61},
	} {
		objs := helmRender(t, helmValues(t, helmBrokers), helmValues(t, tc.values))
		if got := helmGet(helmOne(t, objs, "Deployment"), "spec", "template", "spec", "terminationGracePeriodSeconds"); got != tc.want {
			t.Errorf("values %q: terminationGracePeriodSeconds %v, want %d", tc.values, got, tc.want)
		}
	}
}

// TestHelmRefusesBadValues checks that the values in testdata/helm are
// refused with the message their first line names: lint-* by the schema
// (so helm lint fails), template-* by the chart's checks.
func TestHelmRefusesBadValues(t *testing.T) {
	bin := helmBin(t)
	files, err := filepath.Glob(filepath.Join(helmBadValues, "*.bad.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad values: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(b), "\n")
			expect, ok := strings.CutPrefix(first, "# expect: ")
			if !ok {
				t.Fatal("the first line must be '# expect: <error text>'")
			}
			var out []byte
			switch base := filepath.Base(f); {
			case strings.HasPrefix(base, "lint-"):
				out, err = exec.Command(bin, "lint", "--strict", helmChart, "-f", f).CombinedOutput()
			case strings.HasPrefix(base, "template-"):
				_, err = helmTemplate(t, f)
				if err != nil {
					out = []byte(err.Error())
				}
			default:
				t.Fatal("the name must start with lint- or template-")
			}
			if err == nil {
				t.Fatalf("accepted; want an error saying %q", expect)
			}
			if !strings.Contains(string(out), expect) {
				t.Errorf("error does not say %q:\n%s", expect, out)
			}
		})
	}
}

// helmLeaves lists the dotted keys of the leaves of a values document: the
// scalars, the lists and the empty maps.
func helmLeaves(n *yaml.Node, prefix string, out *[]string) {
	if n.Kind == yaml.DocumentNode {
		helmLeaves(n.Content[0], prefix, out)
		return
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		*out = append(*out, prefix)
		return
	}
	for i := 0; i < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if prefix != "" {
			key = prefix + "." + key
		}
		helmLeaves(n.Content[i+1], key, out)
	}
}

// TestHelmValuesDocumented checks that the chart README's values table has
// a row for every leaf of values.yaml, and no row for a value that does not
// exist.
func TestHelmValuesDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(helmChart, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	var leaves []string
	helmLeaves(&doc, "", &leaves)
	if len(leaves) < 50 {
		t.Fatalf("only %d leaves found in values.yaml", len(leaves))
	}
	readme, err := os.ReadFile(filepath.Join(helmChart, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "\n## Values\n")
	if !ok {
		t.Fatal("README has no \"## Values\" section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		if documented[m[1]] {
			t.Errorf("README documents %s twice", m[1])
		}
		documented[m[1]] = true
	}
	for _, l := range leaves {
		if !documented[l] {
			t.Errorf("README's values table lacks %s", l)
		}
	}
	for k := range documented {
		if !slices.Contains(leaves, k) {
			t.Errorf("README documents %s, which values.yaml does not have", k)
		}
	}
}

// TestHelmRulesFileCopy checks that the chart ships the same alerting and
// recording rules as deploy/prometheus.
func TestHelmRulesFileCopy(t *testing.T) {
	want, err := os.ReadFile(helmRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(helmRulesCopy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s: copy it (cp deploy/%s deploy/%s)", helmRulesCopy, helmRulesFile, helmRulesFile, helmRulesCopy)
	}
}
