/**
 * Kubernetes minors and clusters as a matrix axis (issue #11), as pure logic: parsing
 * --kubernetes and --cluster lists, the (cluster, minor) legs a run goes over, `kubernetes:`
 * selectors, and the matrix's cluster columns and the differences between clusters.
 */
import { describe, expect, it } from "vitest";
import {
  configToEnv,
  loadConfig,
  minorsToStart,
  parseClusterKinds,
  parseMinorsUnderTest,
} from "../../harness/config.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import {
  kindPin,
  kubernetesPin,
  minorsFor,
  parseKubernetesList,
  pinnedKubernetesMinors,
  pinnedKubernetesVersions,
  pins,
} from "../../harness/pins.ts";
import { runLegs } from "../../harness/cli/run.ts";
import { describeSelector, selects, validateSelector, type Target } from "../../harness/dsl/target.ts";
import { expectationCoverage } from "../../harness/dsl/coverage.ts";
import { defineScenario } from "../../harness/dsl/scenario.ts";
import { fails, succeeds } from "../../harness/dsl/checks.ts";
import { helm, step } from "../../harness/dsl/step.ts";
import { buildMatrix, comparableText } from "../../harness/report/model.ts";
import { renderMatrixMarkdown } from "../../harness/report/markdown.ts";
import { renderMatrixHtml } from "../../harness/report/html.ts";
import type { ScenarioRun, StepStatus } from "../../harness/dsl/scenario.ts";
import { clusterLabel } from "../../harness/vitest/drill.ts";
import { kindClusterConfig } from "../../harness/cluster/kind.ts";
import { parse } from "yaml";

const error = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof HelmdrillError ? e.describe() : `not a HelmdrillError: ${String(e)}`;
  }
  return "no error";
};

describe("pinned Kubernetes minors", () => {
  it("pins 1.34 to 1.37 for the k3s-compatible node and kind, with a full version each", () => {
    expect(pinnedKubernetesMinors()).toEqual(["1.34", "1.35", "1.36", "1.37"]);
    expect(minorsFor("k3s")).toEqual(["1.34", "1.35", "1.36", "1.37"]);
    expect(minorsFor("kind")).toEqual(["1.34", "1.35", "1.36", "1.37"]);
    // Each minor's kind node is built with the etcd and CoreDNS its kubeadm asks for
    // (cmd/kubeadm/app/constants/constants.go of that version).
    expect(kindPin("1.34")).toMatchObject({
      upstreamNodeImage: "kindest/node:v1.34.0",
      etcd: { module: "go.etcd.io/etcd/server/v3", version: "v3.6.5" },
      coredns: { version: "v1.12.1" },
    });
    expect(kindPin("1.35")).toMatchObject({ etcd: { version: "v3.6.6" }, coredns: { version: "v1.13.1" } });
    expect(kindPin("1.36")).toMatchObject({ etcd: { version: "v3.6.8" }, coredns: { version: "v1.14.2" } });
    expect(kindPin("1.37")).toMatchObject({
      upstreamNodeImage: "kindest/node:v1.37.0",
      etcd: { version: "v3.7.0" },
      coredns: { version: "v1.14.6" },
    });
    expect(error(() => kindPin("1.20"))).toMatch(/^Kubernetes 1\.20 is not pinned/);
    expect(kubernetesPin("1.37")).toMatchObject({
      minor: "1.37",
      version: "v1.37.2",
      stagingVersion: "v0.37.2",
      goDirective: "1.26.0",
      module: "k8s.io/kubernetes",
    });
    expect(kubernetesPin().minor).toBe(pins().cluster.kubernetes.default);
    expect(pinnedKubernetesVersions()).toEqual(["1.34.4", "1.35.4", "1.36.3", "1.37.2"]);
  });

  it("parses --kubernetes lists: minors, v-prefixed, the pinned patch, all; the default when empty", () => {
    expect(parseKubernetesList("1.34,1.37")).toEqual(["1.34", "1.37"]);
    expect(parseKubernetesList(" v1.37 , 1.34.4 ,1.37")).toEqual(["1.37", "1.34"]);
    expect(parseKubernetesList("all")).toEqual(["1.34", "1.35", "1.36", "1.37"]);
    expect(parseKubernetesList(undefined)).toEqual([pins().cluster.kubernetes.default]);
    expect(parseKubernetesList(["1.35"])).toEqual(["1.35"]);
  });

  it("refuses an unknown minor or an unpinned patch with the pinned ones", () => {
    expect(error(() => parseKubernetesList("1.33"))).toBe(
      'Kubernetes 1.33 is not pinned\n  → pinned: 1.34 (v1.34.4), 1.35 (v1.35.4), 1.36 (v1.36.3), 1.37 (v1.37.2); use a minor such as 1.37, a list, or "all"',
    );
    expect(error(() => parseKubernetesList("1.34.9"))).toMatch(/^Kubernetes 1\.34\.9 is not pinned/);
    expect(error(() => parseKubernetesList("latest"))).toMatch(/^Kubernetes latest is not pinned/);
  });

  it("tests the pinned default and the oldest minor unless HELMDRILL_MINORS says all or names some", () => {
    const fallback = [...new Set(["1.34", pins().cluster.kubernetes.default])];
    expect(parseMinorsUnderTest(undefined)).toEqual(fallback);
    expect(parseMinorsUnderTest("default")).toEqual(fallback);
    expect(loadConfig({}, {}).minorsUnderTest).toEqual(fallback);
    expect(loadConfig({}, { HELMDRILL_MINORS: "all" }).minorsUnderTest).toEqual(["1.34", "1.35", "1.36", "1.37"]);
    expect(parseMinorsUnderTest("1.36, 1.35")).toEqual(["1.35", "1.36"]);
    expect(error(() => parseMinorsUnderTest("1.33"))).toMatch(/^Kubernetes 1\.33 is not pinned/);
    // configToEnv carries the choice to the CLI's children.
    expect(configToEnv(loadConfig({}, { HELMDRILL_MINORS: "all" })).HELMDRILL_MINORS).toBe("1.34,1.35,1.36,1.37");
  });

  it("a provider's tests start the minors under test it has a node for, and name the others", () => {
    expect(minorsToStart("kind", { minorsUnderTest: ["1.34", "1.37"] })).toEqual({
      start: ["1.34", "1.37"],
      missing: [],
    });
    expect(minorsToStart("k3s", { minorsUnderTest: ["1.34", "1.99"] })).toEqual({ start: ["1.34"], missing: ["1.99"] });
  });
});

