/**
 * Progress output for long phases (image builds, cluster start, helm waits): a line when a
 * phase starts, heartbeat lines while it runs, and a timing line when it ends. Written to
 * stderr so stdout stays clean for machine-readable output.
 */
export type Sink = (line: string) => void;

const sink: Sink = (line) => process.stderr.write(`${line}\n`);

export function info(message: string): void {
  sink(`helmdrill: ${message}`);
}

/**
 * The one heartbeat: `line(elapsed)` every `everyMs` until the returned stop is called, so
 * no long wait (a build, a cluster start, a Helm --wait) is ever silent.
 */
export function heartbeat(line: (elapsed: string) => void, everyMs: number): () => void {
  const t0 = performance.now();
  const timer = setInterval(() => line(formatDuration(Math.round(performance.now() - t0))), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Live lines for a scenario step run by a test worker: a start line, a heartbeat while it
 * runs and an end line with its status. Off unless the run asked for progress.
 */
export async function stepProgress<T extends { index: number; status: string; durationMs: number }>(
  enabled: boolean,
  tag: string,
  title: string,
  fn: () => Promise<T>,
  { heartbeatMs = 30_000 }: { heartbeatMs?: number } = {},
): Promise<T> {
  if (!enabled) return fn();
  info(`${tag} ${title} …`);
  const stop = heartbeat((elapsed) => info(`${tag} … still running after ${elapsed}`), heartbeatMs);
  try {
    const record = await fn();
    info(`${tag} step ${record.index}: ${record.status} (${formatDuration(record.durationMs)})`);
    return record;
  } finally {
    stop();
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

export interface PhaseTiming {
  name: string;
  outcome: "done" | "skipped" | "failed";
  durationMs: number;
  detail?: string;
}

/**
 * Runs one phase with a start line, a heartbeat every `heartbeatMs` (so a 20-minute build is
 * never silent), and a closing timing line.
 */
export async function phase<T>(
  name: string,
  fn: (progress: (message: string) => void) => Promise<T>,
  { heartbeatMs = 30_000 }: { heartbeatMs?: number } = {},
): Promise<T> {
  const t0 = performance.now();
  let last = "";
  sink(`▶ ${name}`);
  const stop = heartbeat(
    (elapsed) => sink(`  … ${name}: still running after ${elapsed}${last ? ` (${last})` : ""}`),
    heartbeatMs,
  );
  try {
    const result = await fn((message) => {
      last = message;
      sink(`  ${name}: ${message}`);
    });
    sink(`✔ ${name} (${formatDuration(Math.round(performance.now() - t0))})`);
    return result;
  } catch (error) {
    sink(`✖ ${name} failed after ${formatDuration(Math.round(performance.now() - t0))}`);
    throw error;
  } finally {
    stop();
  }
}
