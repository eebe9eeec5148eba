/**
 * `npm run bench:cluster`: cold start → node Ready for each cluster provider (k3s and kind by
 * default), several times, and the node container's peak memory. Prints figures; asserts
 * nothing (targets are read by people, not enforced by timed assertions).
 *
 *   HELMDRILL_BENCH_STARTS=5 HELMDRILL_BENCH_CLUSTERS=k3s,kind npm run bench:cluster
 */
import { existsSync, readFileSync } from "node:fs";
import { providerFor } from "../harness/cluster/index.ts";
import { loadConfig } from "../harness/config.ts";
import { describeError } from "../harness/errors.ts";
import { run } from "../harness/exec.ts";

function peakMemoryBytes(containerId: string): number | undefined {
  const candidates = [
    `/sys/fs/cgroup/memory/docker/${containerId}/memory.max_usage_in_bytes`, // cgroup v1
    `/sys/fs/cgroup/system.slice/docker-${containerId}.scope/memory.peak`, // cgroup v2 (systemd driver)
    `/sys/fs/cgroup/docker/${containerId}/memory.peak`, // cgroup v2 (cgroupfs driver)
  ];
  const file = candidates.find(existsSync);
  return file ? Number(readFileSync(file, "utf8").trim()) : undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The node container's full id: the k3s provider names its cluster by it, kind by `<name>-control-plane`. */
async function nodeContainerId(kind: string, name: string): Promise<string> {
  const ref = kind === "kind" ? `${name}-control-plane` : name;
  return (await run(["docker", "inspect", "-f", "{{.Id}}", ref])).stdout.trim();
}

async function bench(cluster: "k3s" | "kind", starts: number): Promise<void> {
  const base = loadConfig();
  const readyMs: number[] = [];
  const peaks: number[] = [];
  for (let i = 1; i <= starts; i++) {
    const config = { ...base, cluster, runId: `${base.runId}-${cluster}${i}` };
    const provider = await providerFor(config);
    const t0 = performance.now();
    const started = await provider.start();
    const ms = performance.now() - t0;
    readyMs.push(ms);
    // Let the control plane settle for a few seconds, as a scenario run would, before reading the peak.
    await new Promise((r) => setTimeout(r, 5000));
    const peak = peakMemoryBytes(await nodeContainerId(started.kind, started.name));
    if (peak) peaks.push(peak);
    console.log(`${cluster} start ${i}/${starts}: node Ready after ${(ms / 1000).toFixed(1)} s; peak memory ${peak ? `${(peak / 2 ** 20).toFixed(0)} MiB` : "n/a"}`);
    await started.stop();
  }
  console.log(`${cluster}: cold start → node Ready: median ${(median(readyMs) / 1000).toFixed(1)} s (min ${(Math.min(...readyMs) / 1000).toFixed(1)} s, max ${(Math.max(...readyMs) / 1000).toFixed(1)} s, n=${starts})`);
  if (peaks.length) console.log(`${cluster}: node container peak memory: median ${(median(peaks) / 2 ** 20).toFixed(0)} MiB, max ${(Math.max(...peaks) / 2 ** 20).toFixed(0)} MiB\n`);
}

async function main() {
  const starts = Number(process.env.HELMDRILL_BENCH_STARTS ?? 3);
  const clusters = (process.env.HELMDRILL_BENCH_CLUSTERS ?? "k3s,kind").split(",").map((s) => s.trim());
  for (const cluster of clusters) {
    if (cluster !== "k3s" && cluster !== "kind") throw new Error(`unknown cluster "${cluster}" (k3s or kind)`);
    await bench(cluster, starts);
  }
}

main().catch((error) => {
  console.error(`bench:cluster: ${describeError(error)}`);
  process.exit(2);
});
