{{- define "tether.name" -}}tether{{- end -}}

{{- define "tether.fullname" -}}
{{- if contains "tether" .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-tether" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "tether.selectorLabels" -}}
app.kubernetes.io/name: tether
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tether.labels" -}}
{{ include "tether.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tether.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "tether.tlsSecret" -}}
{{- if eq .Values.tls.mode "existing" -}}{{ .Values.tls.existingSecret }}{{- else -}}{{ include "tether.fullname" . }}-tls{{- end -}}
{{- end -}}

{{/* The names the API server and Prometheus reach the Service by. */}}
{{- define "tether.dnsNames" -}}
{{- $svc := include "tether.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- concat $names .Values.tls.extraDnsNames | toJson -}}
{{- end -}}

{{- define "tether.celString" -}}
'{{ . | replace "\\" "\\\\" | replace "'" "\\'" }}'
{{- end -}}

{{/*
Agents only, as CEL over the request's user: the same expression `tether webhook-config` builds
(src/adapters/kube-config/webhook-config.ts agentMatchExpression), from the agent selectors in values.
*/}}
{{- define "tether.agentMatch" -}}
{{- $user := "request.userInfo.username" -}}
{{- $prefixes := list -}}
{{- range .Values.agents.usernamePrefixes }}{{ $prefixes = append $prefixes . }}{{ end -}}
{{- range .Values.agents.serviceAccountNamespaces }}{{ $prefixes = append $prefixes (printf "system:serviceaccount:%s:" .) }}{{ end -}}
{{- $parts := list -}}
{{- if .Values.agents.usernames -}}
{{- $quoted := list -}}{{- range (.Values.agents.usernames | uniq | sortAlpha) }}{{ $quoted = append $quoted (include "tether.celString" .) }}{{ end -}}
{{- $parts = append $parts (printf "%s in [%s]" $user (join ", " $quoted)) -}}
{{- end -}}
{{- range ($prefixes | uniq | sortAlpha) }}{{ $parts = append $parts (printf "%s.startsWith(%s)" $user (include "tether.celString" .)) }}{{ end -}}
{{- if .Values.agents.groups -}}
{{- $quoted := list -}}{{- range (.Values.agents.groups | uniq | sortAlpha) }}{{ $quoted = append $quoted (include "tether.celString" .) }}{{ end -}}
{{- $parts = append $parts (printf "request.userInfo.groups.exists(g, g in [%s])" (join ", " $quoted)) -}}
{{- end -}}
{{- if $parts }}{{ join " || " $parts }}{{ else }}false{{ end -}}
{{- end -}}

{{/* tether serve's configuration file: every path points at a volume the Deployment mounts. */}}
{{- define "tether.serverConfig" -}}
{{- $c := dict "listen" (dict "host" "0.0.0.0" "port" 8443) "dataDir" "/var/lib/tether" "policy" (dict "source" "kubernetes") "logLevel" .Values.logLevel -}}
{{- $_ := set $c "tls" (dict "certFile" "/etc/tether/tls/tls.crt" "keyFile" "/etc/tether/tls/tls.key" "caFile" "/etc/tether/tls/ca.crt") -}}
{{- $_ := set $c "shutdown" (dict "drainSeconds" 2) -}}
{{- if gt (int .Values.webhook.threads) 0 -}}
{{- $_ := set $c.listen "webhookPort" 9443 -}}
{{- $_ := set $c "webhookThreads" (int .Values.webhook.threads) -}}
{{- end -}}
{{- if eq .Values.store.type "sqlite" -}}
{{- $_ := set $c "store" "sqlite:/var/lib/tether/tether.db" -}}
{{- else -}}
{{- $_ := set $c "storeFile" (printf "/etc/tether/store/%s" .Values.store.postgres.key) -}}
{{- end -}}
{{- if .Values.ledger.signingKey.existingSecret -}}
{{- $_ := set $c "ledger" (dict "signingKeyFile" (printf "/etc/tether/ledger/%s" .Values.ledger.signingKey.key)) -}}
{{- end -}}
{{- if .Values.digestKey.existingSecret -}}
{{- $_ := set $c "digestKeyFile" (printf "/etc/tether/digest/%s" .Values.digestKey.key) -}}
{{- end -}}
{{- $tokens := list -}}
{{- range .Values.tokens.entries -}}
{{- $t := dict "tokenFile" (printf "/etc/tether/tokens/%s" .key) -}}
{{- if .human }}{{ $_ := set $t "human" .human }}{{ else }}{{ $_ := set $t "agentUsername" .agentUsername }}{{ end -}}
{{- $tokens = append $tokens $t -}}
{{- end -}}
{{- if $tokens }}{{ $_ := set $c "tokens" $tokens }}{{ end -}}
{{- $notes := list -}}
{{- range $i, $n := .Values.notifications -}}
{{- $e := dict "urlFile" (printf "/etc/tether/notifications/%d/%s" $i $n.key) -}}
{{- if $n.format }}{{ $_ := set $e "format" $n.format }}{{ end -}}
{{- if $n.events }}{{ $_ := set $e "events" $n.events }}{{ end -}}
{{- $notes = append $notes $e -}}
{{- end -}}
{{- if $notes }}{{ $_ := set $c "notifications" $notes }}{{ end -}}
{{- mustMergeOverwrite $c .Values.extraConfig | toYaml -}}
{{- end -}}
