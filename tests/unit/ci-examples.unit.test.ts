/**
 * The example CI workflows (examples/ci/) and the YAML in the docs name the Node and Go versions
 * the README requires — the README once asked for Go ≥ 1.26.6 while its example set up Go 1.26,
 * which cannot provision. Requirements are read from the README (and package.json's engines),
 * versions from the workflow files as YAML. And every `helmdrill` command they run is one the
 * README's command list shows, with options the command has.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { program } from "../../harness/cli/main.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";

const read = (rel: string) => readFileSync(path.join(PACKAGE_ROOT, rel), "utf8");

type Tool = "node" | "go";
interface Named {
  tool: Tool;
  /** As written: "22", "1.26.8", a range. */
  version: string;
  where: string;
}

/** "Node ≥ 20 and Go ≥ 1.26.6" in the README's opening paragraph. */
function readmeRequirements(readme: string): Record<Tool, string> {
  const node = /Node ≥ (\d+(?:\.\d+){0,2})/.exec(readme)?.[1];
  const go = /Go ≥ (\d+\.\d+(?:\.\d+)?)/.exec(readme)?.[1];
  if (!node || !go) throw new Error(`the README states no "Node ≥ …" / "Go ≥ …" requirement`);
  return { node: semver.coerce(node)!.version, go: semver.coerce(go)!.version };
}

/** The oldest version a setting admits ("22" → 22.0.0, "1.26" → 1.26.0), or undefined for "stable", "lts/*"… */
function oldest(version: string): string | undefined {
  const range = semver.validRange(version.replace(/^v/, ""));
  return range ? semver.minVersion(range)?.version : undefined;
}

/** What is wrong with each named version: too old for the requirement, or no version at all. */
function tooOld(named: Named[], required: Record<Tool, string>, engines?: string): string[] {
  return named.flatMap((n) => {
    const min = oldest(n.version);
    if (!min) return [`${n.where}: ${n.tool} "${n.version}" names no version (required ≥ ${required[n.tool]})`];
    const problems: string[] = [];
    if (semver.lt(min, required[n.tool])) problems.push(`${n.where}: ${n.tool} ${n.version} < ${required[n.tool]}`);
    if (n.tool === "node" && engines && !semver.satisfies(min, engines))
      problems.push(`${n.where}: node ${n.version} outside package.json engines ${engines}`);
    return problems;
  });
}

interface GithubStep {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}

/** setup-node's and setup-go's versions per job, and whether the job runs `helmdrill run`. */
function githubVersions(file: string) {
  const workflow = parse(read(file)) as { jobs: Record<string, { steps: GithubStep[] }> };
  const named: Named[] = [];
  const jobs: { job: string; runsScenarios: boolean; tools: Tool[] }[] = [];
  for (const [job, { steps }] of Object.entries(workflow.jobs)) {
    const tools: Tool[] = [];
    for (const step of steps) {
      for (const [tool, action, input] of [
        ["node", "actions/setup-node@", "node-version"],
        ["go", "actions/setup-go@", "go-version"],
      ] as const) {
        if (!step.uses?.startsWith(action)) continue;
        named.push({ tool, version: String(step.with?.[input] ?? ""), where: `${file} ${job}` });
        tools.push(tool);
      }
    }
    jobs.push({ job, runsScenarios: steps.some((s) => /helmdrill run\b/.test(s.run ?? "")), tools });
  }
  return { named, jobs };
}

/** The image's Node ("node:22-bookworm") and GO_VERSION, which the go.dev download must use. */
function gitlabVersions(file: string) {
  const text = read(file);
  const config = parse(text) as { default?: { image?: string }; variables?: Record<string, string> };
  const image = config.default?.image ?? "";
  const named: Named[] = [
    { tool: "node", version: /^node:(\d+(?:\.\d+){0,2})\b/.exec(image)?.[1] ?? image, where: `${file} image` },
    { tool: "go", version: config.variables?.GO_VERSION ?? "", where: `${file} GO_VERSION` },
  ];
  return { named, installsGoVersion: text.includes("go.dev/dl/go${GO_VERSION}.linux-amd64.tar.gz") };
}

