#!/usr/bin/env bash
# helmdrill's reaper (testcontainers' Ryuk habit, without an image): removes everything one
# run created — its labelled containers, kind clusters, namespaces on an existing cluster,
# processes it registered, and its scratch directory (temporary kubeconfigs, Helm homes).
#
#   reaper.sh watch PARENT_PID RUN_ID SCRATCH   wait until PARENT_PID is gone, then sweep
#   reaper.sh sweep RUN_ID SCRATCH              sweep now (signal handlers call this)
#
# A run that is kept on purpose (--keep after a failure) leaves SCRATCH/keep: watch then
# leaves it alone. Every part is idempotent; a sweep of an already clean run does nothing.
set -u
label=io.helmdrill.run

sweep() {
  local run=$1 scratch=$2
  if [ -f "$scratch/existing-cluster" ]; then
    # line 1: kubectl binary, line 2: kubeconfig (a copy inside SCRATCH)
    { read -r kubectl; read -r kubeconfig; } <"$scratch/existing-cluster"
    "$kubectl" --kubeconfig "$kubeconfig" delete namespace -l "$label=$run" --wait=false >/dev/null 2>&1
    # Flux objects keep a finalizer only their (now stopped) controllers remove: drop it, or the
    # namespace would wait for it forever. Deleting the namespace still removes the release's objects.
    for ns in $("$kubectl" --kubeconfig "$kubeconfig" get namespace -l "$label=$run" -o name 2>/dev/null); do
      for o in $("$kubectl" --kubeconfig "$kubeconfig" -n "${ns#namespace/}" get helmreleases.helm.toolkit.fluxcd.io,helmcharts.source.toolkit.fluxcd.io,helmrepositories.source.toolkit.fluxcd.io -o name 2>/dev/null); do
        "$kubectl" --kubeconfig "$kubeconfig" -n "${ns#namespace/}" patch "$o" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
      done
    done
  fi
  if [ -f "$scratch/pids" ]; then
    while read -r pid; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; done <"$scratch/pids"
    sleep 0.5
    while read -r pid; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; done <"$scratch/pids"
  fi
  if [ -f "$scratch/kind-clusters" ]; then
    while read -r name; do
      [ -n "$name" ] || continue
      ids=$(docker ps -aq --filter "label=io.x-k8s.kind.cluster=$name" 2>/dev/null)
      [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1
    done <"$scratch/kind-clusters"
  fi
  ids=$(docker ps -aq --filter "label=$label=$run" 2>/dev/null)
  [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1
  case "$scratch" in
    */helmdrill-*) rm -rf "$scratch" ;;
  esac
}

case "${1:-}" in
  watch)
    parent=$2 run=$3 scratch=$4
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    [ -e "$scratch/keep" ] && exit 0
    sweep "$run" "$scratch"
    ;;
  sweep)
    sweep "$2" "$3"
    ;;
  *)
    echo "usage: reaper.sh watch PARENT_PID RUN_ID SCRATCH | sweep RUN_ID SCRATCH" >&2
    exit 2
    ;;
esac
