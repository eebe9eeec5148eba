/**
 * `npm run bench:cluster`: cold start → node Ready for the k3s provider, several times, and
 * the node container's peak memory. Prints figures; asserts nothing (targets are read by
 * people, not enforced by timed assertions).
 *
 *   HELMDRILL_BENCH_STARTS=5 npm run bench:cluster
 */
import { existsSync, readFileSync } from "node:fs";
import { K3sProvider, RUN_LABEL } from "../harness/cluster/index.ts";
import { loadConfig } from "../harness/config.ts";
import { describeError } from "../harness/errors.ts";
import { saveImages, workloadImageRefs } from "../harness/provision/images.ts";

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

async function main() {
  const starts = Number(process.env.HELMDRILL_BENCH_STARTS ?? 3);
  const config = loadConfig();
  const archive = await saveImages(config.cacheDir, "workloads", workloadImageRefs());
  const readyMs: number[] = [];
  const peaks: number[] = [];
  for (let i = 1; i <= starts; i++) {
    const t0 = performance.now();
    const cluster = await new K3sProvider().withPreloadedImages(archive).withLabels({ [RUN_LABEL]: `bench-${process.pid}` }).start();
    const ms = performance.now() - t0;
    readyMs.push(ms);
    // Let the control plane settle for a few seconds, as a scenario run would, before reading the peak.
    await new Promise((r) => setTimeout(r, 5000));
    const peak = peakMemoryBytes(cluster.container.getId());
    if (peak) peaks.push(peak);
    console.log(`start ${i}/${starts}: node Ready after ${(ms / 1000).toFixed(1)} s; peak memory ${peak ? `${(peak / 2 ** 20).toFixed(0)} MiB` : "n/a"}`);
    await cluster.stop();
  }
  console.log(`\ncold start → node Ready: median ${(median(readyMs) / 1000).toFixed(1)} s (min ${(Math.min(...readyMs) / 1000).toFixed(1)} s, max ${(Math.max(...readyMs) / 1000).toFixed(1)} s, n=${starts})`);
  if (peaks.length) console.log(`node container peak memory: median ${(median(peaks) / 2 ** 20).toFixed(0)} MiB, max ${(Math.max(...peaks) / 2 ** 20).toFixed(0)} MiB`);
}

main().catch((error) => {
  console.error(`bench:cluster: ${describeError(error)}`);
  process.exit(2);
});
