{{/* The chart's name. */}}
{{- define "peregrine.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the prefix of every object. */}}
{{- define "peregrine.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "peregrine.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "peregrine.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "peregrine.selectorLabels" -}}
app.kubernetes.io/name: {{ include "peregrine.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ ternary "webhook" "log-follower" (eq .Values.mode "webhook") }}
{{- end }}

{{- define "peregrine.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "peregrine.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "peregrine.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "peregrine.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "peregrine.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "peregrine.tlsSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "peregrine.fullname" .)) .Values.webhook.tls.existingSecret }}
{{- end }}

{{- define "peregrine.tokenSecretName" -}}
{{- default (printf "%s-audit-token" (include "peregrine.fullname" .)) .Values.webhook.auth.existingSecret }}
{{- end }}

{{- define "peregrine.tls" -}}
{{- if not (has .Values.webhook.tls.mode (list "auto" "secret" "disabled")) }}
{{- fail (printf "webhook.tls.mode: %q is not auto, secret or disabled" .Values.webhook.tls.mode) }}
{{- end }}
{{- if and (eq .Values.webhook.tls.mode "secret") (not .Values.webhook.tls.existingSecret) }}
{{- fail "webhook.tls.mode secret needs webhook.tls.existingSecret" }}
{{- end }}
{{- ne .Values.webhook.tls.mode "disabled" | ternary "true" "" }}
{{- end }}

{{/*
falco.yaml: .Values.config with the keys the chart owns: the k8saudit
plugin (the webhook or the followed log, with its TLS, token and cluster
name) and rules_files (the embedded rules, then each custom file by
name, so that their order is the chart's).
*/}}
{{- define "peregrine.falcoConfig" -}}
{{- if not (has .Values.mode (list "webhook" "daemonset")) }}
{{- fail (printf "mode: %q is not webhook or daemonset" .Values.mode) }}
{{- end }}
{{- $init := dict }}
{{- if .Values.clusterName }}
{{- $_ := set $init "cluster_name" .Values.clusterName }}
{{- end }}
{{- $openParams := "" }}
{{- if eq .Values.mode "webhook" }}
{{- $scheme := "http" }}
{{- if include "peregrine.tls" . }}
{{- $scheme = "https" }}
{{- $_ := set $init "sslCertificate" "/etc/peregrine/tls/server.pem" }}
{{- if .Values.webhook.tls.clientCAKey }}
{{- $_ := set $init "client_ca" "/etc/peregrine/tls/client-ca.pem" }}
{{- end }}
{{- end }}
{{- if .Values.webhook.auth.enabled }}
{{- $_ := set $init "bearer_tokens" (list "${PEREGRINE_AUDIT_TOKEN}") }}
{{- end }}
{{- $openParams = printf "%s://:%d%s" $scheme (int .Values.webhook.port) .Values.webhook.path }}
{{- $init = mergeOverwrite $init (deepCopy .Values.webhook.initConfig) }}
{{- else }}
{{- $openParams = printf "file://%s" .Values.daemonset.auditLogPath }}
{{- end }}
{{- $plugin := dict "name" "k8saudit" "library_path" "libk8saudit.so" "open_params" $openParams }}
{{- if $init }}
{{- $_ := set $plugin "init_config" $init }}
{{- end }}
{{- $rulesFiles := list }}
{{- if .Values.rules.default }}
{{- $rulesFiles = append $rulesFiles "<default>" }}
{{- end }}
{{- range $name, $_ := .Values.rules.custom }}
{{- $rulesFiles = append $rulesFiles (printf "/etc/peregrine/rules.d/%s" $name) }}
{{- end }}
{{- if not $rulesFiles }}
{{- fail "rules: no rules (rules.default is false and rules.custom is empty)" }}
{{- end }}
{{- $cfg := deepCopy .Values.config }}
{{- $_ := set $cfg "plugins" (list $plugin) }}
{{- $_ := set $cfg "load_plugins" (list "k8saudit") }}
{{- $_ := set $cfg "rules_files" $rulesFiles }}
{{- toYaml $cfg }}
{{- end }}

{{/* The webserver's port (health and metrics), from config. */}}
{{- define "peregrine.metricsPort" -}}
{{- $ws := default dict (get .Values.config "webserver") }}
{{- int (default 8765 (get $ws "listen_port")) }}
{{- end }}

{{/* The pod's volumes and the peregrine container, shared by both modes. */}}
{{- define "peregrine.etcVolume" -}}
- name: etc
  projected:
    # Group-readable: the files belong to root and to the pod's fsGroup.
    defaultMode: 0440
    sources:
      - configMap:
          name: {{ include "peregrine.fullname" . }}
          items:
            - key: falco.yaml
              path: falco.yaml
      {{- if .Values.rules.custom }}
      - configMap:
          name: {{ include "peregrine.fullname" . }}-rules
          items:
            {{- range $name, $_ := .Values.rules.custom }}
            - key: {{ $name }}
              path: rules.d/{{ $name }}
            {{- end }}
      {{- end }}
      {{- if and (eq .Values.mode "webhook") (include "peregrine.tls" .) }}
      - secret:
          name: {{ include "peregrine.tlsSecretName" . }}
          items:
            - key: {{ .Values.webhook.tls.pemKey }}
              path: tls/server.pem
            {{- if .Values.webhook.tls.clientCAKey }}
            - key: {{ .Values.webhook.tls.clientCAKey }}
              path: tls/client-ca.pem
            {{- end }}
      {{- end }}
{{- end }}

{{- define "peregrine.env" -}}
{{- if and (eq .Values.mode "webhook") .Values.webhook.auth.enabled }}
- name: PEREGRINE_AUDIT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "peregrine.tokenSecretName" . }}
      key: {{ .Values.webhook.auth.tokenKey }}
{{- end }}
# The Go heap's soft limit: the container's memory limit.
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      resource: limits.memory
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "peregrine.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}
