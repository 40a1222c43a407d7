{{/* Names and labels. */}}
{{- define "kansoku.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kansoku.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kansoku.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "kansoku.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "ingester"). */}}
{{- define "kansoku.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kansoku.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kansoku.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kansoku.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret with the KANSOKU_* secrets: the user's, or (single mode) the chart's own. */}}
{{- define "kansoku.secretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else -}}
{{- printf "%s-secret" (include "kansoku.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "kansoku.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Stops rendering on settings that cannot work. */}}
{{- define "kansoku.validate" -}}
{{- if not (has .Values.mode (list "single" "ha")) -}}
{{- fail (printf "mode must be single or ha, not %q" .Values.mode) -}}
{{- end -}}
{{- if and (eq .Values.mode "ha") (not .Values.existingSecret) -}}
{{- fail "mode ha needs existingSecret: a Secret with KANSOKU_META_DSN (postgres://…), KANSOKU_NATS_URL, KANSOKU_CLUSTER_SECRET, KANSOKU_ROOT_USER_PASSWORD and the S3 keys (docs/deploy.md)" -}}
{{- end -}}
{{- if and (eq .Values.mode "ha") (not (index .Values.config "KANSOKU_S3_BUCKET")) -}}
{{- fail "mode ha needs config.KANSOKU_S3_BUCKET: the nodes share their stored files through one bucket" -}}
{{- end -}}
{{- if and (eq .Values.mode "ha") (lt (int .Values.ingester.replicas) 1) -}}
{{- fail "mode ha needs at least one ingester" -}}
{{- end -}}
{{- range $key, $value := .Values.config -}}
{{- if not (hasPrefix "KANSOKU_" $key) -}}
{{- fail (printf "config.%s: every setting is a KANSOKU_* variable (docs/configuration.md)" $key) -}}
{{- end -}}
{{- if has $key (list "KANSOKU_ROLES" "KANSOKU_NODE_ID" "KANSOKU_DATA_DIR" "KANSOKU_ADVERTISE_HOST" "KANSOKU_ALERTS_DIR" "KANSOKU_DRAIN_TIMEOUT" "KANSOKU_HTTP_PORT" "KANSOKU_GRPC_PORT" "KANSOKU_CLUSTER_PORT") -}}
{{- fail (printf "config.%s is set by the chart" $key) -}}
{{- end -}}
{{- if has $key (list "KANSOKU_META_DSN" "KANSOKU_NATS_URL" "KANSOKU_CLUSTER_SECRET" "KANSOKU_ROOT_USER_PASSWORD" "KANSOKU_S3_SECRET_KEY" "KANSOKU_SMTP_PASSWORD") -}}
{{- fail (printf "config.%s is a secret: put it in existingSecret" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
One pod of a component: (dict "ctx" $ "component" "ingester" "roles" "ingester"
"settings" .Values.ingester "persistent" true "alerts" false).
*/}}
{{- define "kansoku.pod" -}}
{{- $ctx := .ctx -}}
{{- $values := $ctx.Values -}}
metadata:
  labels:
    {{- include "kansoku.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  annotations:
    checksum/config: {{ include (print $ctx.Template.BasePath "/configmap.yaml") $ctx | sha256sum }}
    {{- if $values.alerts }}
    checksum/alerts: {{ toJson $values.alerts | sha256sum }}
    {{- end }}
    {{- with $values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "kansoku.serviceAccountName" $ctx }}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: {{ .settings.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml $values.podSecurityContext | nindent 4 }}
  {{- with $values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "kansoku.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 10 }}
  containers:
    - name: kansoku
      image: {{ include "kansoku.image" $ctx | quote }}
      imagePullPolicy: {{ $values.image.pullPolicy }}
      args: ["serve"]
      ports:
        - {name: http, containerPort: 5080, protocol: TCP}
        - {name: grpc, containerPort: 5081, protocol: TCP}
        - {name: cluster, containerPort: 5082, protocol: TCP}
      env:
        - {name: KANSOKU_ROLES, value: {{ .roles | quote }}}
        - {name: KANSOKU_DATA_DIR, value: /data}
        - {name: KANSOKU_HTTP_PORT, value: "5080"}
        - {name: KANSOKU_GRPC_PORT, value: "5081"}
        - {name: KANSOKU_CLUSTER_PORT, value: "5082"}
        - {name: KANSOKU_ROOT_USER_EMAIL, value: {{ $values.rootUserEmail | quote }}}
        {{- /* The drain ends before the grace period does: SIGTERM comes after the preStop sleep. */}}
        {{- $drain := sub (int .settings.terminationGracePeriodSeconds) (add (int $values.preStopSleepSeconds) 10) }}
        {{- if lt $drain 10 }}
        {{- fail (printf "%s: terminationGracePeriodSeconds leaves less than 10 s to drain after the preStop sleep" .component) }}
        {{- end }}
        - {name: KANSOKU_DRAIN_TIMEOUT, value: "{{ $drain }}s"}
        - name: KANSOKU_NODE_ID
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: KANSOKU_ADVERTISE_HOST
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        {{- if .alerts }}
        - {name: KANSOKU_ALERTS_DIR, value: /etc/kansoku/alerts}
        {{- end }}
      envFrom:
        - configMapRef: {name: {{ include "kansoku.fullname" $ctx }}-config}
        - secretRef: {name: {{ include "kansoku.secretName" $ctx }}}
      startupProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: {{ $values.probes.startup.periodSeconds }}
        failureThreshold: {{ $values.probes.startup.failureThreshold }}
      livenessProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: {{ $values.probes.liveness.periodSeconds }}
        failureThreshold: {{ $values.probes.liveness.failureThreshold }}
        timeoutSeconds: {{ $values.probes.liveness.timeoutSeconds }}
      readinessProbe:
        httpGet: {path: /readyz, port: http}
        periodSeconds: {{ $values.probes.readiness.periodSeconds }}
        failureThreshold: {{ $values.probes.readiness.failureThreshold }}
        timeoutSeconds: {{ $values.probes.readiness.timeoutSeconds }}
      {{- if gt (int $values.preStopSleepSeconds) 0 }}
      lifecycle:
        preStop:
          sleep: {seconds: {{ $values.preStopSleepSeconds }}}
      {{- end }}
      resources:
        {{- toYaml .settings.resources | nindent 8 }}
      securityContext:
        {{- toYaml $values.securityContext | nindent 8 }}
      volumeMounts:
        - {name: data, mountPath: /data}
        - {name: tmp, mountPath: /tmp}
        {{- if .alerts }}
        - {name: alerts, mountPath: /etc/kansoku/alerts, readOnly: true}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    {{- if not .persistent }}
    - name: data
      emptyDir: {}
    {{- end }}
    {{- if .alerts }}
    - name: alerts
      configMap: {name: {{ include "kansoku.fullname" $ctx }}-alerts}
    {{- end }}
{{- end -}}

{{/* A PersistentVolumeClaim template for a StatefulSet's data volume. */}}
{{- define "kansoku.dataClaim" -}}
- metadata:
    name: data
  spec:
    accessModes: [ReadWriteOnce]
    {{- with .storageClass }}
    storageClassName: {{ . | quote }}
    {{- end }}
    resources:
      requests:
        storage: {{ .size }}
{{- end -}}
