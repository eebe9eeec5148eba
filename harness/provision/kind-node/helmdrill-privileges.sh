#!/bin/bash
# helmdrill: the first process of an offline-built kind node, before kind's own entrypoint.
# kind starts its nodes with --privileged. Where the Docker engine cannot grant that (a host
# whose capability bounding set lacks one makes runc fail), helmdrill's docker wrapper for the
# kind CLI starts the node with every capability the host has, unconfined seccomp, AppArmor and
# /proc, and /dev/kmsg instead. Then:
#  - Docker mounts /sys and the cgroup hierarchies read-only: remount them writable, as
#    --privileged would have mounted them;
#  - without CAP_SYS_RESOURCE no process may lower its oom_score_adj, which runc does for
#    every pod sandbox ("can't get final child's PID from pipe"): containerd restricts it,
#    as kind's entrypoint does for rootless nodes.
# With a real --privileged none of this applies and the script only starts the entrypoint.
set -u
if grep -qE ' /sys ro[, ]' /proc/self/mountinfo; then
  mount -o remount,rw /sys || echo "helmdrill: could not remount /sys read-write" >&2
fi
awk '$5 ~ "^/sys/fs/cgroup" && $6 ~ "^ro" {print $5}' /proc/self/mountinfo | while read -r m; do
  mount -o remount,rw "$m" 2>/dev/null || mount -o remount,bind,rw "$m" || echo "helmdrill: could not remount $m read-write" >&2
done
capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
if (( ((16#$capeff) >> 24 & 1) == 0 )); then
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
fi
exec "$@"