/** node-version / go-version in a Markdown page's YAML code blocks. */
function markdownVersions(markdown: string, where: string): Named[] {
  return [...markdown.matchAll(/```ya?ml\n([\s\S]*?)```/g)].flatMap(([, block]) =>
    [...block!.matchAll(/\b(node|go)-version:\s*["']?([^"',}\s]+)/g)].map(
      ([, tool, version]) => ({ tool: tool as Tool, version: version!, where }) satisfies Named,
    ),
  );
}

/** The README's and docs/*.md's. */
function docsVersions(): Named[] {
  const files = ["README.md", ...readdirSync(path.join(PACKAGE_ROOT, "docs")).map((f) => `docs/${f}`)];
  return files.filter((f) => f.endsWith(".md")).flatMap((file) => markdownVersions(read(file), file));
}

describe("the Node and Go versions the CI examples name", () => {
  const required = readmeRequirements(read("README.md"));
  const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;

  it("the README's requirements are read as stated", () => {
    expect(required).toEqual({ node: "20.0.0", go: "1.26.6" });
  });

  it("the check flags what the README's old example named (Go 1.26) and a version that is no version", () => {
    const named: Named[] = [
      { tool: "go", version: "1.26", where: "old" },
      { tool: "go", version: "1.26.8", where: "new" },
      { tool: "node", version: "18", where: "old node" },
      { tool: "node", version: "20.1", where: "below engines" },
      { tool: "node", version: "lts/*", where: "alias" },
    ];
    expect(tooOld(named, required, engines)).toEqual([
      "old: go 1.26 < 1.26.6",
      "old node: node 18 < 20.0.0",
      "old node: node 18 outside package.json engines >=20.5",
      "below engines: node 20.1 outside package.json engines >=20.5",
      'alias: node "lts/*" names no version (required ≥ 20.0.0)',
    ]);
  });

  it("examples/ci/github-nightly.yml: every job that runs scenarios sets up Node and Go, new enough", () => {
    const { named, jobs } = githubVersions("examples/ci/github-nightly.yml");
    const running = jobs.filter((j) => j.runsScenarios);
    expect(running.length).toBeGreaterThan(0);
    for (const j of running) expect([j.job, [...j.tools].sort()]).toEqual([j.job, ["go", "node"]]);
    expect(tooOld(named, required, engines)).toEqual([]);
  });

  it("examples/ci/gitlab-nightly.yml: the image's Node and the Go it downloads are new enough", () => {
    const { named, installsGoVersion } = gitlabVersions("examples/ci/gitlab-nightly.yml");
    expect(installsGoVersion).toBe(true);
    expect(tooOld(named, required, engines)).toEqual([]);
  });

  it("no YAML block in the README or docs/ names an older Node or Go", () => {
    // What docs/ci.md's example said before: found, and too old.
    const before =
      "```yaml\n      - uses: actions/setup-node@v4\n        with: { node-version: 22, cache: npm }\n" +
      '      - uses: actions/setup-go@v5\n        with: { go-version: "1.26" }   # ≥ 1.26.6\n```\n';
    expect(tooOld(markdownVersions(before, "old docs/ci.md"), required, engines)).toEqual([
      "old docs/ci.md: go 1.26 < 1.26.6",
    ]);
    expect(tooOld(docsVersions(), required, engines)).toEqual([]);
  });
});

interface HelmdrillCall {
  command: string;
  options: string[];
  where: string;
}

/** `helmdrill <command> --option …` in shell lines (comments left out). */
function helmdrillCalls(lines: readonly string[], where: string): HelmdrillCall[] {
  return lines
    .map((l) => l.replace(/^\s*#.*$/, ""))
    .flatMap((line) =>
      [...line.matchAll(/\bhelmdrill ([a-z][a-z-]*)([^|;&#\n]*)/g)].map(([, command, rest]) => ({
        command: command!,
        options: [...rest!.matchAll(/(?:^|\s)(--[a-z][a-z-]*)/g)].map((m) => m[1]!),
        where,
      })),
    );
}

/** The shell the example workflows run: GitHub's `run:` steps, GitLab's scripts. */
function exampleCalls(): HelmdrillCall[] {
  const github = parse(read("examples/ci/github-nightly.yml")) as { jobs: Record<string, { steps: GithubStep[] }> };
  const gitlab = parse(read("examples/ci/gitlab-nightly.yml")) as Record<string, { script?: string[] }>;
  return [
    ...Object.entries(github.jobs).flatMap(([job, { steps }]) =>
      helmdrillCalls(
        steps.flatMap((s) => (s.run ?? "").split("\n")),
        `github-nightly.yml ${job}`,
      ),
    ),
    ...Object.entries(gitlab).flatMap(([job, j]) =>
      helmdrillCalls(
        (Array.isArray(j?.script) ? j.script : []).flatMap((l) => l.split("\n")),
        `gitlab-nightly.yml ${job}`,
      ),
    ),
  ];
}

/** What is wrong with each call: a command the README's list does not show, an option the command does not have. */
function undocumented(calls: readonly HelmdrillCall[], readme: string, cli = program()): string[] {
  const block = /## The CLI, exit codes and settings\n+```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  const listed = new Set(helmdrillCalls(block.split("\n"), "README").map((c) => c.command));
  return calls.flatMap((c) => {
    const command = cli.commands.find((k) => k.name() === c.command);
    if (!listed.has(c.command) || !command)
      return [`${c.where}: helmdrill ${c.command} is not in the README's command list`];
    const have = new Set(command.options.flatMap((o) => [o.long, o.negate ? o.long : undefined]));
    return c.options.filter((o) => !have.has(o)).map((o) => `${c.where}: helmdrill ${c.command} has no ${o}`);
  });
}

describe("the commands the CI examples run", () => {
  it("are found: run (sharded), merge and compare", () => {
    const calls = exampleCalls();
    expect([...new Set(calls.map((c) => c.command))].sort()).toEqual(["compare", "merge", "run"]);
    expect(calls.find((c) => c.command === "run" && c.where.startsWith("github"))?.options).toEqual([
      "--strict",
      "--shard",
      "--reports",
    ]);
  });

  it("are in the README's command list, each with options its command has", () => {
    expect(undocumented(exampleCalls(), read("README.md"))).toEqual([]);
  });

  it("the check flags a command the README does not show and an option a command lacks", () => {
    const calls = helmdrillCalls(
      ["npx helmdrill run --shard 1/2 --shards 2 && npx helmdrill list", "  # npx helmdrill nothing --at-all"],
      "demo",
    );
    expect(undocumented(calls, read("README.md"))).toEqual([
      "demo: helmdrill run has no --shards",
      "demo: helmdrill list is not in the README's command list",
    ]);
  });
});
