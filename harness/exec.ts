import { execa } from "execa";
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
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  input?: string;
  /** Called with each chunk of output as it arrives (live progress). */
  onOutput?: (chunk: string, stream: "stdout" | "stderr") => void;
}

export function succeeded(r: CommandResult): boolean {
  return r.exitCode === 0 && !r.timedOut && !r.spawnError;
}

/** Shell-like rendering of an argv, for transcripts and messages. */
export function renderArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
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
  });
  if (options.onOutput) {
    child.stdout?.on("data", (d: Buffer) => options.onOutput!(d.toString(), "stdout"));
    child.stderr?.on("data", (d: Buffer) => options.onOutput!(d.toString(), "stderr"));
  }
  const r = await child;
  const spawnError =
    r.failed && r.exitCode === undefined && !r.timedOut ? (r.cause instanceof Error ? r.cause.message : r.shortMessage) : undefined;
  return {
    argv: [file, ...args],
    exitCode: r.exitCode ?? (r.timedOut ? 124 : 127),
    stdout: String(r.stdout ?? ""),
    stderr: String(r.stderr ?? ""),
    durationMs: Math.round(performance.now() - t0),
    startedAt,
    timedOut: Boolean(r.timedOut),
    spawnError,
  };
}

/** For provisioning and setup, where any failure must stop with a clear message. */
export async function runChecked(argv: readonly string[], options: RunOptions & { what?: string } = {}): Promise<CommandResult> {
  const r = await run(argv, options);
  if (!succeeded(r)) {
    const what = options.what ?? renderArgv(argv);
    const detail = r.spawnError ?? (r.timedOut ? `timed out after ${options.timeoutMs} ms` : tail(r.stderr || r.stdout, 15));
    throw new HelmdrillError(`${what} failed (exit ${r.exitCode})`, detail);
  }
  return r;
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
