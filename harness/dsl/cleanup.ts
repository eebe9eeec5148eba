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
  private readonly actions: { name: string; fn: () => Promise<unknown> | unknown }[] = [];
  private ran = false;

  defer(name: string, fn: () => Promise<unknown> | unknown): void {
    if (this.ran) throw new Error(`cleanup "${name}" registered after cleanup already ran`);
    this.actions.push({ name, fn });
  }

  get size(): number {
    return this.actions.length;
  }

  /** Runs all actions, newest first. Resolves to one record per action; never throws. */
  async run(): Promise<CleanupRecord[]> {
    if (this.ran) return [];
    this.ran = true;
    const records: CleanupRecord[] = [];
    while (this.actions.length > 0) {
      const { name, fn } = this.actions.pop()!;
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
