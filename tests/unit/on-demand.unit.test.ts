/**
 * Versions pins.json does not pin (issue #22): a well-formed one is accepted wherever a version is
 * read (--helm, HELMDRILL_HELM, a project's targets) and built on demand with the pinned Go-module
 * builds' recipe; a cached build is checked against helmdrill.lock on every run. Nothing here builds:
 * the build itself is measured by hand (docs/versions.md), a cached binary is a stand-in file.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../harness/config.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import { PROJECT_ENV, type Project } from "../../harness/project-env.ts";
import {
  helmfileSupportsHelm,
  isPinned,
  onDemandModule,
  onDemandPin,
  parseVersionList,
  pins,
  toolPinFor,
} from "../../harness/pins.ts";
import { resolveTools, toolPath } from "../../harness/tools/index.ts";
import { ensureOnDemandTools, parseToolchain, unavailableError } from "../../harness/tools/on-demand.ts";
import { readLock } from "../../harness/tools/lock.ts";
import { rejected } from "./bad-input.ts";

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(os.tmpdir(), `helmdrill-${prefix}-`));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("a version that is not pinned is accepted wherever versions are read", () => {
  it("--helm / HELMDRILL_HELM / HELMDRILL_HELMFILE", () => {
    const c = loadConfig({ helm: ["3.20.2", "4.3.1"] }, { HOME: "/h", HELMDRILL_HELMFILE: "1.4.0" });
    expect(c.helmVersions).toEqual(["3.20.2", "4.3.1"]);
    expect(c.helmfileVersions).toEqual(["1.4.0"]);
    expect(loadConfig({}, { HOME: "/h", HELMDRILL_HELM: "v3.19.5" }).helmVersions).toEqual(["3.19.5"]);
  });

  it("a project's targets.helm", () => {
    const project: Project = {
      file: "/p/helmdrill.config.ts",
      root: "/p",
      scenarios: ["scenarios/*.ts"],
      chartsDir: "/p/fixtures",
      images: { preload: [], build: [] },
      targets: { helm: ["3.20.2"] },
      reportsDir: "/p/reports",
    };
    const c = loadConfig({}, { HOME: "/h", [PROJECT_ENV]: JSON.stringify(project) });
    expect(c.helmVersions).toEqual(["3.20.2"]);
    expect(c.root).toBe("/p");
  });

  it("malformed input is still bad input (exit 2), as is a Helm older than helm.sh/helm/v3", () => {
    for (const [tool, raw] of [
      ["helm", "3.20"],
      ["helm", "v3"],
      ["helmfile", "latest"],
      ["helm", "3.20.2-"],
    ] as const) {
      let error: unknown;
      try {
        parseVersionList(tool, raw);
      } catch (e) {
        error = e;
      }
      expect(error, raw).toBeInstanceOf(HelmdrillError);
      expect((error as HelmdrillError).message).toBe(`malformed ${tool} version "${raw}"`);
      expect((error as HelmdrillError).exitCode).toBe(2);
    }
    expect(() => parseVersionList("helm", "2.17.0")).toThrow(/^helm 2\.17\.0 cannot be built/);
  });

  it("pinned versions stay pinned; others are not", () => {
    for (const v of pins().defaults.helm) expect(isPinned("helm", v)).toBe(true);
    expect(isPinned("helm", "3.20.2")).toBe(false);
    expect(isPinned("helmfile", "1.8.0")).toBe(true);
  });
});

describe("the on-demand recipe is the pinned Go-module builds' recipe", () => {
  const pinned431 = pins().helm["4.3.1"];

  it("Helm 4: the 4.3.1 pin's package and ldflags, at the new version", () => {
    expect(pinned431?.source).toBe("go-module");
    const pin = onDemandPin("helm", "4.3.2");
    expect(pin).toMatchObject({ source: "go-module", module: "helm.sh/helm/v4", version: "v4.3.2" });
    expect(pin.package).toBe(pinned431!.source === "go-module" ? pinned431.package : "?");
    expect(pin.ldflags).toBe(pinned431!.source === "go-module" ? pinned431.ldflags : "?");
  });

  it("Helm 3: from helm.sh/helm/v3, the version stamped into v3's internal/version", () => {
    const pin = onDemandPin("helm", "3.20.2");
    expect(pin.module).toBe("helm.sh/helm/v3");
    expect(pin.version).toBe("v3.20.2");
    expect(pin.package).toBe("./cmd/helm");
    expect(pin.ldflags).toBe(
      "-s -w -X helm.sh/helm/v3/internal/version.version={version} -X helm.sh/helm/v3/internal/version.gitTreeState=clean",
    );
    expect(pin.ldflags).not.toContain("helm/v4");
  });

  it("helmfile: the pinned helmfile recipe; Helm 4 only from helmfile 1.2.0", () => {
    const pinned = pins().helmfile["1.8.0"]!;
    const pin = onDemandPin("helmfile", "1.4.0");
    expect(pin).toMatchObject({
      module: "github.com/helmfile/helmfile",
      version: "v1.4.0",
      package: pinned.source === "go-module" ? pinned.package : "?",
      ldflags: pinned.source === "go-module" ? pinned.ldflags : "?",
    });
    expect(helmfileSupportsHelm("1.4.0", "4.3.1")).toBe(true);
    expect(helmfileSupportsHelm("1.1.0", "4.3.1")).toBe(false);
    expect(helmfileSupportsHelm("1.1.0", "3.20.2")).toBe(true);
    expect(onDemandModule("helmfile", "2.0.0")).toBe("github.com/helmfile/helmfile/v2");
    // A pinned version keeps its own pin.
    expect(toolPinFor("helmfile", "0.167.1")).toBe(pins().helmfile["0.167.1"]);
  });
});

describe("why a version cannot be had", () => {
  const pin = { module: "helm.sh/helm/v3", version: "v3.99.0" };

  it("not served: says so, with go list -m -versions' list", async () => {
    const e = await unavailableError("helm", "3.99.0", pin, "unknown revision v3.99.0", {
      module: pin.module,
      versions: ["v3.19.5", "v3.20.2"],
    });
    expect(e.message).toMatch(
      /^helm 3\.99\.0 cannot be had: helm\.sh\/helm\/v3 v3\.99\.0 is not served by the Go module proxy \(GOPROXY=/,
    );
    expect(e.hint).toMatch(/^go list -m -versions helm\.sh\/helm\/v3: v3\.19\.5 v3\.20\.2\n/);
    expect(e.exitCode).toBe(2);
  });

  it("the proxy not answering is not called 'not served'", async () => {
    const e = await unavailableError("helm", "3.20.2", pin, "dial tcp: i/o timeout", {
      module: pin.module,
      error: "dial tcp: i/o timeout",
    });
    expect(e.message).toMatch(/cannot be had: the Go module proxy did not answer/);
    expect(e.hint).toMatch(/go mod download helm\.sh\/helm\/v3@v3\.99\.0: dial tcp: i\/o timeout/);
  });

  it("a served version whose download failed says the download's error", async () => {
    const e = await unavailableError(
      "helm",
      "3.20.2",
      { ...pin, version: "v3.20.2" },
      "verifying module: checksum mismatch",
      {
        module: pin.module,
        versions: ["v3.20.2"],
      },
    );
    expect(e.message).toBe("helm 3.20.2 cannot be had: downloading helm.sh/helm/v3@v3.20.2 failed");
    expect(e.hint).toBe("verifying module: checksum mismatch");
  });

  it("the toolchain of a build, from `go version -m`", () => {
    const text =
      "/c/helm: go1.26.8\n\tpath\thelm.sh/helm/v3/cmd/helm\n\tbuild\tCGO_ENABLED=0\n\tbuild\tGOARCH=amd64\n\tbuild\tGOOS=linux\n";
    expect(parseToolchain(text)).toBe("go1.26.8 linux/amd64");
    expect(parseToolchain("not a go binary")).toBeUndefined();
  });
});

describe("ensureOnDemandTools: a cached build checked against helmdrill.lock", () => {
  /** A cache holding a stand-in "helm 3.20.2" binary, and an empty project root. */
  function setup(content = "#!/bin/sh\necho v3.20.2\n") {
    const cacheDir = tempDir("cache");
    const root = tempDir("project");
    const binary = toolPath(cacheDir, "helm", "3.20.2");
    mkdirSync(path.dirname(binary), { recursive: true });
    writeFileSync(binary, content);
    chmodSync(binary, 0o755);
    return { cacheDir, root, binary, selection: { cacheDir, root, helm: ["3.20.2", "4.3.1"], helmfile: [] } };
  }

  it("records the cached build in a new lock, then finds it unchanged", async () => {
    const { root, selection } = setup();
    const lines: string[] = [];
    const first = await ensureOnDemandTools(selection, { build: false, progress: (l) => lines.push(l) });
    // Only the unpinned version: 4.3.1 is pinned.
    expect(first.map((r) => [r.tool, r.version, r.how, r.change])).toEqual([["helm", "3.20.2", "cached", "new entry"]]);
    const { lock, present } = readLock(root);
    expect(present).toBe(true);
    expect(lock.helm["3.20.2"]).toMatchObject({ module: "helm.sh/helm/v3", version: "v3.20.2" });
    expect(Object.values(lock.helm["3.20.2"]!.sha256)).toEqual([first[0]!.sha256]);
    expect(lines.join("\n")).toMatch(/helm 3\.20\.2 \(not pinned\): cached build, recorded in .*helmdrill\.lock/);
    const before = readFileSync(path.join(root, "helmdrill.lock"), "utf8");
    const second = await ensureOnDemandTools(selection, { build: false, progress: () => {} });
    expect(second[0]!.change).toBe("unchanged");
    expect(readFileSync(path.join(root, "helmdrill.lock"), "utf8")).toBe(before);
    // resolveTools takes it like a pinned build.
    const kubectl = toolPath(selection.cacheDir, "kubectl", pins().kubectl.version);
    mkdirSync(path.dirname(kubectl), { recursive: true });
    writeFileSync(kubectl, "");
    expect(resolveTools(selection.cacheDir, ["3.20.2"], []).helm["3.20.2"]).toBe(
      toolPath(selection.cacheDir, "helm", "3.20.2"),
    );
  });

  it("a cached binary that differs from the lock: exit 2, naming the entry to delete", async () => {
    const { binary, selection } = setup();
    await ensureOnDemandTools(selection, { build: false, progress: () => {} });
    writeFileSync(binary, "#!/bin/sh\necho tampered\n");
    const error = await rejected(ensureOnDemandTools(selection, { build: false, progress: () => {} }));
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(
      /^helm 3\.20\.2 does not match .*helmdrill\.lock: its sha256 \(built with .+\) is [0-9a-f]{64}, the lock says [0-9a-f]{64}$/,
    );
    expect(error.hint).toMatch(/delete the "3\.20\.2" entry under "helm"/);
  });

  it("not cached and not allowed to build (--no-provision): says how to get it", async () => {
    const { selection } = setup();
    const error = await rejected(
      ensureOnDemandTools({ ...selection, helm: ["3.19.5"] }, { build: false, progress: () => {} }),
    );
    expect(error.message).toBe("helm 3.19.5 is not built here");
    expect(error.hint).toMatch(
      /builds it from helm\.sh\/helm\/v3@v3\.19\.5 on first use — run once without --no-provision/,
    );
  });

  it("nothing unpinned: nothing is read or written", async () => {
    const { root, selection } = setup();
    expect(await ensureOnDemandTools({ ...selection, helm: ["4.3.1"] }, { build: false })).toEqual([]);
    expect(readLock(root).present).toBe(false);
  });

  it("a missing unpinned build is named as such by resolveTools", () => {
    const cacheDir = tempDir("cache");
    let error: unknown;
    try {
      resolveTools(cacheDir, ["3.19.5"], []);
    } catch (e) {
      error = e;
    }
    expect((error as HelmdrillError).hint).toMatch(
      /helm 3\.19\.5 \(not pinned\) is built on first use by `helmdrill run`/,
    );
  });
});
