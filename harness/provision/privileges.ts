import { readFileSync } from "node:fs";
import { run, succeeded } from "../exec.ts";
import { pins } from "../pins.ts";

/**
 * `--privileged` where the engine can grant it, and its closest emulation where it cannot: on
 * a host whose capability bounding set lacks one (CAP_SYS_RESOURCE here), Docker 20.10 still
 * asks runc for every capability and runc fails with "unable to apply caps". Newer engines
 * (moby ≥ 23) grant only the capabilities the daemon has; helmdrill does the same by hand.
 */

/** Linux capability names by bit number (capability.h), for the privilege fallback. */
const CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
];

/** Capabilities missing from this process's bounding set (a sandbox may withhold some). */
export function missingCapabilities(status = readFileSync("/proc/self/status", "utf8")): string[] {
  const hex = /^CapBnd:\s*([0-9a-f]+)/m.exec(status)?.[1];
  if (!hex) return [];
  const bounding = BigInt(`0x${hex}`);
  return CAPABILITIES.filter((_, bit) => ((bounding >> BigInt(bit)) & 1n) === 0n);
}

let privilegedProbe: Promise<boolean> | undefined;

/** Can this Docker engine start a --privileged container at all? (It cannot where the host withholds a capability.) */
export function privilegedContainersWork(probeImage = pins().images.pause): Promise<boolean> {
  privilegedProbe ??= run(["docker", "run", "--rm", "--privileged", "--entrypoint", "/pause", probeImage, "-v"], {
    timeoutMs: 60_000,
  }).then(succeeded);
  return privilegedProbe;
}

/** `docker run` flags for a container that needs --privileged (a kind node, a build container). */
export async function privilegeArgs(): Promise<string[]> {
  if (await privilegedContainersWork()) return ["--privileged"];
  return emulatedPrivilegeArgs(missingCapabilities());
}

/**
 * Every capability the host has, no seccomp/AppArmor confinement, unmasked /proc and /sys
 * paths, /dev/kmsg, and a devices cgroup that allows every device — without it a privileged
 * pod inside (kube-proxy) fails with `failed to write "a *:* rwm" … devices.allow`.
 */
export function emulatedPrivilegeArgs(drop: string[]): string[] {
  return [
    "--device-cgroup-rule=a *:* rwm",
    "--cap-add=ALL",
    ...drop.map((c) => `--cap-drop=${c}`),
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--security-opt=systempaths=unconfined",
    "--device=/dev/kmsg",
  ];
}

let cgroupProbe: Promise<1 | 2 | undefined> | undefined;

/** The Docker host's cgroup version (`docker info`: the nodes' kubelets run on it), or undefined when it cannot be told. */
export function dockerCgroupVersion(): Promise<1 | 2 | undefined> {
  cgroupProbe ??= run(["docker", "info", "--format", "{{.CgroupVersion}}"], { timeoutMs: 30_000 }).then((r) =>
    succeeded(r) && /^[12]$/.test(r.stdout.trim()) ? (Number(r.stdout.trim()) as 1 | 2) : undefined,
  );
  return cgroupProbe;
}

/**
 * kubelet 1.35 and later refuse to start on a cgroup v1 host unless their KubeletConfiguration
 * says `failCgroupV1: false`; helmdrill's nodes say so on such a host (and only there), and the
 * reports name it beside the cluster.
 */
export const CGROUP_V1_NOTE = "cgroup v1 (kubelet failCgroupV1: false)";

/** What a node helmdrill starts on this host had to be told about it (`CGROUP_V1_NOTE`), or undefined. */
export async function hostNote(): Promise<string | undefined> {
  return (await dockerCgroupVersion()) === 1 ? CGROUP_V1_NOTE : undefined;
}
