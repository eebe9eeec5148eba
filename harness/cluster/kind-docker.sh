#!/usr/bin/env bash
# helmdrill's `docker` for the kind CLI, put first on kind's PATH only where this Docker engine
# cannot start a --privileged container (Docker 20.10 on a host whose capability bounding set
# lacks one: runc fails with "unable to apply caps"). Every command goes to the real docker
# unchanged, except that `docker run --privileged` becomes its closest emulation (and
# `docker exec --privileged` a plain exec, which gets the container's capabilities): every
# capability the host has, no seccomp/AppArmor confinement, unmasked /proc and /sys paths and
# /dev/kmsg (HELMDRILL_PRIVILEGE_ARGS, one flag per line). The node image's first process
# remounts /sys and the cgroup hierarchies writable, as --privileged would have mounted them.
set -euo pipefail
real=${HELMDRILL_REAL_DOCKER:?HELMDRILL_REAL_DOCKER is not set}
case "${1:-}" in
  run)
    shift
    args=()
    for a in "$@"; do
      if [ "$a" = --privileged ]; then
        mapfile -t emulation <<<"${HELMDRILL_PRIVILEGE_ARGS:?HELMDRILL_PRIVILEGE_ARGS is not set}"
        args+=("${emulation[@]}")
      else
        args+=("$a")
      fi
    done
    exec "$real" run "${args[@]}"
    ;;
  exec)
    # `docker exec --privileged` asks for every capability again; the process gets the
    # container's own (all the host has) without it.
    shift
    args=()
    for a in "$@"; do [ "$a" = --privileged ] || args+=("$a"); done
    exec "$real" exec "${args[@]}"
    ;;
esac
exec "$real" "$@"
