/**
 * `npm run bench:cluster`: cold start → node Ready and start → every packaged component Ready
 * (CoreDNS, storage, load balancer, metrics, registry mirror) for each cluster provider (k3s and
 * kind by default) on each pinned Kubernetes minor it has a node for, several times, and the node
 * container's peak memory (targets: node ≤ 15 s, components ≤ 30 s, ≤ 1 GiB). Prints figures; asserts nothing (targets are read by people, not
 * enforced by timed assertions).
 *
 *   HELMDRILL_BENCH_STARTS=5 HELMDRILL_BENCH_CLUSTERS=k3s,kind HELMDRILL_KUBERNETES=1.34,1.37 npm run bench:cluster
 */
import { existsSync, readFileSync } from "node:fs";
import { providerFor } from "../harness/cluster/index.ts";
import { loadConfig, parseClusterKinds } from "../harness/config.ts";
import { parseKubernetesList } from "../harness/pins.ts";
import { legSlug, runLegs, type RunLeg } from "../harness/cli/run.ts";
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

async function bench(leg: RunLeg, starts: number): Promise<void> {
  const base = loadConfig();
  const { cluster } = leg;
  const label = legSlug(leg);
  const readyMs: number[] = [];
  const nodeMs: number[] = [];
  const peaks: number[] = [];
  for (let i = 1; i <= starts; i++) {
    const config = {
      ...base,
      cluster,
      clusters: [cluster],
      kubernetes: [leg.kubernetes],
      runId: `${base.runId}-${cluster}${i}`,
    };
    const provider = await providerFor(config);
    const t0 = performance.now();
    let node: number | undefined;
    const started = await provider.start((m) => {
      if (node === undefined && m.startsWith("node Ready")) node = performance.now() - t0;
    });
    const ms = performance.now() - t0;
    readyMs.push(ms);
    nodeMs.push(node ?? ms);
    // Let the control plane settle for a few seconds, as a scenario run would, before reading the peak.
    await new Promise((r) => setTimeout(r, 5000));
    const peak = peakMemoryBytes(await nodeContainerId(started.kind, started.name));
    if (peak) peaks.push(peak);
    const s = (x: number) => `${(x / 1000).toFixed(1)} s`;
    const mem = peak ? `${(peak / 2 ** 20).toFixed(0)} MiB` : "n/a";
    console.log(
      `${label} start ${i}/${starts}: node Ready after ${s(node ?? ms)}, every component Ready after ${s(ms)}; peak memory ${mem}`,
    );
    await started.stop();
  }
  const fig = (xs: number[]) =>
    `median ${(median(xs) / 1000).toFixed(1)} s (min ${(Math.min(...xs) / 1000).toFixed(1)} s, max ${(Math.max(...xs) / 1000).toFixed(1)} s, n=${starts})`;
  console.log(`${label}: start → node Ready: ${fig(nodeMs)} (target ≤ 15 s)`);
  console.log(
    `${label}: start → every packaged component Ready: ${fig(readyMs)} (target ≤ 30 s; components: ${base.disabled.length ? `all but ${base.disabled.join(", ")}` : "all"})`,
  );
  if (peaks.length)
    console.log(
      `${label}: node container peak memory (target ≤ 1 GiB): median ${(median(peaks) / 2 ** 20).toFixed(0)} MiB, max ${(Math.max(...peaks) / 2 ** 20).toFixed(0)} MiB\n`,
    );
}

async function main() {
  const starts = Number(process.env.HELMDRILL_BENCH_STARTS ?? 3);
  const clusters = parseClusterKinds(process.env.HELMDRILL_BENCH_CLUSTERS ?? "k3s,kind");
  if (clusters.includes("existing")) throw new Error("bench:cluster starts clusters: k3s or kind");
  const { legs, notes } = runLegs({
    clusters,
    kubernetes: parseKubernetesList(process.env.HELMDRILL_KUBERNETES ?? "all"),
  });
  for (const n of notes) console.log(n);
  for (const leg of legs) await bench(leg, starts);
}

main().catch((error) => {
  console.error(`bench:cluster: ${describeError(error)}`);
  process.exit(2);
});
