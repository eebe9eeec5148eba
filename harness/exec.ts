import { execa, type Result } from "execa";
import os from "node:os";
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
  return {
    argv: [file, ...args],
    ...outcome(r),
    stdout: String(r.stdout ?? ""),
    stderr: String(r.stderr ?? ""),
    durationMs: Math.round(performance.now() - t0),
    startedAt,
    ...(r.isCanceled ? { cancelled: options.killSignal ?? "SIGTERM" } : {}),
  };
}

/** How one program ended, as a shell reports it: its code, 128 + n for a signal, 124 a timeout, 127 not started. */
function outcome(r: Result): Pick<CommandResult, "exitCode" | "timedOut" | "spawnError" | "signal"> {
  const spawnError =
    r.failed && r.exitCode === undefined && !r.timedOut && !r.signal && !r.isCanceled
      ? r.cause instanceof Error
        ? r.cause.message
        : r.shortMessage
      : undefined;
  const signalled = r.signal ? 128 + (os.constants.signals[r.signal as NodeJS.Signals] ?? 0) : undefined;
  const exitCode = r.exitCode ?? signalled ?? (r.timedOut ? 124 : 127);
  return { exitCode, timedOut: Boolean(r.timedOut), spawnError, ...(r.signal ? { signal: r.signal } : {}) };
}

/**
 * `from | to` with pipefail semantics: no shell (each argv goes to its program as it is) and the
 * bytes flow process to process (a root filesystem streamed into `docker import -`). The result
 * is the rightmost failing side's, as bash's pipefail reports it — except that a producer killed
 * by SIGPIPE is not a failure: its consumer stopped reading, and the consumer's status is the
 * pipeline's. A consumer that exits early never crashes this process (EPIPE is execa's to handle).
 * `argv` reads like the pipeline.
 */
export async function runPipeline(
  from: readonly string[],
  to: readonly string[],
  options: Pick<RunOptions, "timeoutMs" | "env" | "cwd"> = {},
): Promise<CommandResult> {
  const [fromFile, ...fromArgs] = from;
  const [toFile, ...toArgs] = to;
  if (!fromFile || !toFile) throw new Error("runPipeline() needs two programs");
  const startedAt = new Date();
  const t0 = performance.now();
  const common = {
    reject: false,
    env: options.env,
    extendEnv: true,
    cwd: options.cwd,
    timeout: options.timeoutMs,
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
    forceKillAfterDelay: 5000,
  } as const;
  // The producer's stdout only flows into the consumer: never buffered, so no maxBuffer cuts a
  // root filesystem streamed into `docker import -` short (that killed tar mid-stream).
  const producerOptions = { ...common, stdin: "ignore", buffer: { stdout: false, stderr: true } } as const;
  const consumer = await execa(fromFile, fromArgs, producerOptions).pipe(toFile, toArgs, common);
  const producer = consumer.pipedFrom[0];
  const producerFailed = producer !== undefined && producer.failed && producer.signal !== "SIGPIPE";
  const reported = outcome(consumer.failed || !producerFailed ? consumer : producer);
  // Either side stopped by the timeout: the pipeline timed out (124, as timeout(1) says), whatever the other did then.
  const timedOut = Boolean(consumer.timedOut || producer?.timedOut);
  return {
    argv: [...from, "|", ...to],
    ...reported,
    ...(timedOut ? { exitCode: 124, timedOut } : {}),
    stdout: String(consumer.stdout ?? ""),
    stderr: `${String(producer?.stderr ?? "")}${String(consumer.stderr ?? "")}`,
    durationMs: Math.round(performance.now() - t0),
    startedAt,
  };
}

/** A pipeline for provisioning: any failure stops with a clear message. */
export async function runPipelineChecked(
  from: readonly string[],
  to: readonly string[],
  options: Pick<RunOptions, "timeoutMs" | "env" | "cwd"> & { what: string },
): Promise<CommandResult> {
  return checked(await runPipeline(from, to, options), options);
}

/** For provisioning and setup, where any failure must stop with a clear message. */
export async function runChecked(
  argv: readonly string[],
  options: RunOptions & { what?: string } = {},
): Promise<CommandResult> {
  return checked(await run(argv, options), options);
}

function checked(r: CommandResult, options: { what?: string; timeoutMs?: number }): CommandResult {
  if (!succeeded(r)) {
    const what = options.what ?? renderArgv(r.argv);
    const detail =
      r.spawnError ?? (r.timedOut ? `timed out after ${options.timeoutMs} ms` : tail(r.stderr || r.stdout, 15));
    throw new HelmdrillError(`${what} failed (exit ${r.exitCode})`, detail);
  }
  return r;
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
