/**
 * `helmdrill versions`: the model (a pure function of the facts gathered) and its text. The
 * facts are made up here, so every line can be checked: pinned defaults, what is built (and
 * which builds are on demand, in helmdrill.lock or not), what is served, a proxy that did not
 * answer, Docker not answering, and the cache's size.
 */
import { describe, expect, it } from "vitest";
import {
  formatBytes,
  onDemandModules,
  renderVersions,
  versionsModel,
  type VersionFacts,
} from "../../harness/cli/versions.ts";
import { emptyLock } from "../../harness/tools/lock.ts";

const SHA = "c".repeat(64);

function facts(over: Partial<VersionFacts> = {}): VersionFacts {
  return {
    cacheDir: "/c/helmdrill",
    cacheSize: { bytes: 3 * 1024 ** 3 + 200 * 1024 ** 2 },
    helm: {
      pinned: ["4.3.1", "3.17.3", "3.18.0"],
      defaults: ["3.17.3", "4.3.1"],
      built: ["3.17.3", "4.3.1", "3.20.2", "3.19.5"],
    },
    helmfile: { pinned: ["1.8.0"], defaults: ["1.8.0"], built: [] },
    served: [
      { tool: "helm", served: { module: "helm.sh/helm/v3", versions: ["v3.19.5", "v3.20.2", "v3.21.4"] } },
      { tool: "helm", served: { module: "helm.sh/helm/v4", versions: ["v4.3.1", "v4.3.2"] } },
      { tool: "helmfile", served: { module: "github.com/helmfile/helmfile", error: "dial tcp: i/o timeout" } },
    ],
    lock: {
      file: "/p/helmdrill.lock",
      present: true,
      lock: {
        ...emptyLock(),
        helm: {
          "3.20.2": { module: "helm.sh/helm/v3", version: "v3.20.2", sha256: { "go1.26.8 linux/amd64": SHA } },
          "4.3.2": { module: "helm.sh/helm/v4", version: "v4.3.2", sha256: { "go1.26.8 linux/amd64": SHA } },
        },
      },
    },
    flux: [
      {
        target: "1.4",
        default: true,
        controllers: "helm-controller 1.4.0 + source-controller 1.7.0",
        helmLibrary: "3.19.0",
        state: "built",
      },
      {
        target: "1.6",
        default: true,
        controllers: "helm-controller 1.6.4 + source-controller 1.9.5",
        helmLibrary: "4.2.4",
        state: "failed",
      },
      {
        target: "1.7",
        default: false,
        controllers: "helm-controller 1.7.0 + source-controller 1.10.0",
        helmLibrary: "4.3.1",
        state: "missing",
      },
    ],
    kubernetes: {
      default: "1.34",
      minors: [
        { minor: "1.33", version: "v1.33.5", clusters: ["k3s"] },
        { minor: "1.34", version: "v1.34.4", clusters: ["k3s", "kind"] },
      ],
      nodeImages: [
        { cluster: "k3s", minor: "1.33" },
        { cluster: "k3s", minor: "1.34", image: "rancher/k3s:v1.34.4-k3s1" },
        { cluster: "kind", minor: "1.34", image: "helmdrill.local/kind-node:v1.34.4-abc" },
      ],
    },
    kind: { pinned: "0.30.0", built: ["0.29.0", "0.30.0"] },
    ...over,
  };
}

