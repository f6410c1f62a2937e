{{/* Names and labels. */}}

{{- define "casus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "casus.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "casus.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "casus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "casus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "casus.labels" -}}
helm.sh/chart: {{ include "casus.chart" . }}
{{ include "casus.selectorLabels" . }}
app.kubernetes.io/version: {{ include "casus.imageTag" . | quote }}
app.kubernetes.io/component: incident-classifier
app.kubernetes.io/part-of: casus
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "casus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "casus.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "casus.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
casus.contextFiles lists the context files (policy, assets, intel): for each,
the value section, the variable naming the file and its mount directory.
*/}}
{{- define "casus.contextFiles" -}}
policy: CASUS_POLICY_FILE
assets: CASUS_ASSETS_FILE
intel: CASUS_INTEL_FILE
{{- end }}

{{/* casus.contextConfigMap is the ConfigMap name of a context file, "" when none is given. */}}
{{- define "casus.contextConfigMap" -}}
{{- $v := index .root.Values .name }}
{{- if $v.existingConfigMap }}
{{- $v.existingConfigMap }}
{{- else if $v.content }}
{{- printf "%s-%s" (include "casus.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "casus.rulesConfigMap" -}}
{{- if .Values.rules.existingConfigMap }}
{{- .Values.rules.existingConfigMap }}
{{- else if .Values.rules.files }}
{{- printf "%s-rules" (include "casus.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Mount points; the *_FILE variables are derived from them. */}}
{{- define "casus.rulesDir" -}}/etc/casus/rules{{- end }}
{{- define "casus.kafkaTLSDir" -}}/etc/casus/kafka-tls{{- end }}
{{- define "casus.kafkaSASLDir" -}}/etc/casus/kafka-sasl{{- end }}
{{- define "casus.signingDir" -}}/etc/casus/signing{{- end }}

{{/*
casus.reservedVars are the variables the chart sets from other values; the
config map may not set them, so that each has one source.
*/}}
{{- define "casus.reservedVars" -}}
CASUS_METRICS_ADDR: "fixed at 0.0.0.0:9464, the port the probes and the Service use"
CASUS_KAFKA_BROKERS: "set kafka.brokers"
CASUS_KAFKA_TLS_ENABLED: "set kafka.tls.enabled"
CASUS_KAFKA_TLS_CA_FILE: "set kafka.tls.existingSecret and kafka.tls.caKey"
CASUS_KAFKA_TLS_CERT_FILE: "set kafka.tls.existingSecret and kafka.tls.certKey"
CASUS_KAFKA_TLS_KEY_FILE: "set kafka.tls.existingSecret and kafka.tls.keyKey"
CASUS_KAFKA_TLS_SERVER_NAME: "set kafka.tls.serverName"
CASUS_KAFKA_SASL_MECHANISM: "set kafka.sasl.mechanism"
CASUS_KAFKA_SASL_USERNAME: "set kafka.sasl.existingSecret and kafka.sasl.usernameKey"
CASUS_KAFKA_SASL_USERNAME_FILE: "set kafka.sasl.existingSecret and kafka.sasl.usernameKey"
CASUS_KAFKA_SASL_PASSWORD: "set kafka.sasl.existingSecret and kafka.sasl.passwordKey"
CASUS_KAFKA_SASL_PASSWORD_FILE: "set kafka.sasl.existingSecret and kafka.sasl.passwordKey"
CASUS_SIGNING_KEY_FILE: "set signing.existingSecret and signing.secretKey"
CASUS_SIGNING_KEY_ID: "set signing.keyId"
CASUS_RULES_DIRS: "set rules.files or rules.existingConfigMap"
CASUS_POLICY_FILE: "set policy.content or policy.existingConfigMap"
CASUS_ASSETS_FILE: "set assets.content or assets.existingConfigMap"
CASUS_INTEL_FILE: "set intel.content or intel.existingConfigMap"
{{- end }}

{{/*
casus.graceSeconds is CASUS_GRACE_PERIOD (a Go duration such as 30s or 1m30s;
30s when unset) in whole seconds, rounded up.
*/}}
{{- define "casus.graceSeconds" -}}
{{- $g := toString (dig "CASUS_GRACE_PERIOD" "30s" .Values.config) }}
{{- if not (regexMatch "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$" $g) }}
{{- fail (printf "config.CASUS_GRACE_PERIOD: %q is not a duration such as 30s or 1m30s" $g) }}
{{- end }}
{{- $unit := dict "h" 3600.0 "m" 60.0 "s" 1.0 "ms" 0.001 "us" 0.000001 "µs" 0.000001 "ns" 0.000000001 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" $g -1 }}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $total = addf $total (mulf $n (get $unit (trimPrefix $n .))) }}
{{- end }}
{{- ceil $total | int64 }}
{{- end }}

{{/*
casus.goMemLimit is GOMEMLIMIT in bytes: goMemLimitPercent of the memory
limit; empty without a limit or with a percentage of 0.
*/}}
{{- define "casus.goMemLimit" -}}
{{- $lim := dig "limits" "memory" "" (.Values.resources | default dict) }}
{{- if or (kindIs "float64" $lim) (kindIs "int" $lim) (kindIs "int64" $lim) }}
{{- $lim = int64 $lim }}
{{- end }}
{{- $lim = toString $lim }}
{{- if and $lim (gt (int .Values.goMemLimitPercent) 0) }}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$" $lim) }}
{{- fail (printf "resources.limits.memory: %q is not a quantity such as 1Gi, 512Mi or 1000000000" $lim) }}
{{- end }}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" $lim }}
{{- $unit := dict "" 1.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 }}
{{- $bytes := mulf $n (get $unit (trimPrefix $n $lim)) }}
{{- divf (mulf $bytes .Values.goMemLimitPercent) 100 | floor | int64 }}
{{- end }}
{{- end }}

{{/*
casus.configData is the data of the config ConfigMap: the config values,
then the variables derived from other values. It fails on a reserved
variable in config, and on settings casus would refuse at start-up.
*/}}
{{- define "casus.configData" -}}
{{- $reserved := include "casus.reservedVars" . | fromYaml }}
{{- $data := dict }}
{{- range $k, $v := .Values.config }}
{{- if hasKey $reserved $k }}
{{- fail (printf "config.%s: the chart sets this variable; %s" $k (get $reserved $k)) }}
{{- end }}
{{- if or (kindIs "float64" $v) (kindIs "int" $v) (kindIs "int64" $v) }}
{{- $_ := set $data $k (toString (int64 $v)) }}
{{- else }}
{{- $_ := set $data $k (toString $v) }}
{{- end }}
{{- end }}
{{- if not .Values.kafka.brokers }}
{{- fail "kafka.brokers: set the Kafka bootstrap brokers, e.g. --set 'kafka.brokers={kafka-0.kafka:9092}'" }}
{{- end }}
{{- $_ := set $data "CASUS_KAFKA_BROKERS" (join "," .Values.kafka.brokers) }}
{{- $_ := set $data "CASUS_METRICS_ADDR" "0.0.0.0:9464" }}
{{- with .Values.kafka.tls }}
{{- if .enabled }}
{{- $_ := set $data "CASUS_KAFKA_TLS_ENABLED" "true" }}
{{- with .serverName }}{{ $_ := set $data "CASUS_KAFKA_TLS_SERVER_NAME" . }}{{ end }}
{{- if ne (empty .certKey) (empty .keyKey) }}
{{- fail "kafka.tls: set both certKey and keyKey for a client certificate, or neither" }}
{{- end }}
{{- if .existingSecret }}
{{- if not (or .caKey .certKey) }}
{{- fail "kafka.tls.existingSecret: set caKey, or certKey and keyKey, to the keys casus should read from it" }}
{{- end }}
{{- $dir := include "casus.kafkaTLSDir" $ }}
{{- with .caKey }}{{ $_ := set $data "CASUS_KAFKA_TLS_CA_FILE" (printf "%s/ca.crt" $dir) }}{{ end }}
{{- if .certKey }}
{{- $_ := set $data "CASUS_KAFKA_TLS_CERT_FILE" (printf "%s/tls.crt" $dir) }}
{{- $_ := set $data "CASUS_KAFKA_TLS_KEY_FILE" (printf "%s/tls.key" $dir) }}
{{- end }}
{{- else if .certKey }}
{{- fail "kafka.tls.certKey: a client certificate needs kafka.tls.existingSecret" }}
{{- end }}
{{- else if or .existingSecret .serverName }}
{{- fail "kafka.tls: existingSecret and serverName need kafka.tls.enabled=true; casus would otherwise connect without TLS" }}
{{- end }}
{{- end }}
{{- with .Values.kafka.sasl }}
{{- if .mechanism }}
{{- if not .existingSecret }}
{{- fail "kafka.sasl.existingSecret: a SASL mechanism needs the Secret holding the user name and password" }}
{{- end }}
{{- if and (eq .mechanism "PLAIN") (not $.Values.kafka.tls.enabled) }}
{{- fail "kafka.sasl.mechanism: PLAIN sends the password as it is and needs kafka.tls.enabled=true" }}
{{- end }}
{{- $dir := include "casus.kafkaSASLDir" $ }}
{{- $_ := set $data "CASUS_KAFKA_SASL_MECHANISM" .mechanism }}
{{- $_ := set $data "CASUS_KAFKA_SASL_USERNAME_FILE" (printf "%s/username" $dir) }}
{{- $_ := set $data "CASUS_KAFKA_SASL_PASSWORD_FILE" (printf "%s/password" $dir) }}
{{- else if .existingSecret }}
{{- fail "kafka.sasl.existingSecret: set kafka.sasl.mechanism too" }}
{{- end }}
{{- end }}
{{- with .Values.signing }}
{{- if .existingSecret }}
{{- $_ := set $data "CASUS_SIGNING_KEY_FILE" (printf "%s/%s" (include "casus.signingDir" $) .secretKey) }}
{{- with .keyId }}{{ $_ := set $data "CASUS_SIGNING_KEY_ID" . }}{{ end }}
{{- else if .keyId }}
{{- fail "signing.keyId: set signing.existingSecret, the key it names" }}
{{- end }}
{{- end }}
{{- if and .Values.rules.files .Values.rules.existingConfigMap }}
{{- fail "rules: set files or existingConfigMap, not both" }}
{{- end }}
{{- if include "casus.rulesConfigMap" . }}
{{- $_ := set $data "CASUS_RULES_DIRS" (include "casus.rulesDir" .) }}
{{- end }}
{{- range $name, $var := include "casus.contextFiles" . | fromYaml }}
{{- $v := index $.Values $name }}
{{- if and $v.content $v.existingConfigMap }}
{{- fail (printf "%s: set content or existingConfigMap, not both" $name) }}
{{- end }}
{{- if include "casus.contextConfigMap" (dict "root" $ "name" $name) }}
{{- $_ := set $data $var (printf "/etc/casus/%s/%s" $name $v.key) }}
{{- end }}
{{- end }}
{{- toYaml $data }}
{{- end }}
