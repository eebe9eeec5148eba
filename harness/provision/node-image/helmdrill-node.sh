#!/bin/bash
# helmdrill-node — a single-node Kubernetes in one container, started exactly like k3s.
#
# `@testcontainers/k3s` runs an image with `server --disable=traefik`, privileged, with the
# host's /sys/fs/cgroup bound in and tmpfs on /run, waits for the log line
# "Node controller sync successful", then copies /etc/rancher/k3s/k3s.yaml out.
# This script honours that contract with upstream Kubernetes components built from the
# Go module proxy (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy) plus Debian's etcd, containerd, runc and CNI plugins.
#
# Everything is real: the API server stores in etcd, controllers reconcile, the kubelet
# runs containers through containerd/runc on a CNI bridge, kube-proxy programs iptables.
# Packaged components, as k3s packages them: every manifest in
# /var/lib/rancher/k3s/server/manifests is applied once the API server is up (helmdrill copies
# CoreDNS, local-path-provisioner, MetalLB for servicelb and metrics-server there, their images
# into the preload directory); `--disable=NAME` (k3s's names: coredns, servicelb, traefik,
# local-storage, metrics-server) skips NAME.yaml. Traefik is not shipped. Images are preloaded
# from /var/lib/rancher/k3s/agent/images/*.tar, as k3s does in air-gapped mode; registry
# mirrors are read from /etc/containerd/certs.d/<host>/hosts.toml.
set -euo pipefail

STATE=/var/lib/rancher/k3s
PKI=$STATE/server/tls
CFG=$STATE/server/cred
IMAGES=$STATE/agent/images
LOGS=/var/log/helmdrill
KUBECONFIG_OUT=/etc/rancher/k3s/k3s.yaml
SERVICE_CIDR=10.43.0.0/16
CLUSTER_CIDR=10.42.0.0/16
POD_CIDR=10.42.0.0/24
API_SERVICE_IP=10.43.0.1
CLUSTER_DNS=10.43.0.10
CLUSTER_DOMAIN=cluster.local
MANIFESTS=$STATE/server/manifests
PAUSE_IMAGE=${HELMDRILL_PAUSE_IMAGE:-helmdrill.local/pause:3.10}

declare -A PIDS=()
declare -A DISABLED=()
TLS_SANS=()
EXTRA_APISERVER=() EXTRA_KCM=() EXTRA_SCHEDULER=() EXTRA_KUBELET=() EXTRA_PROXY=()

say() { echo "helmdrill-node: $*"; }

