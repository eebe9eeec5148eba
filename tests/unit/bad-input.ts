/**
 * What the unit tests of bad input share: the HelmdrillError a call throws (or a promise rejects
 * with) — failing the test when it throws something else or nothing at all.
 */
import { expect } from "vitest";
import { HelmdrillError } from "../../harness/errors.ts";

function asHelmdrillError(error: unknown): HelmdrillError {
  expect(error).toBeInstanceOf(HelmdrillError);
  return error as HelmdrillError;
}

/** The HelmdrillError `fn` throws. */
export function thrown(fn: () => unknown): HelmdrillError {
  try {
    fn();
  } catch (error) {
    return asHelmdrillError(error);
  }
  throw new Error("no error thrown");
}

/** The HelmdrillError `p` rejects with. */
export async function rejected(p: Promise<unknown>): Promise<HelmdrillError> {
  try {
    await p;
  } catch (error) {
    return asHelmdrillError(error);
  }
  throw new Error("no error thrown");
}

/** The one message (with its hint) a user sees for what `fn` throws. */
export const described = (fn: () => unknown): string => thrown(fn).describe();
