import { describe, expect, it } from "vitest";
import { loadConfig, parseClusterKind, parseProject } from "../../harness/config.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import { parseVersionList, pins } from "../../harness/pins.ts";
import { pickPort, STATIC_BAND } from "../../harness/cluster/nodeports.ts";
import { missingCapabilities } from "../../harness/provision/privileges.ts";
import { ExistingClusterProvider } from "../../harness/cluster/existing.ts";
import { filesFailedToRun, summaryLine } from "../../harness/report/ci-summary.ts";
import { run, renderArgv, runChecked, runPipeline, runPipelineChecked } from "../../harness/exec.ts";

describe("pins and version lists", () => {
  it("defaults to the pinned set", () => {
    expect(parseVersionList("helm", undefined)).toEqual(pins().defaults.helm);
    expect(parseVersionList("helm", "")).toEqual(pins().defaults.helm);
  });
  it("accepts v-prefixed, de-duplicated lists", () => {
    expect(parseVersionList("helm", "v4.1.4, 3.18.0,4.1.4")).toEqual(["4.1.4", "3.18.0"]);
  });
  it("accepts a well-formed version that is not pinned: it is built on demand", () => {
    expect(parseVersionList("helm", "3.20.2,v4.3.2,4.1.4")).toEqual(["3.20.2", "4.3.2", "4.1.4"]);
    expect(parseVersionList("helmfile", ["1.2.0"])).toEqual(["1.2.0"]);
    expect(parseVersionList("helm", "4.0.0-rc.1")).toEqual(["4.0.0-rc.1"]);
  });
  it("rejects malformed versions, and Helm 2, with a hint", () => {
    for (const bad of ["three", "3.20", "latest", "=3.20.2", "3.20.2.1", "3.20.2+build"])
      expect(() => parseVersionList("helm", bad), bad).toThrow(
        new RegExp(`malformed helm version "${bad.replace(/[.+]/g, "\\$&")}"`),
      );
    expect(() => parseVersionList("helm", "2.16.5")).toThrow(
      /helm 2\.16\.5 cannot be built: helmdrill builds Helm from helm\.sh\/helm\/v3/,
    );
    const error = (() => {
      try {
        parseVersionList("helmfile", "latest");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(HelmdrillError);
    expect((error as HelmdrillError).exitCode).toBe(2);
    expect((error as HelmdrillError).describe()).toMatch(/pinned helmfile versions: 0\.167\.1, 1\.8\.0; any other/);
  });
  it("every pinned helm has a checksum and an npm integrity or a Go module", () => {
    for (const [v, pin] of Object.entries(pins().helm)) {
      if (pin.source === "npm") expect(pin.sha256, v).toMatch(/^[0-9a-f]{64}$/);
      else expect(pin.module, v).toBeTruthy();
    }
  });
});

describe("configuration", () => {
  it("reads HELMDRILL_* variables in one place", () => {
    const c = loadConfig(
      {},
      {
        HOME: "/h",
        HELMDRILL_HELM: "4.1.4",
        HELMDRILL_CLUSTER: "kind",
        HELMDRILL_KEEP: "1",
        HELMDRILL_SCENARIOS: "a, b",
      },
    );
    expect(c).toMatchObject({
      helmVersions: ["4.1.4"],
      cluster: "kind",
      keep: true,
      scenarios: ["a", "b"],
      cacheDir: "/h/.cache/helmdrill",
    });
  });
  it("lets explicit overrides win", () => {
    expect(loadConfig({ helm: "3.18.0" }, { HELMDRILL_HELM: "4.1.4" }).helmVersions).toEqual(["3.18.0"]);
  });
  it("rejects unknown cluster providers", () => {
    expect(() => parseClusterKind("minikube")).toThrow(/unknown cluster provider "minikube"/);
  });
});

describe("existing clusters need an explicit opt-in", () => {
  it("refuses without a named kubeconfig and context", () => {
    expect(() => new ExistingClusterProvider({ optIn: true }).resolve()).toThrow(
      /without an explicitly named kubeconfig and context/,
    );
  });
  it("refuses without the opt-in", () => {
    expect(() => new ExistingClusterProvider({ kubeconfig: "/k", context: "prod", optIn: false }).resolve()).toThrow(
      /without an explicit opt-in/,
    );
  });
  it("refuses a context that is not in the kubeconfig", async () => {
    const { writeKubeconfig } = await import("../../harness/cluster/kubeconfig.ts");
    const yaml = [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
      "users: [{name: u, user: {token: t}}]",
      "contexts: [{name: dev, context: {cluster: c, user: u}}]",
      "current-context: dev",
    ].join("\n");
    const k = writeKubeconfig(yaml, "unit");
    try {
      expect(() => new ExistingClusterProvider({ kubeconfig: k.file, context: "prod", optIn: true }).resolve()).toThrow(
        /context "prod" is not in/,
      );
      expect(new ExistingClusterProvider({ kubeconfig: k.file, context: "dev", optIn: true }).resolve().server).toBe(
        "https://127.0.0.1:1",
      );
      await expect(
        new ExistingClusterProvider({ kubeconfig: k.file, context: "dev", optIn: true }).start(),
      ).rejects.toThrow(/is unreachable/);
    } finally {
      k.remove();
    }
  });
});

describe("NodePort ledger", () => {
  it("picks the lowest free port of the static band", () => {
    expect(pickPort(new Set(), {})).toBe(STATIC_BAND.first);
    expect(pickPort(new Set([30000, 30002]), { "30001": "ns-a" })).toBe(30003);
    expect(pickPort(new Set([30000]), {}, { first: 30000, last: 30000 })).toBeUndefined();
  });
});

describe("privilege fallback", () => {
  it("lists capabilities missing from the bounding set", () => {
    expect(missingCapabilities("CapBnd:\t000001fffeffffff\n")).toEqual(["SYS_RESOURCE"]);
    expect(missingCapabilities("CapBnd:\t000001ffffffffff\n")).toEqual([]);
  });
});

describe("typed command results", () => {
  it("captures exit code, output and duration without throwing", async () => {
    const r = await run(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toMatchObject({ exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: false });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });
  it("reports a missing program as a spawn error", async () => {
    const r = await run(["/nonexistent/helm", "version"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.spawnError).toMatch(/ENOENT/);
  });
  it("kills at the per-operation timeout", async () => {
    const r = await run(["sleep", "5"], { timeoutMs: 100 });
    expect(r.timedOut).toBe(true);
  });
  it("runChecked turns a failure into one clear HelmdrillError", async () => {
    await expect(runChecked(["sh", "-c", "echo broken >&2; exit 2"], { what: "building the thing" })).rejects.toThrow(
      /building the thing failed \(exit 2\)/,
    );
  });
  it("pipes one program into another with every argument intact (zx quotes them, no shell string)", async () => {
    const r = await runPipeline(["printf", "%s", "a b$HOME'\"x"], ["wc", "-c"]);
    expect(r).toMatchObject({ exitCode: 0, stdout: "11\n", timedOut: false });
    expect(r.argv).toEqual(["printf", "%s", "a b$HOME'\"x", "|", "wc", "-c"]);
  });
  it("a pipeline fails when its producer fails (pipefail), and stops at its timeout", async () => {
    const r = await runPipeline(["sh", "-c", "echo half; echo 'tar: short read' >&2; exit 2"], ["cat"]);
    expect(r).toMatchObject({ exitCode: 2, stderr: "tar: short read\n" });
    await expect(runPipelineChecked(["sh", "-c", "exit 2"], ["cat"], { what: "docker import x" })).rejects.toThrow(
      /docker import x failed \(exit 2\)/,
    );
    expect(await runPipeline(["sleep", "5"], ["cat"], { timeoutMs: 200 })).toMatchObject({ timedOut: true });
  });
  it("renders argv the way a shell would need it", () => {
    expect(renderArgv(["helmfile", "sync", "--args", "--cleanup-on-fail --atomic"])).toBe(
      "helmfile sync --args '--cleanup-on-fail --atomic'",
    );
  });
});

describe("CI closing line", () => {
  it("is `N passed, N failed` with skipped when there are some", () => {
    expect(
      summaryLine({ numPassedTests: 45, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, numTotalTests: 45 }),
    ).toBe("45 passed, 0 failed");
    expect(
      summaryLine({ numPassedTests: 4, numFailedTests: 1, numPendingTests: 1, numTodoTests: 0, numTotalTests: 6 }),
    ).toBe("4 passed, 1 failed, 1 skipped");
  });

  it("adds files that failed to run, not describe blocks around a failed test", () => {
    const results = {
      numPassedTests: 3,
      numFailedTests: 1,
      numPendingTests: 0,
      numTodoTests: 0,
      numTotalTests: 4,
      numFailedTestSuites: 3,
      testResults: [
        { name: "a.test.ts", status: "failed", assertionResults: [{ status: "passed" }, { status: "failed" }] },
        { name: "b.test.ts", status: "failed", message: "Cannot find module x\n  at …", assertionResults: [] },
        { name: "c.test.ts", status: "passed", assertionResults: [{ status: "passed" }, { status: "passed" }] },
      ],
    };
    expect(filesFailedToRun(results).map((f) => f.name)).toEqual(["b.test.ts"]);
  });
});

describe("images.build", () => {
  it("resolves a dockerfile from its context, as docker compose does", () => {
    const p = parseProject(
      {
        scenarios: ["s/*.ts"],
        images: { build: [{ tag: "app:1", context: "images/app", dockerfile: "Dockerfile.test" }] },
      },
      "/proj/helmdrill.config.ts",
    );
    expect(p.images.build).toEqual([
      { tag: "app:1", context: "/proj/images/app", dockerfile: "/proj/images/app/Dockerfile.test" },
    ]);
  });
});
