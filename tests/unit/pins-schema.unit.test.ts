/**
 * pins.json is validated against the zod schema its types are inferred from (#21): a malformed
 * file is one HelmdrillError naming each bad key path, not a TypeError where a value is first
 * read; and a project's extra pins take the same shape as pins.json's (`dropReplace` included).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseProject } from "../../harness/config.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import { COMPONENTS, PACKAGE_ROOT, parsePins, pins } from "../../harness/pins.ts";

const FILE = path.join(PACKAGE_ROOT, "pins.json");
const real = () => JSON.parse(readFileSync(FILE, "utf8")) as Record<string, any>;

/** The error parsePins throws for pins.json changed by `edit`. */
/** The lines of a pins.json error under its first line, trimmed: one per problem. */
function problemLines(error: HelmdrillError): string[] {
  return error.message
    .split("\n")
    .slice(1)
    .map((l) => l.trim());
}

function problemWith(edit: (p: Record<string, any>) => void): HelmdrillError {
  const p = real();
  edit(p);
  try {
    parsePins(JSON.stringify(p), "pins.json");
  } catch (error) {
    expect(error).toBeInstanceOf(HelmdrillError);
    return error as HelmdrillError;
  }
  throw new Error("parsePins accepted a malformed pins.json");
}

describe("pins.json", () => {
  it("as shipped passes its schema, packaged components included", () => {
    const parsed = parsePins(readFileSync(FILE, "utf8"), FILE);
    expect(Object.keys(parsed.cluster.components).sort()).toEqual([...COMPONENTS].sort());
    expect(parsed.flux.targets["1.4"]!.helmController.dropReplace).toEqual(["github.com/fluxcd/helm-controller/api"]);
    expect(pins().cluster.components.servicelb.build.map((b) => b.name)).toEqual([
      "metallb-controller",
      "metallb-speaker",
    ]);
  });

  it("keys starting with $ are comments at any level, not versions", () => {
    const parsed = parsePins(readFileSync(FILE, "utf8"), FILE);
    expect(real().helmfile.$comment).toBeTypeOf("string");
    expect(Object.keys(parsed.helmfile)).toEqual(["0.167.1", "1.8.0"]);
  });

  it("a missing value is named by its key path", () => {
    const error = problemWith((p) => delete p.cluster.components.coredns.image);
    expect(error.message).toBe(
      "malformed pins.json:\n  cluster.components.coredns.image: expected string, received undefined",
    );
  });

  it("a misspelt key, a wrong type and a missing component are each named, in one error", () => {
    const error = problemWith((p) => {
      p.flux.targets["1.4"].helmController.dropReplce = p.flux.targets["1.4"].helmController.dropReplace;
      p.helm["4.3.1"].version = 431;
      delete p.cluster.components["metrics-server"];
    });
    expect(problemLines(error)).toEqual([
      'helm["4.3.1"].version: expected string, received number',
      'unknown key flux.targets["1.4"].helmController.dropReplce',
      "cluster.components.metrics-server: expected object, received undefined",
    ]);
    expect(error.exitCode).toBe(2);
  });

  it("a source that is neither npm nor go-module is refused where it is", () => {
    const error = problemWith((p) => (p.helmfile["1.8.0"].source = "git"));
    expect(error.message).toMatch(/^malformed pins\.json:\n {2}helmfile\["1\.8\.0"\]\.source: /);
  });

  it("a flux default that is no flux target and a target not named by a minor are named", () => {
    const error = problemWith((p) => {
      p.flux.defaults = ["1.4", "2.0"];
      p.flux.targets["1.6.4"] = p.flux.targets["1.6"];
    });
    expect(problemLines(error)).toEqual([
      'flux.targets["1.6.4"]: not a helm-controller minor, e.g. "1.6"',
      'flux.defaults[1]: "2.0" is no flux target (targets: 1.4, 1.6, 1.6.4)',
    ]);
  });

  it("a replace that names no module@version is named", () => {
    const error = problemWith(
      (p) => (p.flux.targets["1.6"].sourceController.replace = { "github.com/fluxcd/pkg/artifact": "v0.18.0" }),
    );
    expect(error.message).toBe(
      'malformed pins.json:\n  flux.targets["1.6"].sourceController.replace["github.com/fluxcd/pkg/artifact"]: module@version',
    );
  });

  it("text that is not JSON says so", () => {
    expect(() => parsePins("{ nope", "pins.json")).toThrow(/^pins\.json is not valid JSON: /);
  });
});

describe("a project's extra pins", () => {
  const goPin = {
    source: "go-module",
    module: "helm.sh/helm/v3",
    version: "v3.12.3",
    package: "./cmd/helm",
    dropReplace: ["helm.sh/helm/v3/internal/x"],
  };

  it("take pins.json's shape: a Go pin may drop replace directives", () => {
    const project = parseProject(
      { scenarios: ["s/*.ts"], pins: { helm: { "3.12.3": goPin } } },
      "/p/helmdrill.config.ts",
    );
    expect(project.pins?.helm?.["3.12.3"]).toEqual(goPin);
  });

  it("an unknown key in one is named by its path", () => {
    const bad = { scenarios: ["s/*.ts"], pins: { helm: { "3.12.3": { ...goPin, replaces: [] } } } };
    expect(() => parseProject(bad, "/p/helmdrill.config.ts")).toThrow(/unknown key pins\.helm\["3\.12\.3"\]\.replaces/);
  });
});
