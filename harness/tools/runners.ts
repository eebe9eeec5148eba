import { mkdirSync } from "node:fs";
import path from "node:path";
import { run, type CommandResult, type RunOptions } from "../exec.ts";
import { projectFromEnv } from "../project-env.ts";

/**
 * helm / helmfile / kubectl bound to one namespace, one kubeconfig and the tool versions
 * under test. Each call runs once (mutations are never retried), returns a typed result and
 * is reported to `onCommand` for the transcript.
 */
export interface ToolRunners {
  readonly namespace: string;
  helm(args: string[], options?: CallOptions): Promise<CommandResult>;
  /** helm with the version a migration target moves to (the same binary as `helm` otherwise). */
  helmTo(args: string[], options?: CallOptions): Promise<CommandResult>;
  helmfile(args: string[], options?: CallOptions): Promise<CommandResult>;
  kubectl(args: string[], options?: CallOptions): Promise<CommandResult>;
}

export interface CallOptions extends RunOptions {
  /** Probes (read-only reads) are kept out of the step's command list in transcripts. */
  probe?: boolean;
}

export interface RunnerBinding {
  helm: string;
  /** The Helm binary after a migration (default: `helm`). */
  helmTo?: string;
  helmfile?: string;
  kubectl: string;
  kubeconfigPath: string;
  namespace: string;
  /** Private HELM_*_HOME so the user's repos and plugins never leak in. */
  helmHome: string;
  cwd: string;
  onCommand?: (result: CommandResult, options: CallOptions) => void;
  /** Upper bound for any single command (a helm --wait adds its own --timeout). */
  defaultTimeoutMs?: number;
}

export function bindRunners(b: RunnerBinding): ToolRunners {
  // Temporary files too (helmfile leaves an empty /tmp/helmfile* directory per run): inside the
  // private home, so they go with it at cleanup, or with the run's scratch root on Ctrl-C.
  const tmp = path.join(b.helmHome, "tmp");
  mkdirSync(tmp, { recursive: true });
  const env = {
    TMPDIR: tmp,
    KUBECONFIG: b.kubeconfigPath,
    HELM_CONFIG_HOME: path.join(b.helmHome, "config"),
    HELM_CACHE_HOME: path.join(b.helmHome, "cache"),
    HELM_DATA_HOME: path.join(b.helmHome, "data"),
    HELMDRILL_NAMESPACE: b.namespace,
    NO_COLOR: "1",
  };
  const call = async (argv: string[], options: CallOptions = {}) => {
    const result = await run(argv, {
      cwd: b.cwd,
      timeoutMs: options.timeoutMs ?? b.defaultTimeoutMs ?? 600_000,
      ...options,
      env: { ...env, ...options.env },
    });
    b.onCommand?.(result, options);
    return result;
  };
  return {
    namespace: b.namespace,
    helm: (args, options) => call([b.helm, ...args, "--namespace", b.namespace], options),
    helmTo: (args, options) => call([b.helmTo ?? b.helm, ...args, "--namespace", b.namespace], options),
    kubectl: (args, options) => call([b.kubectl, ...args, "--namespace", b.namespace], options),
    helmfile: (args, options) => {
      if (!b.helmfile) throw new Error("this target has no helmfile version");
      return call([b.helmfile, "--helm-binary", b.helm, ...args], options);
    },
  };
}

/** The same runners with default options for every command (an explicit option still wins). */
export function withCallDefaults(runners: ToolRunners, defaults: CallOptions): ToolRunners {
  const wrap =
    (fn: ToolRunners["helm"]): ToolRunners["helm"] =>
    (args, options) =>
      fn(args, { ...defaults, ...options });
  return {
    namespace: runners.namespace,
    helm: wrap(runners.helm),
    helmTo: wrap(runners.helmTo),
    helmfile: wrap(runners.helmfile),
    kubectl: wrap(runners.kubectl),
  };
}

/**
 * The same runners with a default per-command timeout (a step's `withTimeout`): a command
 * still running then is killed and its result says so; an explicit timeoutMs still wins.
 */
export function withCommandTimeout(runners: ToolRunners, timeoutMs: number | undefined): ToolRunners {
  return timeoutMs === undefined ? runners : withCallDefaults(runners, { timeoutMs });
}

/**
 * argv as a person would type it from the project's root: tool paths shortened to their
 * names, paths inside the project made relative (./fixtures/…).
 */
export function displayArgv(argv: readonly string[], root = projectFromEnv()?.root ?? process.cwd()): string[] {
  return argv.map((a, i) => {
    if (i === 0 || argv[i - 1] === "--helm-binary") return path.basename(a);
    return a.startsWith(`${root}/`) ? `./${path.relative(root, a)}` : a;
  });
}
