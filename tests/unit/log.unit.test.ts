import { afterEach, describe, expect, it, vi } from "vitest";
import { configToEnv, loadConfig } from "../../harness/config.ts";
import { heartbeat, stepProgress } from "../../harness/log.ts";

describe("one progress channel", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("progress is configuration: read once from HELMDRILL_PROGRESS, handed to workers through configToEnv", () => {
    expect(loadConfig({}, {}).progress).toBe(false);
    const on = loadConfig({}, { HELMDRILL_PROGRESS: "1" });
    expect(on.progress).toBe(true);
    expect(loadConfig({}, configToEnv(on)).progress).toBe(true);
    expect(loadConfig({}, configToEnv({ ...on, progress: false })).progress).toBe(false);
  });

  // Fake timers (performance.now() included): the heartbeats are counted, not raced against a clock.
  it("a step prints a start line, heartbeats while it runs and an end line — only when enabled", async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (lines.push(String(chunk)), true));
    const slow = () =>
      new Promise<{ index: number; status: string; durationMs: number }>((r) =>
        setTimeout(() => r({ index: 2, status: "matches", durationMs: 130 }), 130),
      );
    const step = stepProgress(true, "[demo · helm 4.1.4]", "2. upgrade", slow, { heartbeatMs: 40 });
    await vi.advanceTimersByTimeAsync(130);
    await step;
    expect(lines).toEqual([
      "helmdrill: [demo · helm 4.1.4] 2. upgrade …\n",
      "helmdrill: [demo · helm 4.1.4] … still running after 40 ms\n",
      "helmdrill: [demo · helm 4.1.4] … still running after 80 ms\n",
      "helmdrill: [demo · helm 4.1.4] … still running after 120 ms\n",
      "helmdrill: [demo · helm 4.1.4] step 2: matches (130 ms)\n",
    ]);
    // Once the step has ended, no heartbeat follows.
    await vi.advanceTimersByTimeAsync(400);
    expect(lines).toHaveLength(5);
    lines.length = 0;
    const quiet = stepProgress(false, "[demo]", "2. upgrade", slow, { heartbeatMs: 40 });
    await vi.advanceTimersByTimeAsync(130);
    await quiet;
    expect(lines).toEqual([]);
  });

  it("a heartbeat beats every interval with the elapsed time, and stops when told", async () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const stop = heartbeat((e) => seen.push(e), 20);
    await vi.advanceTimersByTimeAsync(70);
    expect(seen).toEqual(["20 ms", "40 ms", "60 ms"]);
    stop();
    await vi.advanceTimersByTimeAsync(200);
    expect(seen).toEqual(["20 ms", "40 ms", "60 ms"]);
  });
});
