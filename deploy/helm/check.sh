#!/usr/bin/env bash
# Checks the casus Helm chart (deploy/helm/casus) offline, with no cluster:
#
#   1. helm lint --strict with each values file in casus/ci/;
#   2. helm template with each of them, and every rendered document validated:
#      the Kubernetes kinds with kubernetes-validate --strict against the
#      OpenAPI schemas of Kubernetes $KUBE_VERSIONS (the oldest and newest this
#      chart is checked for), the monitoring.coreos.com kinds (ServiceMonitor,
#      PrometheusRule) with check-jsonschema against the CRD schemas of
#      prometheus-operator $PROMETHEUS_OPERATOR_VERSION, fetched as a Go module
#      from the Go module proxy;
#   3. the values in deploy/testdata/helm/*.bad.yaml are refused: lint-*.bad.yaml
#      by the values schema (helm lint fails), template-*.bad.yaml by the
#      chart's own checks (helm template fails), each with the message its
#      first line names ("# expect: ...");
#   4. go test ./deploy/ -run Helm, with CASUS_HELM set to the helm used here.
#
# It installs what it lacks: helm with `go install` and a Python venv with
# kubernetes-validate and check-jsonschema, both under
# ${CASUS_CACHE_DIR:-$HOME/.cache/casus}; python3 and its venv module with
# apt-get when missing and running as root. It reads no input, prints what it
# checked and exits non-zero on any failure. Run it from anywhere:
#
#   bash deploy/helm/check.sh
set -euo pipefail

HELM_VERSION=v3.22.0
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECK_JSONSCHEMA_VERSION=0.39.0
PROMETHEUS_OPERATOR_VERSION=v0.85.0
KUBE_VERSIONS=(1.30.0 1.37.0)

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
chart=$here/casus
bad=$root/deploy/testdata/helm
cache=${CASUS_CACHE_DIR:-$HOME/.cache/casus}
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

log() { printf 'helm/check.sh: %s\n' "$*"; }

passed=()
failed=()
pass() { passed+=("$1"); printf 'PASS %s\n' "$1"; }
fail() {
	failed+=("$1")
	printf 'FAIL %s\n' "$1"
	if [[ -n ${2:-} ]]; then printf '    %s\n' "${2//$'\n'/$'\n'    }"; fi
}

# --- tools -------------------------------------------------------------------

if ! command -v go >/dev/null; then
	echo "helm/check.sh: go is needed (to install helm and fetch the CRDs)" >&2
	exit 1
fi
goversion=$(go env GOVERSION)

