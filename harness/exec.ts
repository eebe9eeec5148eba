import { execa } from "execa";
import os from "node:os";
import { $ } from "zx";
import { HelmdrillError } from "./errors.ts";

/** What every external command returns: enough to assert on, report and replay. */
export interface CommandResult {
  /** argv[0] is the program as invoked (a path or a name on PATH). */
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  startedAt: Date;
  /** True when helmdrill's own per-operation timeout killed the command. */
  timedOut: boolean;
  /** Set when the program could not be started at all (ENOENT, EACCES…). */
  spawnError?: string;
  /** The signal that ended the program, when one did (its exit code is then 128 + n, as a shell reports it). */
  signal?: string;
  /** The signal the caller sent to cancel it (a step's `cancel()`: a cancelled CI job, a killed runner). */
  cancelled?: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  input?: string;
  /** Called with each chunk of output as it arrives (live progress). */
  onOutput?: (chunk: string, stream: "stdout" | "stderr") => void;
  /** Aborting it sends `killSignal` (default SIGTERM) to the program; SIGKILL follows 5 s later if it is still there. */
  cancelSignal?: AbortSignal;
  killSignal?: NodeJS.Signals;
}

export function succeeded(r: CommandResult): boolean {
  return r.exitCode === 0 && !r.timedOut && !r.spawnError;
}

/** Shell-quotes an argument only when it needs it, so transcripts read like a terminal. */
export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Shell-like rendering of an argv, for transcripts, the walkthrough and messages. */
export function renderArgv(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/**
 * Runs a command once (never retried) and returns a typed result. A non-zero exit is a
 * result, not an exception: scenarios assert on failures.
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error("run() needs a program");
  const startedAt = new Date();
  const t0 = performance.now();
  const child = execa(file, args, {
    reject: false,
    all: false,
    env: options.env,
    extendEnv: true,
    cwd: options.cwd,
    timeout: options.timeoutMs,
    input: options.input,
    stdin: options.input === undefined ? "ignore" : undefined,
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
    cancelSignal: options.cancelSignal,
    killSignal: options.killSignal ?? "SIGTERM",
    forceKillAfterDelay: 5000,
  });
  if (options.onOutput) {
    child.stdout?.on("data", (d: Buffer) => options.onOutput!(d.toString(), "stdout"));
    child.stderr?.on("data", (d: Buffer) => options.onOutput!(d.toString(), "stderr"));
  }
  const r = await child;
  const spawnError =
    r.failed && r.exitCode === undefined && !r.timedOut && !r.signal && !r.isCanceled ? (r.cause instanceof Error ? r.cause.message : r.shortMessage) : undefined;
  return {
    argv: [file, ...args],
    exitCode: r.exitCode ?? (r.signal ? 128 + (os.constants.signals[r.signal as NodeJS.Signals] ?? 0) : r.timedOut ? 124 : 127),
    stdout: String(r.stdout ?? ""),
    stderr: String(r.stderr ?? ""),
    durationMs: Math.round(performance.now() - t0),
    startedAt,
    timedOut: Boolean(r.timedOut),
    spawnError,
    ...(r.signal ? { signal: r.signal } : {}),
    ...(r.isCanceled ? { cancelled: options.killSignal ?? "SIGTERM" } : {}),
  };
}

/**
 * `from | to` with pipefail semantics, through zx: each argv is quoted by zx (no shell string
 * is assembled by hand) and the bytes flow process to process (a root filesystem streamed
 * into `docker import -`). The result is the first failing side's, else the consumer's;
 * `argv` reads like the pipeline.
 */
export async function runPipeline(from: readonly string[], to: readonly string[], options: Pick<RunOptions, "timeoutMs" | "env" | "cwd"> = {}): Promise<CommandResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const zx = $({ nothrow: true, quiet: true, timeout: options.timeoutMs, env: { ...process.env, ...options.env }, cwd: options.cwd });
  const producer = zx`${from}`;
  const consumer = producer.pipe(zx`${to}`);
  const [p, c] = await Promise.all([producer, consumer]);
  const failed = [p, c].find((o) => o.exitCode !== 0) ?? c;
  return {
    argv: [...from, "|", ...to],
    exitCode: failed.exitCode ?? 124,
    stdout: c.stdout,
    stderr: `${p.stderr}${c.stderr}`,
    durationMs: Math.round(performance.now() - t0),
    startedAt,
    timedOut: failed.exitCode === null && failed.signal === "SIGTERM" && options.timeoutMs !== undefined,
  };
}

/** A pipeline for provisioning: any failure stops with a clear message. */
export async function runPipelineChecked(from: readonly string[], to: readonly string[], options: Pick<RunOptions, "timeoutMs" | "env" | "cwd"> & { what: string }): Promise<CommandResult> {
  return checked(await runPipeline(from, to, options), options);
}

/** For provisioning and setup, where any failure must stop with a clear message. */
export async function runChecked(argv: readonly string[], options: RunOptions & { what?: string } = {}): Promise<CommandResult> {
  return checked(await run(argv, options), options);
}

function checked(r: CommandResult, options: { what?: string; timeoutMs?: number }): CommandResult {
  if (!succeeded(r)) {
    const what = options.what ?? renderArgv(r.argv);
    const detail = r.spawnError ?? (r.timedOut ? `timed out after ${options.timeoutMs} ms` : tail(r.stderr || r.stdout, 15));
    throw new HelmdrillError(`${what} failed (exit ${r.exitCode})`, detail);
  }
  return r;
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