describe("versionsModel", () => {
  const model = versionsModel(facts());
  const tool = (key: string) => model.tools.find((t) => t.key === key)!;

  it("has a block per tool, in a fixed order", () => {
    expect(model.tools.map((t) => t.key)).toEqual([
      "helm",
      "helmfile",
      "flux",
      "kubernetes-k3s",
      "kubernetes-kind",
      "kind",
    ]);
  });

  it("pinned versions, oldest first, the defaults marked", () => {
    expect(tool("helm").pinned).toEqual([
      { version: "3.17.3", default: true },
      { version: "3.18.0", default: false },
      { version: "4.3.1", default: true },
    ]);
    expect(tool("kubernetes-k3s").pinned).toEqual([
      { version: "1.33", default: false, detail: "v1.33.5" },
      { version: "1.34", default: true, detail: "v1.34.4" },
    ]);
    expect(tool("kubernetes-kind").pinned.map((p) => p.version)).toEqual(["1.34"]);
  });

  it("built versions, on-demand ones with whether helmdrill.lock has them; locked ones not built are named", () => {
    expect(tool("helm").built).toEqual([
      { version: "3.17.3", pinned: true },
      { version: "3.19.5", pinned: false, detail: "on demand, not in helmdrill.lock yet" },
      { version: "3.20.2", pinned: false, detail: "on demand, in helmdrill.lock" },
      { version: "4.3.1", pinned: true },
    ]);
    expect(tool("helm").notes).toEqual(["in helmdrill.lock, not built here: 4.3.2 (built on first use)"]);
    expect(model.lock).toEqual({ file: "/p/helmdrill.lock", state: "present", entries: ["helm 3.20.2", "helm 4.3.2"] });
  });

  it("what is served on demand, per module, without the v; a proxy that did not answer is said, not fatal", () => {
    expect(tool("helm").onDemand).toEqual({
      modules: [
        { module: "helm.sh/helm/v3", versions: ["3.19.5", "3.20.2", "3.21.4"] },
        { module: "helm.sh/helm/v4", versions: ["4.3.1", "4.3.2"] },
      ],
    });
    expect(tool("helmfile").onDemand).toEqual({
      modules: [
        { module: "github.com/helmfile/helmfile", error: "the Go module proxy did not answer: dial tcp: i/o timeout" },
      ],
    });
    expect(tool("kind").onDemand).toEqual({ note: "pinned only: another version is a pins.json change" });
  });

  it("Flux, node images and the kind CLI as found", () => {
    expect(tool("flux").pinned).toEqual([
      { version: "1.4", default: true, detail: "helm-controller 1.4.0 + source-controller 1.7.0, Helm library 3.19.0" },
      { version: "1.6", default: true, detail: "helm-controller 1.6.4 + source-controller 1.9.5, Helm library 4.2.4" },
      {
        version: "1.7",
        default: false,
        detail: "helm-controller 1.7.0 + source-controller 1.10.0, Helm library 4.3.1",
      },
    ]);
    expect(tool("flux").built).toEqual([
      { version: "1.4", pinned: true },
      { version: "1.6", pinned: true, detail: "build failed (its runs are reported as not run)" },
    ]);
    expect(tool("kubernetes-k3s").built).toEqual([
      { version: "1.34", pinned: true, detail: "rancher/k3s:v1.34.4-k3s1" },
    ]);
    expect(tool("kind").built).toEqual([
      { version: "0.29.0", pinned: false },
      { version: "0.30.0", pinned: true },
    ]);
  });

  it("the cache's size; Docker not answering and a lock that cannot be read are said", () => {
    expect(model.cache).toEqual({ dir: "/c/helmdrill", bytes: 3 * 1024 ** 3 + 200 * 1024 ** 2, size: "3.2 GiB" });
    const m = versionsModel(
      facts({
        cacheSize: { error: "du timed out" },
        lock: { file: "/p/helmdrill.lock", present: true, error: "malformed /p/helmdrill.lock" },
        kubernetes: {
          ...facts().kubernetes,
          nodeImages: undefined,
          dockerError: "Cannot connect to the Docker daemon",
        },
      }),
    );
    expect(m.cache.size).toBe("size unknown (du timed out)");
    expect(m.lock).toMatchObject({ state: "unreadable", detail: "malformed /p/helmdrill.lock", entries: [] });
    expect(m.tools.find((t) => t.key === "kubernetes-k3s")!.notes).toEqual([
      "node images not looked at: Docker did not answer (Cannot connect to the Docker daemon)",
    ]);
  });
});

describe("renderVersions", () => {
  it("a block per tool: pinned (defaults marked), built, on demand", () => {
    const text = renderVersions(versionsModel(facts()));
    expect(text).toContain("cache  /c/helmdrill  3.2 GiB\n");
    expect(text).toContain("lock   /p/helmdrill.lock  (2 entries: helm 3.20.2, helm 4.3.2)\n");
    expect(text).toContain(
      "\nHelm\n" +
        "  pinned     3.17.3 (default), 3.18.0, 4.3.1 (default)\n" +
        "  built      3.17.3, 3.19.5 (on demand, not in helmdrill.lock yet), 3.20.2 (on demand, in helmdrill.lock), 4.3.1\n" +
        "  on demand  helm.sh/helm/v3: 3.19.5 3.20.2 3.21.4\n" +
        "             helm.sh/helm/v4: 4.3.1 4.3.2\n" +
        "             in helmdrill.lock, not built here: 4.3.2 (built on first use)\n",
    );
    expect(text).toContain(
      "  on demand  github.com/helmfile/helmfile: the Go module proxy did not answer: dial tcp: i/o timeout\n",
    );
    expect(text).toContain("\nKubernetes nodes (k3s)\n  pinned     1.33 (v1.33.5), 1.34 (v1.34.4, default)\n");
    expect(text).toContain("\nhelmfile\n  pinned     1.8.0 (default)\n  built      none\n");
  });

  it("says when there is no lock yet", () => {
    const text = renderVersions(versionsModel(facts({ lock: { file: "/p/helmdrill.lock", present: false } })));
    expect(text).toContain(
      "lock   /p/helmdrill.lock  (none: no version outside pins.json built for this project yet)\n",
    );
  });
});

describe("formatBytes and the modules asked", () => {
  it("binary units", () => {
    expect(formatBytes(0)).toBe("0 bytes");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 ** 2)).toBe("5.0 MiB");
  });

  it("Helm 3 and 4, and helmfile", () => {
    expect(onDemandModules()).toEqual([
      { tool: "helm", module: "helm.sh/helm/v3" },
      { tool: "helm", module: "helm.sh/helm/v4" },
      { tool: "helmfile", module: "github.com/helmfile/helmfile" },
    ]);
  });
});
