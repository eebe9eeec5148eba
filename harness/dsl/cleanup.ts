/**
 * Cleanup as a last-in-first-out collector (chainsaw's habit): whatever a scenario creates
 * registers how to remove it, and everything runs in reverse order, even after a failure.
 * Every action runs even if an earlier one throws; all errors are reported together.
 */
export interface CleanupRecord {
  name: string;
  ok: boolean;
  error?: string;
  durationMs: number;
}

export class CleanupStack implements AsyncDisposable {
  private readonly actions: { name: string; fn: () => Promise<unknown> | unknown; host: boolean }[] = [];
  private ran = false;

  /**
   * `host: true` — the action touches only this machine (a process, a directory), never the
   * cluster: it still runs when the cluster is gone (`run({ hostOnly: true })`).
   */
  defer(name: string, fn: () => Promise<unknown> | unknown, o: { host?: boolean } = {}): void {
    if (this.ran) throw new Error(`cleanup "${name}" registered after cleanup already ran`);
    this.actions.push({ name, fn, host: o.host ?? false });
  }

  get size(): number {
    return this.actions.length;
  }

  /**
   * Runs all actions, newest first — with hostOnly, only those on this machine (the cluster is
   * gone: nothing there can be removed, and a call to it would only wait). Resolves to one record
   * per action run; never throws.
   */
  async run(o: { hostOnly?: boolean } = {}): Promise<CleanupRecord[]> {
    if (this.ran) return [];
    this.ran = true;
    const records: CleanupRecord[] = [];
    while (this.actions.length > 0) {
      const { name, fn, host } = this.actions.pop()!;
      if (o.hostOnly && !host) continue;
      const t0 = performance.now();
      try {
        await fn();
        records.push({ name, ok: true, durationMs: Math.round(performance.now() - t0) });
      } catch (error) {
        records.push({
          name,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
          durationMs: Math.round(performance.now() - t0),
        });
      }
    }
    return records;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const failed = (await this.run()).filter((r) => !r.ok);
    if (failed.length > 0)
      throw new AggregateError(
        failed.map((f) => new Error(`${f.name}: ${f.error}`)),
        "cleanup failed",
      );
  }
}
