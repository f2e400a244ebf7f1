{{/* Names, labels and the endpoints every role is configured with. */}}

{{- define "milvago.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name; role names are appended, so keep it short. */}}
{{- define "milvago.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "milvago.selectorLabels" -}}
app.kubernetes.io/name: {{ include "milvago.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "milvago.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "milvago.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: milvago
{{- end }}

{{- define "milvago.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The roles, in the order their Deployments are rendered. */}}
{{- define "milvago.roles" -}}
proxy mixcoord rootcoord datacoord querycoord indexcoord querynode datanode indexnode streamingnode
{{- end }}

{{/* The milvus.yaml section of each role ("querynode" -> "queryNode"). */}}
{{- define "milvago.section" -}}
{{- $s := dict "proxy" "proxy" "mixcoord" "mixCoord" "rootcoord" "rootCoord" "datacoord" "dataCoord" "querycoord" "queryCoord" "indexcoord" "indexCoord" "querynode" "queryNode" "datanode" "dataNode" "indexnode" "indexNode" "streamingnode" "streamingNode" -}}
{{- get $s . -}}
{{- end }}

{{- define "milvago.etcdEndpoints" -}}
{{- if .Values.etcd.enabled }}
{{- $fullname := include "milvago.fullname" . }}
{{- $eps := list }}
{{- range $i := until (int .Values.etcd.replicas) }}
{{- $eps = append $eps (printf "%s-etcd-%d.%s-etcd-headless.%s.svc:2379" $fullname $i $fullname $.Release.Namespace) }}
{{- end }}
{{- join "," $eps }}
{{- else }}
{{- required "etcd.external.endpoints is required when etcd.enabled is false" (join "," .Values.etcd.external.endpoints) }}
{{- end }}
{{- end }}

{{- define "milvago.natsURL" -}}
{{- if .Values.nats.enabled }}
{{- printf "nats://%s-nats.%s.svc:4222" (include "milvago.fullname" .) .Release.Namespace }}
{{- else }}
{{- required "nats.external.url is required when nats.enabled is false" .Values.nats.external.url }}
{{- end }}
{{- end }}

{{- define "milvago.s3Address" -}}
{{- if .Values.s3.address }}
{{- .Values.s3.address }}
{{- else if .Values.minio.enabled }}
{{- printf "%s-minio.%s.svc" (include "milvago.fullname" .) .Release.Namespace }}
{{- else }}
{{- fail "s3.address is required when minio.enabled is false" }}
{{- end }}
{{- end }}

{{- define "milvago.s3Secret" -}}
{{- default (printf "%s-s3" (include "milvago.fullname" .)) .Values.s3.existingSecret }}
{{- end }}

{{/* milvago.yaml, in milvus.yaml's key layout. */}}
{{- define "milvago.config" -}}
{{- $cfg := dict
  "etcd" (dict "endpoints" (include "milvago.etcdEndpoints" .) "rootPath" .Values.config.etcdRootPath)
  "minio" (dict "address" (include "milvago.s3Address" .) "port" .Values.s3.port "useSSL" .Values.s3.useSSL "bucketName" .Values.s3.bucketName "rootPath" .Values.s3.rootPath)
  "mq" (dict "type" "natsmq")
  "milvago" (dict "natsmq" (dict "url" (include "milvago.natsURL" .) "replicas" .Values.nats.streamReplicas))
  "localStorage" (dict "path" "/var/lib/milvago/data")
  "common" (dict "MetricsPort" .Values.config.metricsPort)
  "log" (dict "level" .Values.config.logLevel "format" .Values.config.logFormat)
-}}
{{- range $role := splitList " " (include "milvago.roles" .) }}
{{- $_ := set $cfg (include "milvago.section" $role) (dict "port" (get (get $.Values.roles $role) "port")) }}
{{- end }}
{{- $_ := set $cfg.proxy "internalPort" .Values.roles.proxy.internalPort }}
{{- with .Values.s3.region }}
{{- $_ := set $cfg.minio "region" . }}
{{- end }}
{{- toYaml (mustMergeOverwrite $cfg .Values.config.extra) }}
{{- end }}