describe("--cluster lists and the legs of a run", () => {
  it("parses providers in order, once each; existing only alone", () => {
    expect(parseClusterKinds("k3s,kind")).toEqual(["k3s", "kind"]);
    expect(parseClusterKinds("kind, k3s,kind")).toEqual(["kind", "k3s"]);
    expect(error(() => parseClusterKinds("k3s,existing"))).toMatch(
      /^--cluster existing cannot be combined with other clusters/,
    );
    expect(error(() => parseClusterKinds("k3s,minikube"))).toMatch(/^unknown cluster provider "minikube"/);
  });

  it("runs each provider on each selected minor, in the order given", () => {
    expect(runLegs({ clusters: ["k3s", "kind"], kubernetes: ["1.34", "1.37"] })).toEqual({
      legs: [
        { cluster: "k3s", kubernetes: "1.34" },
        { cluster: "k3s", kubernetes: "1.37" },
        { cluster: "kind", kubernetes: "1.34" },
        { cluster: "kind", kubernetes: "1.37" },
      ],
      notes: [],
    });
    expect(runLegs({ clusters: ["existing"], kubernetes: ["1.34"] }).legs).toEqual([
      { cluster: "existing", kubernetes: "" },
    ]);
  });

  // Every pinned minor has both nodes today; a minor pinned for one provider only is a pins.json away.
  const onlyK3sHas137 = (cluster: "k3s" | "kind") => (cluster === "k3s" ? ["1.34", "1.37"] : ["1.34"]);

  it("says which selected minor a provider has no node for, and runs it on the others", () => {
    expect(runLegs({ clusters: ["k3s", "kind"], kubernetes: ["1.34", "1.37"] }, onlyK3sHas137)).toEqual({
      legs: [
        { cluster: "k3s", kubernetes: "1.34" },
        { cluster: "k3s", kubernetes: "1.37" },
        { cluster: "kind", kubernetes: "1.34" },
      ],
      notes: ["kind: no node pinned for Kubernetes 1.37 (pinned: 1.34); running kind on 1.34 only"],
    });
  });

  it("refuses a provider with a node for none of the selected minors", () => {
    expect(error(() => runLegs({ clusters: ["kind"], kubernetes: ["1.37"] }, onlyK3sHas137))).toBe(
      "--cluster kind has no node for Kubernetes 1.37\n  → pinned kind nodes: Kubernetes 1.34",
    );
  });
});

