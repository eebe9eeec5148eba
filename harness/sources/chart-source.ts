import { existsSync, statSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import YAML from "yaml";
import { scratchDir } from "../util/scratch.ts";
import { HelmdrillError } from "../errors.ts";
import { run, runPipelineChecked } from "../exec.ts";

/**
 * Where a chart version comes from, for upgrade-check: a chart directory, a packaged `.tgz`,
 * a version in a chart repository (`--repo`), or a git ref of the repository a chart directory
 * lives in (checked out into a temporary worktree). Each resolves to a local path helm takes.
 */
export interface ResolvedChart {
  /** A directory or .tgz `helm install` takes. */
  path: string;
  name: string;
  version: string;
  /** How a person would name it: "./charts/app (1.2.0)", "app 1.1.0 from http://…", "git v1.1.0:charts/app". */
  origin: string;
}

export interface SourceContext {
  /** The helm binary and the environment (private Helm home) it runs with. */
  helm: string;
  env: Record<string, string>;
  /** A chart repository URL for "<name>@<version>" and bare versions. */
  repo?: string;
}

async function chartMeta(
  helm: string,
  chartPath: string,
  env: Record<string, string>,
): Promise<{ name: string; version: string }> {
  const r = await run([helm, "show", "chart", chartPath], { env, timeoutMs: 60_000 });
  if (r.exitCode !== 0)
    throw new HelmdrillError(
      `${chartPath} is not a chart helm can read`,
      r.stderr.trim() || `helm show chart exited ${r.exitCode}`,
    );
  const meta = YAML.parse(r.stdout) as { name?: string; version?: string };
  if (!meta?.name || !meta.version) throw new HelmdrillError(`${chartPath}: Chart.yaml has no name or version`);
  return { name: meta.name, version: meta.version };
}

async function fromRepo(ctx: SourceContext, name: string, version: string): Promise<ResolvedChart> {
  if (!ctx.repo)
    throw new HelmdrillError(
      `"${name}@${version}" names a chart in a repository, but no --repo was given`,
      "pass --repo <url>, or a chart directory or .tgz",
    );
  const dest = scratchDir("pull");
  const r = await run([ctx.helm, "pull", name, "--repo", ctx.repo, "--version", version, "--destination", dest], {
    env: ctx.env,
    timeoutMs: 120_000,
  });
  if (r.exitCode !== 0)
    throw new HelmdrillError(`could not fetch ${name} ${version} from ${ctx.repo}`, r.stderr.trim());
  const file = path.join(dest, `${name}-${version}.tgz`);
  return { path: file, ...(await chartMeta(ctx.helm, file, ctx.env)), origin: `${name} ${version} from ${ctx.repo}` };
}

/**
 * The chart at `ref` of the git repository `chartDir` is in, exported into the run's scratch
 * (`git archive`: a temporary tree, and no worktree record left in the user's repository).
 */
async function fromGit(ctx: SourceContext, chartDir: string, ref: string): Promise<ResolvedChart> {
  const top = await run(["git", "-C", chartDir, "rev-parse", "--show-toplevel"]);
  if (top.exitCode !== 0)
    throw new HelmdrillError(`--from git:${ref} needs the chart in a git repository, and ${chartDir} is not in one`);
  const root = top.stdout.trim();
  const rel = path.relative(root, chartDir);
  const verified = await run(["git", "-C", root, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (verified.exitCode !== 0) throw new HelmdrillError(`git ref "${ref}" does not name a commit in ${root}`);
  const tree = scratchDir("git");
  await runPipelineChecked(["git", "-C", root, "archive", "--format=tar", ref, "--", rel], ["tar", "-x", "-C", tree], {
    what: `git archive ${ref} -- ${rel}`,
    timeoutMs: 120_000,
  });
  const at = path.join(tree, rel);
  if (!existsSync(path.join(at, "Chart.yaml"))) throw new HelmdrillError(`${rel} has no Chart.yaml at git ref ${ref}`);
  return { path: at, ...(await chartMeta(ctx.helm, at, ctx.env)), origin: `git ${ref}:${rel}` };
}

/**
 * `spec`: a directory, a .tgz, "<name>@<version>" (with --repo), or — for the previous version
 * only — a bare version (the same chart's name in --repo) or "git:<ref>" (relative to `next`).
 */
export async function resolveChart(
  spec: string,
  ctx: SourceContext,
  next?: ResolvedChart & { dir?: string },
): Promise<ResolvedChart & { dir?: string }> {
  if (spec.startsWith("git:")) {
    if (!next?.dir)
      throw new HelmdrillError(`--from ${spec} needs <chart> to be a chart directory in a git repository`);
    return fromGit(ctx, next.dir, spec.slice(4));
  }
  const at = /^([a-z0-9][a-z0-9._-]*)@(.+)$/i.exec(spec);
  if (at && !existsSync(spec)) return fromRepo(ctx, at[1]!, at[2]!);
  if (next && semver.valid(spec) && !existsSync(spec)) return fromRepo(ctx, next.name, spec);
  const abs = path.resolve(spec);
  if (!existsSync(abs))
    throw new HelmdrillError(
      `chart ${spec} not found`,
      "give a chart directory, a .tgz, <name>@<version> with --repo, or (for --from) a version or git:<ref>",
    );
  const isDir = statSync(abs).isDirectory();
  if (isDir && !existsSync(path.join(abs, "Chart.yaml")))
    throw new HelmdrillError(`${abs} is not a chart directory (no Chart.yaml)`);
  const meta = await chartMeta(ctx.helm, abs, ctx.env);
  return {
    path: abs,
    ...meta,
    origin: `${path.relative(process.cwd(), abs) || abs} (${meta.version})`,
    ...(isDir ? { dir: abs } : {}),
  };
}
