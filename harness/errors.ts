/**
 * A user-facing failure: one clear sentence plus what to do about it.
 * The CLI and provisioning print `message` and `hint` (never a bare stack trace) and exit
 * with `exitCode`.
 */
export class HelmdrillError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "HelmdrillError";
  }

  /** The text a person sees. */
  describe(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message;
  }
}

export function describeError(error: unknown): string {
  if (error instanceof HelmdrillError) return error.describe();
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