describe("kubernetes: selectors", () => {
  const on = (kubernetes?: string): Target => ({
    driver: "helm",
    helm: "3.18.0",
    ...(kubernetes ? { kubernetes } : {}),
  });

  it("select by the cluster's Kubernetes version; a target without one is not selected", () => {
    expect(selects({ kubernetes: ">=1.34" }, on("1.34.4"))).toBe(true);
    expect(selects({ kubernetes: ">=1.35" }, on("1.34.4"))).toBe(false);
    expect(selects({ kubernetes: "1.37" }, on("1.37.2"))).toBe(true);
    expect(selects({ kubernetes: "<1.35", helm: ">=3.18.0" }, on("1.34.4"))).toBe(true);
    expect(selects({ kubernetes: ">=1.34" }, on())).toBe(false);
    expect(describeSelector({ helm: ">=4", kubernetes: ">=1.34" })).toBe("helm >=4, Kubernetes >=1.34");
    expect(() => validateSelector({ kubernetes: "one thirty four" })).toThrow(
      'invalid semver range for kubernetes: "one thirty four"',
    );
  });

  it("count as reached by a pinned minor, and an unpinned minor is reported unreached", () => {
    const spec = (range: string) =>
      defineScenario({
        id: "k",
        title: "k",
        summary: "",
        source: { file: "-", section: "-" },
        release: "r",
        steps: [
          step("install")
            .does(helm("version"))
            .expect(
              succeeds().when({ kubernetes: range }),
              fails().when({ kubernetes: `<${range.replace(/^>=/, "")}` }),
            ),
        ],
      });
    const pinned = { helmVersions: ["3.18.0"], helmfileVersions: [], kubernetesVersions: pinnedKubernetesVersions() };
    expect(expectationCoverage(spec(">=1.35"), pinned)).toEqual([]);
    const findings = expectationCoverage(spec(">=1.38"), pinned);
    expect(findings.map((f) => f.kind)).toEqual(["unreached"]);
    expect(findings[0]!.text).toMatch(/Kubernetes >=1\.38/);
  });
});

