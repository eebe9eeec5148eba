/**
 * Work a test's cleanup must wait for: vitest tears a test's fixtures down as soon as the test
 * times out, while its body — aborted, killing its commands — still runs for a moment. Deleting
 * the namespace under a helm that still runs would make that helm's last moments the run's noise.
 */
export class HeldWork {
  private readonly pending = new Set<Promise<void>>();

  /** Registers `work` (its outcome is the caller's: the returned promise is `work` itself). */
  hold<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    return work;
  }

  /** Waits until every held work has ended, or `ms` passed ("late": the caller cleans up anyway). */
  async settle(ms: number): Promise<"settled" | "late"> {
    if (this.pending.size === 0) return "settled";
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
    try {
      return await Promise.race([Promise.all(this.pending).then(() => "settled" as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
