#!/bin/bash
# helmdrill: runs once in the build container of an offline kind node image, as
# `kind build node-image` does: imports every image under /kind/images into the node's
# containerd (namespace k8s.io, pinned, not unpacked) so that kubeadm never pulls.
set -euo pipefail
containerd >/tmp/containerd.log 2>&1 &
for _ in $(seq 1 60); do ctr version >/dev/null 2>&1 && break; sleep 1; done
ctr version >/dev/null || { tail -20 /tmp/containerd.log >&2; exit 1; }
for archive in /kind/images/*.tar; do
  ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - <"$archive"
done
ctr --namespace=k8s.io images list -q | grep -v '@sha256:' | sort
kill %1
wait || true
rm -rf /kind/images /tmp/containerd.log