describe("the matrix over several clusters", () => {
  const run = (cluster: string, status: StepStatus, observed?: string, helmVersion = "3.18.0"): ScenarioRun => ({
    scenario: "s",
    title: "S",
    source: { file: "f", section: "x" },
    target: { driver: "helm", helm: helmVersion },
    targetLabel: `helm ${helmVersion}`,
    cluster: `${cluster} (image), Kubernetes v${cluster.split(" ")[1]}.0`,
    clusterLabel: cluster,
    namespace: `hd-s-${cluster.replace(/\W/g, "")}`,
    status: "passed",
    steps: [
      { index: 1, title: "install", commands: [], checks: [], status: "matches", drift: [], durationMs: 1 },
      {
        index: 2,
        title: "upgrade",
        commands: [],
        checks: [],
        status,
        drift: [],
        durationMs: 1,
        ...(observed ? { observedError: observed } : {}),
      },
    ],
    vars: {},
    startedAt: "2026-12-02T00:00:00.000Z",
    durationMs: 1,
  });

  it("labels a cluster by provider and minor", () => {
    expect(clusterLabel("k3s", "v1.33.5")).toBe("k3s 1.33");
    expect(clusterLabel("kind", "v1.34.4+k3s1")).toBe("kind 1.34");
  });

  it("keeps plain target columns on one cluster, and no cluster section", () => {
    const m = buildMatrix([run("k3s 1.34", "matches")], "doc");
    expect(m.columns).toEqual(["helm 3.18.0"]);
    expect(m.clusterDrift).toBeUndefined();
    expect(renderMatrixMarkdown(m)).not.toContain("Differences between clusters");
  });

  it("gives each target a column per cluster and lists the steps that differ, ignoring the run's namespace", () => {
    const runs = [
      run("k3s 1.34", "differs", "Error: UPGRADE FAILED: resource Deployment/hd-s-a-1b2c3d/web not ready"),
      run("k3s 1.33", "differs", "Error: UPGRADE FAILED: resource Deployment/hd-s-b-4e5f6a/web not ready"),
      run("kind 1.34", "matches", "Error: UPGRADE FAILED: timed out waiting for the condition"),
    ];
    const m = buildMatrix(runs, "doc");
    expect(m.columns).toEqual(["helm 3.18.0 · k3s 1.33", "helm 3.18.0 · k3s 1.34", "helm 3.18.0 · kind 1.34"]);
    expect(m.rows[1]!.cells["helm 3.18.0 · kind 1.34"]!.status).toBe("matches");
    expect(m.runs.map((r) => r.target)).toEqual([
      "helm 3.18.0 · k3s 1.34",
      "helm 3.18.0 · k3s 1.33",
      "helm 3.18.0 · kind 1.34",
    ]);
    expect(m.clusterDrift).toEqual([
      {
        scenario: "s",
        step: 2,
        title: "upgrade",
        target: "helm 3.18.0",
        cells: [
          {
            cluster: "k3s 1.33",
            status: "differs",
            observed: "Error: UPGRADE FAILED: resource Deployment/hd-s-b-4e5f6a/web not ready",
          },
          {
            cluster: "k3s 1.34",
            status: "differs",
            observed: "Error: UPGRADE FAILED: resource Deployment/hd-s-a-1b2c3d/web not ready",
          },
          {
            cluster: "kind 1.34",
            status: "matches",
            observed: "Error: UPGRADE FAILED: timed out waiting for the condition",
          },
        ],
      },
    ]);
    const md = renderMatrixMarkdown(m);
    expect(md).toContain("## Differences between clusters");
    expect(md).toContain(
      "- `s` step 2 (upgrade), helm 3.18.0: k3s 1.33: 🔶 differs — Error: UPGRADE FAILED: resource Deployment/hd-s-b-4e5f6a/web not ready; k3s 1.34: 🔶 differs",
    );
    expect(renderMatrixHtml(m)).toContain("<h2>Differences between clusters</h2>");
  });

  it("compares the first line of the error text, with the run's variables named: an allocated NodePort or a later condition line is no difference", () => {
    const withPort = (cluster: string, port: number, more: string) => ({
      ...run(
        cluster,
        "differs",
        `Error: INSTALLATION FAILED: Service "qa101" is invalid: nodePort: Invalid value: ${port}: provided port is already allocated\n${more}`,
      ),
      vars: { nodePort: port },
    });
    expect(comparableText("Error: x 30002 y\nsecond", { nodePort: 30002, n: 2 })).toBe("Error: x {nodePort} y");
    // The helm helmfile ran is named by its cached path: the version and the machine's cache are not the text.
    expect(
      comparableText(
        'in ./helmfile.yaml: command "/root/.cache/helmdrill/tools/helm/3.18.0/helm" exited; "/home/ci/.cache/helmdrill/tools/helmfile/1.8.0/helmfile"',
      ),
    ).toBe('in ./helmfile.yaml: command "helm" exited; "helmfile"');
    expect(
      buildMatrix([withPort("k3s 1.33", 30001, "Error: Ready UpgradeFailed"), withPort("k3s 1.34", 30002, "")], "doc")
        .clusterDrift,
    ).toEqual([]);
    const other = {
      ...withPort("k3s 1.34", 30002, ""),
      steps: withPort("k3s 1.34", 30002, "").steps.map((s) =>
        s.index === 2 ? { ...s, observedError: "Error: INSTALLATION FAILED: something else" } : s,
      ),
    };
    expect(buildMatrix([withPort("k3s 1.33", 30001, ""), other], "doc").clusterDrift?.map((d) => d.step)).toEqual([2]);
  });

  it("says so when every step behaved the same on each cluster", () => {
    const m = buildMatrix([run("k3s 1.34", "matches"), run("k3s 1.33", "matches")], "doc");
    expect(m.clusterDrift).toEqual([]);
    expect(renderMatrixMarkdown(m)).toContain("Every step of every target had the same state and the same error text");
  });
});

describe("kind's cluster configuration", () => {
  const patches = (config: string) =>
    ((parse(config) as { kubeadmConfigPatches: string[] }).kubeadmConfigPatches ?? []).map((p) => parse(p) as object);

  it("gives the API server aggregator routing in a patch without apiVersion (kind maps it onto v1beta3 and v1beta4)", () => {
    expect(patches(kindClusterConfig())).toEqual([
      { kind: "ClusterConfiguration", apiServer: { extraArgs: { "enable-aggregator-routing": "true" } } },
    ]);
  });

  it("tells the kubelet failCgroupV1: false on a cgroup v1 host only", () => {
    expect(patches(kindClusterConfig({ cgroupV1: true }))).toContainEqual({
      kind: "KubeletConfiguration",
      failCgroupV1: false,
    });
    expect(JSON.stringify(patches(kindClusterConfig({ cgroupV1: false })))).not.toContain("failCgroupV1");
  });
});
