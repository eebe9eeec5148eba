{{- define "inventory.labels" -}}
app.kubernetes.io/name: inventory
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.Version | quote }}
{{- end }}
{{- define "inventory.selector" -}}
app.kubernetes.io/name: inventory
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.component }}
{{- end }}