dump_logs() {
  for f in "$LOGS"/*.log; do
    [ -f "$f" ] || continue
    echo "----- last lines of $f"
    tail -n 25 "$f" || true
  done
}

die() {
  say "FATAL: $*"
  dump_logs
  exit 1
}

usage_versions() {
  echo "helmdrill-node (k3s-compatible entrypoint)"
  /usr/local/bin/kube-apiserver --version 2>/dev/null || true
  etcd --version 2>/dev/null | head -1 || true
  containerd --version 2>/dev/null || true
  runc --version 2>/dev/null | head -1 || true
}

# ---------------------------------------------------------------- arguments
cmd=${1:-server}
[ $# -gt 0 ] && shift
case "$cmd" in
  server) ;;
  --version | version) usage_versions; exit 0 ;;
  agent) die "'agent' mode is not supported: this image runs a single all-in-one node (use 'server')" ;;
  *) die "unknown command '$cmd' (expected 'server')" ;;
esac
for a in "$@"; do
  case "$a" in
    --tls-san=*) IFS=, read -r -a sans <<<"${a#--tls-san=}"; TLS_SANS+=("${sans[@]}") ;;
    --disable=*) IFS=, read -r -a names <<<"${a#--disable=}"; for n in "${names[@]}"; do DISABLED[$n]=1; done ;;
    --kube-apiserver-arg=*) EXTRA_APISERVER+=("--${a#--kube-apiserver-arg=}") ;;
    --kube-controller-manager-arg=*) EXTRA_KCM+=("--${a#--kube-controller-manager-arg=}") ;;
    --kube-scheduler-arg=*) EXTRA_SCHEDULER+=("--${a#--kube-scheduler-arg=}") ;;
    --kubelet-arg=*) EXTRA_KUBELET+=("--${a#--kubelet-arg=}") ;;
    --kube-proxy-arg=*) EXTRA_PROXY+=("--${a#--kube-proxy-arg=}") ;;
    *) say "note: ignoring unsupported k3s flag '$a'" ;;
  esac
done

# ---------------------------------------------------------------- supervision
shutdown() {
  say "stopping"
  for name in kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver containerd etcd; do
    [ -n "${PIDS[$name]:-}" ] && kill "${PIDS[$name]}" 2>/dev/null || true
  done
  wait || true
  exit 0
}
trap shutdown TERM INT

start() {
  local name=$1
  shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  PIDS[$name]=$!
  say "started $name (pid ${PIDS[$name]})"
}

assert_running() {
  local name
  for name in "${!PIDS[@]}"; do
    kill -0 "${PIDS[$name]}" 2>/dev/null || die "$name exited during startup (log: $LOGS/$name.log)"
  done
}

# wait_for DESCRIPTION SECONDS COMMAND...: poll a read-only check, failing fast if a component died.
wait_for() {
  local what=$1 limit=$2 t0=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    assert_running
    ((SECONDS - t0 < limit)) || die "timed out after ${limit}s waiting for $what"
    sleep 0.5
  done
  say "$what after $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- host plumbing
mkdir -p "$LOGS" "$PKI" "$CFG" "$IMAGES" "$MANIFESTS" /etc/rancher/k3s /run/helmdrill /var/lib/kubelet
mount --make-rshared / 2>/dev/null || say "note: could not make / rshared"
echo 1 >/proc/sys/net/ipv4/ip_forward
[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
[ -e /proc/sys/net/bridge/bridge-nf-call-ip6tables ] && echo 1 >/proc/sys/net/bridge/bridge-nf-call-ip6tables

NODE_NAME=$(hostname | tr '[:upper:]' '[:lower:]')
NODE_IP=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -n1)
[ -n "$NODE_IP" ] || die "no global IPv4 address on this container"
say "node $NODE_NAME at $NODE_IP"

# Pods get cgroups under this container's own cgroup, so several nodes on one host never
# share /kubepods and the container's memory accounting includes its pods.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  own=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
  base=/sys/fs/cgroup${own%/}
  mkdir -p "$base/init"
  while read -r p; do echo "$p" >"$base/init/cgroup.procs" 2>/dev/null || true; done <"$base/cgroup.procs"
  for c in $(cat "$base/cgroup.controllers"); do echo "+$c" >"$base/cgroup.subtree_control" 2>/dev/null || true; done
  CGROUP_ROOT=${own%/}/helmdrill
  mkdir -p "/sys/fs/cgroup$CGROUP_ROOT"
  say "cgroup v2, pods under $CGROUP_ROOT"
else
  own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
  CGROUP_ROOT=${own%/}/helmdrill
  for hierarchy in /sys/fs/cgroup/*/; do
    [ -d "$hierarchy${own#/}" ] || continue
    mkdir -p "$hierarchy${CGROUP_ROOT#/}"
    if [ -f "$hierarchy${CGROUP_ROOT#/}/cpuset.cpus" ]; then
      cat "$hierarchy${own#/}/cpuset.cpus" >"$hierarchy${CGROUP_ROOT#/}/cpuset.cpus"
      cat "$hierarchy${own#/}/cpuset.mems" >"$hierarchy${CGROUP_ROOT#/}/cpuset.mems"
    fi
  done
  # kubelet >= 1.35 refuses a cgroup v1 host unless told otherwise (KubeletConfiguration below).
  CGROUP_V1=1
  say "cgroup v1, pods under $CGROUP_ROOT (kubelet failCgroupV1: false)"
fi

# ---------------------------------------------------------------- PKI (ECDSA P-256, fast)
new_key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

# issue NAME SUBJECT USAGE [SAN...]
issue() {
  local name=$1 subject=$2 usage=$3
  shift 3
  local ext="$PKI/$name.ext"
  new_key "$PKI/$name.key"
  openssl req -new -key "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$usage"
    if [ $# -gt 0 ]; then
      local IFS=,
      echo "subjectAltName=$*"
    fi
  } >"$ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -out "$PKI/$name.crt" -extfile "$ext" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

if [ ! -f "$PKI/ca.crt" ]; then
  new_key "$PKI/ca.key"
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=helmdrill-node-ca@$(date +%s)" -days 3650 -out "$PKI/ca.crt" 2>/dev/null
  new_key "$PKI/sa.key"
  openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi
sans=("DNS:localhost" "DNS:kubernetes" "DNS:kubernetes.default" "DNS:kubernetes.default.svc"
  "DNS:kubernetes.default.svc.cluster.local" "DNS:$NODE_NAME" "IP:127.0.0.1" "IP:$NODE_IP" "IP:$API_SERVICE_IP")
# Clients reach the mapped port through whatever address their Docker host resolves to:
# localhost, or — when they run in a container themselves (testcontainers checks
# /.dockerenv) — the bridge gateway. k3s covers this with dynamic certificates; here the
# gateway joins the SANs.
GATEWAY_IP=$(ip -4 route show default | awk '{print $3; exit}')
[ -n "$GATEWAY_IP" ] && sans+=("IP:$GATEWAY_IP")
for san in "${TLS_SANS[@]}"; do
  if [[ "$san" =~ ^[0-9.]+$ ]]; then sans+=("IP:$san"); else sans+=("DNS:$san"); fi
done
issue apiserver "/CN=kube-apiserver" serverAuth "${sans[@]}"
issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
issue admin "/O=system:masters/CN=system:admin" clientAuth
issue controller-manager "/CN=system:kube-controller-manager" clientAuth
issue scheduler "/CN=system:kube-scheduler" clientAuth
issue kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
issue kubelet-serving "/CN=$NODE_NAME" serverAuth "DNS:$NODE_NAME" "DNS:localhost" "IP:$NODE_IP" "IP:127.0.0.1"
issue kube-proxy "/CN=system:kube-proxy" clientAuth
# The aggregation layer (metrics.k8s.io): the API server proxies as front-proxy-client,
# signed by a CA of its own, as kubeadm and k3s set it up.
if [ ! -f "$PKI/front-proxy-ca.crt" ]; then
  new_key "$PKI/front-proxy-ca.key"
  openssl req -x509 -new -key "$PKI/front-proxy-ca.key" -subj "/CN=helmdrill-front-proxy-ca@$(date +%s)" -days 3650 \
    -out "$PKI/front-proxy-ca.crt" 2>/dev/null
fi
new_key "$PKI/front-proxy-client.key"
openssl req -new -key "$PKI/front-proxy-client.key" -subj "/CN=front-proxy-client" -out "$PKI/front-proxy-client.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$PKI/fp.ext"
openssl x509 -req -in "$PKI/front-proxy-client.csr" -CA "$PKI/front-proxy-ca.crt" -CAkey "$PKI/front-proxy-ca.key" \
  -CAcreateserial -days 3650 -out "$PKI/front-proxy-client.crt" -extfile "$PKI/fp.ext" 2>/dev/null
rm -f "$PKI/front-proxy-client.csr" "$PKI/fp.ext"

b64() { base64 -w0 "$1"; }

# kubeconfig FILE SERVER CERT-NAME
kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(b64 "$PKI/ca.crt")
    server: $2
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: $(b64 "$PKI/$3.crt")
    client-key-data: $(b64 "$PKI/$3.key")
EOF
  chmod 600 "$1"
}
LOCAL_API=https://127.0.0.1:6443
for who in admin controller-manager scheduler kubelet kube-proxy; do
  kubeconfig "$CFG/$who.kubeconfig" "$LOCAL_API" "$who"
done

api() { curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$LOCAL_API$1"; }

# ---------------------------------------------------------------- etcd and containerd
start etcd etcd --name "$NODE_NAME" --data-dir /run/helmdrill/etcd \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster "$NODE_NAME=http://127.0.0.1:2380" --snapshot-count 10000 \
  --quota-backend-bytes 2147483648 --log-level warn
# Without CAP_SYS_RESOURCE (some sandboxes drop it) nobody may lower oom_score_adj, and the
# pod sandbox's -998 would kill every pod start: cap it at containerd's own value instead.
containerd_config=/etc/containerd/config.toml
bounding=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
if (((bounding >> 24) & 1)); then :; else
  say "note: no CAP_SYS_RESOURCE here; containerd restricts oom_score_adj"
  sed 's/^\(\s*\)disable_apparmor = true/\1disable_apparmor = true\n\1restrict_oom_score_adj = true/' /etc/containerd/config.toml >/run/helmdrill/containerd.toml
  containerd_config=/run/helmdrill/containerd.toml
fi
start containerd containerd --config "$containerd_config"

wait_for "etcd healthy" 60 curl -fsS --max-time 2 http://127.0.0.1:2379/health

start kube-apiserver kube-apiserver \
  --advertise-address="$NODE_IP" --bind-address=0.0.0.0 --secure-port=6443 \
  --etcd-servers=http://127.0.0.1:2379 \
  --allow-privileged=true \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --client-ca-file="$PKI/ca.crt" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" \
  --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --service-node-port-range=30000-32767 \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-username-headers=X-Remote-User \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
  --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --enable-aggregator-routing=true \
  --profiling=false \
  "${EXTRA_APISERVER[@]}"

wait_for "containerd serving" 60 ctr --address /run/containerd/containerd.sock version
shopt -s nullglob
for tarball in "$IMAGES"/*.tar; do
  ctr --address /run/containerd/containerd.sock -n k8s.io images import "$tarball" >>"$LOGS/images.log" 2>&1 ||
    die "could not import image archive $tarball (see $LOGS/images.log)"
  say "imported $(basename "$tarball")"
done
shopt -u nullglob

wait_for "kube-apiserver ready" 120 api /readyz
kubeconfig "$KUBECONFIG_OUT" "$LOCAL_API" admin

# The packaged components: every manifest k3s's deploy controller would apply, once, in name
# order, while the controllers and the kubelet come up; a disabled component's manifest is
# skipped (k3s: --disable).
apply_manifests() {
  local manifest name t0=$SECONDS
  # The API server creates kube-system itself, a moment after it is ready.
  until api /api/v1/namespaces/kube-system >/dev/null 2>&1; do
    ((SECONDS - t0 < 60)) || { say "FATAL: namespace kube-system did not appear in 60 s"; return 1; }
    sleep 0.5
  done
  shopt -s nullglob
  for manifest in "$MANIFESTS"/*.yaml; do
    name=$(basename "$manifest" .yaml)
    if [ -n "${DISABLED[$name]:-}" ]; then say "component $name disabled"; continue; fi
    KUBECONFIG=$KUBECONFIG_OUT kubectl apply --server-side --field-manager=helmdrill-node -f "$manifest" \
      >>"$LOGS/manifests.log" 2>&1 || { say "FATAL: could not apply $manifest (see $LOGS/manifests.log)"; return 1; }
    say "applied component $name"
  done
  shopt -u nullglob
}
apply_manifests &
MANIFESTS_PID=$!

start kube-controller-manager kube-controller-manager \
  --kubeconfig="$CFG/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$CFG/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$CFG/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10257 \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --root-ca-file="$PKI/ca.crt" \
  --service-account-private-key-file="$PKI/sa.key" \
  --use-service-account-credentials=true \
  --leader-elect=false \
  --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --profiling=false \
  "${EXTRA_KCM[@]}"

start kube-scheduler kube-scheduler \
  --kubeconfig="$CFG/scheduler.kubeconfig" \
  --authentication-kubeconfig="$CFG/scheduler.kubeconfig" \
  --authorization-kubeconfig="$CFG/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10259 \
  --leader-elect=false --profiling=false \
  "${EXTRA_SCHEDULER[@]}"

cat >"$STATE/agent/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$PKI/kubelet-serving.crt"
tlsPrivateKeyFile: "$PKI/kubelet-serving.key"
cgroupDriver: cgroupfs
cgroupRoot: "$CGROUP_ROOT"
cgroupsPerQOS: true
$([ -z "${CGROUP_V1:-}" ] || echo "failCgroupV1: false")
failSwapOn: false
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
clusterDomain: $CLUSTER_DOMAIN
$([ -n "${DISABLED[coredns]:-}" ] || echo "clusterDNS: [$CLUSTER_DNS]")
resolvConf: /etc/resolv.conf
hairpinMode: hairpin-veth
readOnlyPort: 0
serializeImagePulls: false
# Preloaded images cannot be pulled again: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
EOF

cat >"$STATE/agent/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$CFG/kube-proxy.kubeconfig"}
mode: iptables
clusterCIDR: "$CLUSTER_CIDR"
hostnameOverride: "$NODE_NAME"
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF

start kubelet kubelet \
  --config="$STATE/agent/kubelet.yaml" \
  --kubeconfig="$CFG/kubelet.kubeconfig" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
  --root-dir=/var/lib/kubelet \
  "${EXTRA_KUBELET[@]}"

start kube-proxy kube-proxy --config="$STATE/agent/kube-proxy.yaml" "${EXTRA_PROXY[@]}"

node_ready() { api "/api/v1/nodes/$NODE_NAME" | tr -d ' \n' | grep -q '"type":"Ready","status":"True"'; }
default_sa() { api /api/v1/namespaces/default/serviceaccounts/default; }
wait_for "node $NODE_NAME Ready" 180 node_ready
wait_for "default service account" 60 default_sa
wait "$MANIFESTS_PID" || { tail -n 20 "$LOGS/manifests.log"; die "the packaged components could not be applied"; }


# The line @testcontainers/k3s waits for (k3s prints it once its node controller synced).
say "Node controller sync successful"

# Supervise: if any component dies, the node is broken; say which and stop.
while true; do
  if ! wait -n; then :; fi
  for name in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
      say "$name exited unexpectedly"
      echo "----- last lines of $LOGS/$name.log"
      tail -n 40 "$LOGS/$name.log" || true
      exit 1
    fi
  done
done