helm=$cache/helm-$HELM_VERSION-$goversion/bin/helm
if [[ ! -x $helm ]]; then
	log "installing helm $HELM_VERSION into $(dirname -- "$helm")"
	(cd "$work" && GOBIN=$(dirname -- "$helm") GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
fi

if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		log "installing python3 and python3-venv with apt-get"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
	else
		echo "helm/check.sh: python3 with the venv module is needed (Debian: apt-get install python3-venv)" >&2
		exit 1
	fi
fi

venv=$cache/helm-venv-kubernetes-validate-$KUBERNETES_VALIDATE_VERSION-check-jsonschema-$CHECK_JSONSCHEMA_VERSION
if [[ ! -x $venv/bin/kubernetes-validate || ! -x $venv/bin/check-jsonschema ]]; then
	log "creating $venv"
	rm -rf -- "$venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check \
		"kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi
python=$venv/bin/python

# The CRDs are in the prometheus-operator module; the Go module proxy serves
# it, so no access to its repository is needed.
crddir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
	"$python" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')/example/prometheus-operator-crd
declare -A crdschema
for kind in servicemonitor prometheusrule; do
	crdschema[$kind]=$work/$kind.schema.json
	"$python" "$here/k8sdocs.py" crd2schema "$crddir/monitoring.coreos.com_${kind}s.yaml" "${crdschema[$kind]}" >/dev/null
done

log "helm $("$helm" version --template '{{.Version}}') ($helm), Go $goversion"
log "kubernetes-validate $("$venv/bin/kubernetes-validate" --version) for Kubernetes ${KUBE_VERSIONS[*]}"
log "check-jsonschema $CHECK_JSONSCHEMA_VERSION with the CRDs of prometheus-operator $PROMETHEUS_OPERATOR_VERSION"

# helm built by `go install` assumes Kubernetes 1.20 without a cluster; the
# chart needs 1.27 or later (the PodDisruptionBudget's unhealthyPodEvictionPolicy).
template() { "$helm" template casus "$chart" --namespace soc --kube-version "${KUBE_VERSIONS[0]}" "$@"; }

# --- 1 and 2: the ci/ values lint, render and validate ---------------------------

kv_args=()
for v in "${KUBE_VERSIONS[@]}"; do kv_args+=(-k "$v"); done

for values in "$chart"/ci/*.yaml; do
	name=ci/$(basename -- "$values")
	if out=$("$helm" lint --strict "$chart" -f "$values" 2>&1); then
		pass "helm lint --strict -f $name"
	else
		fail "helm lint --strict -f $name" "$out"
		continue
	fi
	rendered=$work/$(basename -- "$values" .yaml).rendered.yaml
	if ! out=$(template -f "$values" 2>&1 >"$rendered"); then
		fail "helm template -f $name" "$out"
		continue
	fi
	docs=$work/$(basename -- "$values" .yaml).docs
	if ! listing=$("$python" "$here/k8sdocs.py" split "$rendered" "$docs" 2>&1); then
		fail "helm template -f $name: split the output" "$listing"
		continue
	fi
	pass "helm template -f $name ($(wc -l <<<"$listing") documents)"
	while read -r file api kind obj; do
		what="$name: $kind/$obj ($api)"
		case $api in
		monitoring.coreos.com/*)
			schema=${crdschema[${kind,,}]:-}
			if [[ -z $schema ]]; then
				fail "$what: no CRD schema for this kind"
			elif out=$("$venv/bin/check-jsonschema" --schemafile "$schema" "$file" 2>&1); then
				pass "$what: check-jsonschema against the CRD of prometheus-operator $PROMETHEUS_OPERATOR_VERSION"
			else
				fail "$what: check-jsonschema against the CRD" "$out"
			fi
			;;
		*)
			# --strict rejects unknown fields; a kind without a schema is only a
			# warning for kubernetes-validate, so that is refused here too.
			if out=$("$venv/bin/kubernetes-validate" --strict --quiet "${kv_args[@]}" "$file" 2>&1) && ! grep -q . <<<"$out"; then
				pass "$what: kubernetes-validate --strict for ${KUBE_VERSIONS[*]}"
			else
				fail "$what: kubernetes-validate --strict" "$out"
			fi
			;;
		esac
	done <<<"$listing"
done

# --- 3: values the chart must refuse -----------------------------------------

for values in "$bad"/*.bad.yaml; do
	name=$(basename -- "$values")
	expect=$(sed -n '1s/^# expect: //p' "$values")
	if [[ -z $expect ]]; then
		fail "$name: its first line must be '# expect: <error text>'"
		continue
	fi
	case $name in
	lint-*) how="helm lint --strict" ;;
	template-*) how="helm template" ;;
	*)
		fail "$name: the name must start with lint- or template-"
		continue
		;;
	esac
	if [[ $how == "helm lint --strict" ]]; then
		out=$("$helm" lint --strict "$chart" -f "$values" 2>&1) && status=0 || status=$?
	else
		out=$(template -f "$values" 2>&1) && status=0 || status=$?
	fi
	if [[ $status -eq 0 ]]; then
		fail "$how refuses $name: it was accepted"
	elif ! grep -qF -- "$expect" <<<"$out"; then
		fail "$how refuses $name, saying \"$expect\": it said something else" "$out"
	else
		pass "$how refuses $name: $expect"
	fi
done

# --- 4: the Go tests on the rendered chart ---------------------------------------

export CASUS_HELM=$helm
if out=$(cd "$root" && go test ./deploy/ -run Helm -v 2>&1); then
	pass "CASUS_HELM=$helm go test ./deploy/ -run Helm ($(grep -c '^--- PASS' <<<"$out") tests)"
else
	fail "go test ./deploy/ -run Helm" "$out"
fi

echo
log "${#passed[@]} passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
	for f in "${failed[@]}"; do printf '  failed: %s\n' "$f"; done
	exit 1
fi
