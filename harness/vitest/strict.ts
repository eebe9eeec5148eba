import { inject, test } from "vitest";

/**
 * `--strict` (HELMDRILL_STRICT=1, what CI runs): what cannot run here — a target whose tool is
 * missing, a driver whose controllers were not built, a test that needs something absent —
 * fails the run instead of being skipped, so a green CI run means everything ran.
 */
export type CannotRunVerdict = "run" | "skip" | "fail";

/** What to do with something that cannot run for `reason` (undefined: it can run). */
export function cannotRunVerdict(strict: boolean, reason: string | undefined): CannotRunVerdict {
  if (!reason) return "run";
  return strict ? "fail" : "skip";
}

/**
 * For `describe.skipIf(skipUnlessStrict("the flux driver", flux.unavailable))`: true (skip) when
 * `reason` says it cannot run here; under --strict it registers a test that fails with the reason
 * instead, and the block is skipped behind it.
 */
export function skipUnlessStrict(
  what: string,
  reason: string | undefined,
  strict = inject("helmdrill").config.strict,
): boolean {
  const verdict = cannotRunVerdict(strict, reason);
  if (verdict === "fail") {
    test(`${what} can run here (--strict)`, () => {
      throw new Error(`--strict: ${what} cannot run here: ${reason}`);
    });
  }
  return verdict !== "run";
}
