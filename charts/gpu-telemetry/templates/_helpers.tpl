{{/* Names ------------------------------------------------------------------------------------ */}}
{{- define "gt.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gt.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* gt.component: the resource name of a component; call with (dict "ctx" $ "c" "mq") */}}
{{- define "gt.component" -}}
{{- printf "%s-%s" (include "gt.fullname" .ctx) .c -}}
{{- end -}}

{{- define "gt.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{ include "gt.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: gpu-telemetry
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "gt.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gt.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .c }}
{{- end -}}

{{- define "gt.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gt.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "gt.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* DNS ----------------------------------------------------------------------------------------- */}}
{{- define "gt.svcHost" -}}
{{- printf "%s.%s.svc.%s" (include "gt.component" .) .ctx.Release.Namespace .ctx.Values.clusterDomain -}}
{{- end -}}

{{- define "gt.mqRpcUrl" -}}
{{- printf "tcp://%s:%d" (include "gt.svcHost" (dict "ctx" . "c" "mq")) (int .Values.mq.ports.rpc) -}}
{{- end -}}

{{/* The gateway's collector URLs, one per collector replica, through the headless Service:
     <fullname>-collector-<i>.<fullname>-collector-headless.<ns>.svc.<domain>:<port> */}}
{{- define "gt.collectorUrls" -}}
{{- $ctx := .ctx -}}
{{- $port := int .port -}}
{{- $sts := include "gt.component" (dict "ctx" $ctx "c" "collector") -}}
{{- $hs := printf "%s-headless" $sts -}}
{{- $urls := list -}}
{{- range $i := until (int $ctx.Values.collector.replicas) -}}
{{- $urls = append $urls (printf "tcp://%s-%d.%s.%s.svc.%s:%d" $sts $i $hs $ctx.Release.Namespace $ctx.Values.clusterDomain $port) -}}
{{- end -}}
{{- join "," $urls -}}
{{- end -}}

{{/* Token Secret ------------------------------------------------------------------------------ */}}
{{- define "gt.tokenSecretName" -}}
{{- default (printf "%s-token" (include "gt.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "gt.tokenEnv" -}}
{{- if .Values.auth.enabled -}}
- name: GT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "gt.tokenSecretName" . }}
      key: {{ .Values.auth.existingSecretKey }}
{{- end }}
{{- end -}}

{{/* Pod pieces shared by every component; call with (dict "ctx" $ "c" "mq" "v" .Values.mq) ------ */}}
{{- define "gt.podSpecCommon" -}}
{{- $ctx := .ctx -}}
serviceAccountName: {{ include "gt.serviceAccountName" $ctx }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml $ctx.Values.podSecurityContext | nindent 2 }}
{{- with $ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $ctx.Values.priorityClassName .v.priorityClassName) }}
priorityClassName: {{ . }}
{{- end }}
{{- with .v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
terminationGracePeriodSeconds: {{ .v.terminationGracePeriodSeconds | default 30 }}
{{- end -}}

{{- define "gt.containerCommon" -}}
{{- $ctx := .ctx -}}
image: {{ include "gt.image" $ctx }}
imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
securityContext:
  {{- toYaml $ctx.Values.containerSecurityContext | nindent 2 }}
resources:
  {{- toYaml .v.resources | nindent 2 }}
readinessProbe:
  httpGet: {path: /health, port: http}
  {{- toYaml .v.probes.readiness | nindent 2 }}
livenessProbe:
  httpGet: {path: /health, port: http}
  {{- toYaml .v.probes.liveness | nindent 2 }}
{{- with .v.probes.startup }}
startupProbe:
  httpGet: {path: /health, port: http}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The --config file of a component: the user's options (validated by values.schema.json) */}}
{{- define "gt.configJson" -}}
{{- toPrettyJson (default dict .v.config) -}}
{{- end -}}

{{/* The gateway's --alert-rules file: call with the list of rules (validated by values.schema.json;
     the chart test runs the rendered file through gt-gateway --print-config) */}}
{{- define "gt.alertRulesJson" -}}
{{- toPrettyJson (dict "rules" .) -}}
{{- end -}}

{{- define "gt.podAnnotations" -}}
checksum/config: {{ include "gt.configJson" . | sha256sum }}
{{- with .v.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* API versions: the cluster's own list (install/upgrade) and its version (template/lint) ----- */}}
{{- define "gt.hpa.apiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "autoscaling/v2") (semverCompare ">=1.23-0" .Capabilities.KubeVersion.Version) -}}
autoscaling/v2
{{- else -}}
autoscaling/v2beta2
{{- end -}}
{{- end -}}

{{- define "gt.pdb.apiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "policy/v1") (semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version) -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end -}}

{{- define "gt.volumes" -}}
- name: config
  configMap:
    name: {{ include "gt.component" . }}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- end -}}

{{- define "gt.volumeMounts" -}}
- name: config
  mountPath: /etc/gpu-telemetry
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}
