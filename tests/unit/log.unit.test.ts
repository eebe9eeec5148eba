import { afterEach, describe, expect, it, vi } from "vitest";
import { configToEnv, loadConfig } from "../../harness/config.ts";
import { heartbeat, stepProgress } from "../../harness/log.ts";

describe("one progress channel", () => {
  afterEach(() => vi.restoreAllMocks());

  it("progress is configuration: read once from HELMDRILL_PROGRESS, handed to workers through configToEnv", () => {
    expect(loadConfig({}, {}).progress).toBe(false);
    const on = loadConfig({}, { HELMDRILL_PROGRESS: "1" });
    expect(on.progress).toBe(true);
    expect(loadConfig({}, configToEnv(on)).progress).toBe(true);
    expect(loadConfig({}, configToEnv({ ...on, progress: false })).progress).toBe(false);
  });

  it("a step prints a start line, heartbeats while it runs and an end line — only when enabled", async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (lines.push(String(chunk)), true));
    const slow = () => new Promise<{ index: number; status: string; durationMs: number }>((r) => setTimeout(() => r({ index: 2, status: "matches", durationMs: 130 }), 130));
    await stepProgress(true, "[demo · helm 4.1.4]", "2. upgrade", slow, { heartbeatMs: 40 });
    expect(lines[0]).toBe("helmdrill: [demo · helm 4.1.4] 2. upgrade …\n");
    expect(lines.filter((l) => l.includes("still running after")).length).toBeGreaterThanOrEqual(1);
    expect(lines.at(-1)).toBe("helmdrill: [demo · helm 4.1.4] step 2: matches (130 ms)\n");
    lines.length = 0;
    await stepProgress(false, "[demo]", "2. upgrade", slow, { heartbeatMs: 40 });
    expect(lines).toEqual([]);
  });

  it("a heartbeat stops when told", async () => {
    const seen: string[] = [];
    const stop = heartbeat((e) => seen.push(e), 20);
    await new Promise((r) => setTimeout(r, 70));
    stop();
    const n = seen.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(n).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBe(n);
  });
});
