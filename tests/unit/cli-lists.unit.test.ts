/**
 * The CLI's comma-separated options are split by commander (an argParser), not by hand in each
 * place that reads them; what an item may be is still checked by loadConfig, with the same
 * messages and exit code 2.
 */
import { describe, expect, it } from "vitest";
import type { Command } from "commander";
import { commaList, overrides, program } from "../../harness/cli/main.ts";
import { loadConfig } from "../../harness/config.ts";
import { thrown } from "./bad-input.ts";

/** The options `helmdrill <command> …args` parses to (default: run), without running the command. */
function parsed(args: string[], command = "run"): Record<string, unknown> {
  const p = program();
  const sub = p.commands.find((c) => c.name() === command) as Command;
  let options: Record<string, unknown> = {};
  sub.action((...a: unknown[]) => {
    options = (a.at(-1) as Command).opts();
  });
  p.parse(["node", "helmdrill", command, ...args]);
  return options;
}

describe("comma-separated options", () => {
  it("commaList splits, trims, drops empty items and adds a repeated option to the list", () => {
    expect(commaList(" 3.18.0, 4.1.4,,")).toEqual(["3.18.0", "4.1.4"]);
    expect(commaList("4.3.1", ["3.18.0"])).toEqual(["3.18.0", "4.3.1"]);
    expect(commaList("")).toEqual([]);
  });

  it("run's list options arrive as lists, --scenario's variadic values split too", () => {
    const o = parsed([
      "--helm",
      "3.18.0, 4.1.4",
      "--helm",
      "4.3.1",
      "--cluster",
      "k3s,kind",
      "--kubernetes",
      "1.34,1.37",
      "--disable",
      "servicelb",
      "--driver",
      "helm,flux",
      "--scenario",
      "a,b",
      "c",
    ]);
    expect(overrides(o)).toMatchObject({
      helm: ["3.18.0", "4.1.4", "4.3.1"],
      cluster: ["k3s", "kind"],
      kubernetes: ["1.34", "1.37"],
      disable: ["servicelb"],
      drivers: ["helm", "flux"],
      scenarios: ["a", "b", "c"],
    });
    const config = loadConfig(overrides(o), {});
    expect(config.helmVersions).toEqual(["3.18.0", "4.1.4", "4.3.1"]);
    expect(config.clusters).toEqual(["k3s", "kind"]);
  });

  it("walk's --driver is one choice, not a list", () => {
    const o = parsed(["some-scenario", "--driver", "flux", "--cluster", "kind"], "walk");
    expect(overrides(o)).toMatchObject({ drivers: ["flux"], cluster: ["kind"] });
    expect(loadConfig(overrides(o), {}).drivers).toEqual(["flux"]);
  });

  it("an absent option leaves the default; an empty one means the default too", () => {
    const o = parsed(["--helmfile", ""]);
    expect(overrides(o).helm).toBeUndefined();
    const config = loadConfig(overrides(o), {});
    expect(config.helmfileVersions.length).toBeGreaterThan(0);
  });

  it("a bad item is the same one clear error, exit code 2", () => {
    const cases: [string[], RegExp][] = [
      [["--helm", "4.1.4,3.99"], /^malformed helm version "3.99"$/],
      [["--helmfile", "latest"], /^malformed helmfile version "latest"$/],
      [["--kubernetes", "1.33"], /^Kubernetes 1\.33 is not pinned$/],
      [["--cluster", "k3s,existing"], /^--cluster existing cannot be combined with other clusters$/],
      [["--driver", "helm,argo"], /^unknown driver "argo"$/],
      [["--disable", "servicelb,loadbalancer"], /^unknown component "loadbalancer" to disable$/],
    ];
    for (const [args, message] of cases) {
      const error = thrown(() => loadConfig(overrides(parsed(args)), {}));
      expect(error.message, args.join(" ")).toMatch(message);
      expect(error.exitCode).toBe(2);
    }
  });
});
