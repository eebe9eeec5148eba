/**
 * Every bad input ends with one clear message and a non-zero exit — never a stack trace as
 * the only output, never a started (let alone half-cleaned) cluster.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { run } from "../../harness/exec.ts";
import { kubernetesPin, PACKAGE_ROOT } from "../../harness/pins.ts";
import { parseMinorsUnderTest } from "../../harness/config.ts";
import { RUN_LABEL } from "../../harness/cluster/types.ts";

const CLI = path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs");
const helmdrill = (args: string[], env: Record<string, string> = {}, timeoutMs = 120_000) =>
  run(["node", CLI, ...args], { env, timeoutMs });
/** Containers of one run (other tests start clusters at the same time). */
const containersOf = async (runId: string) =>
  (await run(["docker", "ps", "-aq", "--filter", `label=${RUN_LABEL}=${runId}`])).stdout.trim();

function expectCleanError(r: Awaited<ReturnType<typeof helmdrill>>, message: RegExp) {
  expect(r.exitCode, r.stderr).toBe(2);
  // Provisioning may print its phase lines first; the error is one `helmdrill: …` line plus its hint.
  expect(r.stderr).toMatch(/^helmdrill: /m);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
}

describe("a project's helmdrill.config.ts is validated before anything starts", () => {
  /** A project directory with these files; returns `helmdrill <args> --config <its config>`. */
  const project = async (files: Record<string, string>, args: string[] = ["run"]) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-project-"));
    try {
      for (const [rel, content] of Object.entries({ "package.json": '{ "type": "module" }\n', ...files })) {
        mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        writeFileSync(path.join(dir, rel), content);
      }
      const runId = `cfg${Date.now().toString(36)}`;
      const r = await helmdrill([...args, "--config", path.join(dir, "helmdrill.config.ts")], {
        HELMDRILL_RUN_ID: runId,
      });
      expect(await containersOf(runId)).toBe("");
      return r;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const API = pathToFileURL(path.join(PACKAGE_ROOT, "harness", "index.ts")).href;
  const config = (body: string) =>
    `import { defineConfig } from ${JSON.stringify(API)};\nexport default defineConfig(${body});\n`;
  const scenario = (id: string) =>
    `import { defineScenario, helm, step, succeeds } from ${JSON.stringify(API)};\nexport default defineScenario({ id: "${id}", title: "t", summary: "s", source: { file: "f", section: "s" }, release: "r", steps: [step("v").does(helm("version")).expect(succeeds())] });\n`;

  it("an unknown key, named by its path", async () => {
    expectCleanError(
      await project({ "helmdrill.config.ts": config(`{ scenarios: ["s/*.ts"], images: { pull: ["x"] } } as never`) }),
      /invalid .*helmdrill\.config\.ts:\n\s+unknown key images\.pull/,
    );
  });

  it("a value of the wrong type, named by its path", async () => {
    expectCleanError(
      await project({
        "helmdrill.config.ts": config(`{ scenarios: ["s/*.ts"], targets: { helm: "3.18.0" } } as never`),
      }),
      /targets\.helm: expected array, received string/,
    );
  });

  it("no config file at all", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-empty-"));
    try {
      expectCleanError(
        await run(["node", CLI, "list"], { cwd: dir }),
        /no helmdrill\.config\.ts in \S+ or any directory above it\n\s+→ create one with `helmdrill init`/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a scenario glob that matches nothing", async () => {
    expectCleanError(
      await project({ "helmdrill.config.ts": config(`{ scenarios: ["drills/*.ts"] }`) }, ["list"]),
      /scenario glob "drills\/\*\.ts" in \S+ matches no file/,
    );
  });

  it("two scenarios with one id", async () => {
    const files = {
      "helmdrill.config.ts": config(`{ scenarios: ["s/*.ts"] }`),
      "s/a.ts": scenario("same"),
      "s/b.ts": scenario("same"),
    };
    expectCleanError(await project(files, ["list"]), /scenario ids must be unique: "same" in s\/a\.ts and s\/b\.ts/);
  });

  it("a scenario file without a scenario", async () => {
    expectCleanError(
      await project(
        { "helmdrill.config.ts": config(`{ scenarios: ["s/*.ts"] }`), "s/helpers.ts": "export const x = 1;\n" },
        ["list"],
      ),
      /s\/helpers\.ts does not default-export a scenario/,
    );
  });
});

describe("helmdrill rejects bad input clearly", () => {
  it("an unknown scenario", async () => {
    expectCleanError(
      await helmdrill(["run", "--scenario", "no-such-scenario"]),
      /unknown scenario: no-such-scenario\n\s+→ known scenarios: apply-after-failed-upgrade, atomic-flag-spellings/,
    );
  });

  it("a Helm version that is not pinned and that the Go module proxy does not serve", async () => {
    // Well-formed, so it is built on demand — and helm.sh/helm/v3 has no v3.99.0: the reason, exit 2.
    expectCleanError(
      await helmdrill(["run", "--helm", "3.99.0"]),
      /helm 3\.99\.0 cannot be had: (helm\.sh\/helm\/v3 v3\.99\.0 is not served by the Go module proxy|the Go module proxy did not answer)/,
    );
  });

  it("a malformed Helm version", async () => {
    expectCleanError(await helmdrill(["run", "--helm", "3.99"]), /malformed helm version "3\.99"/);
  });

  it("an unknown Kubernetes version, with the pinned ones", async () => {
    expectCleanError(
      await helmdrill(["run", "--kubernetes", "1.33"]),
      /Kubernetes 1\.33 is not pinned\n\s+→ pinned: 1\.34 \(v1\.34\.4\), 1\.35 \(v1\.35\.4\), 1\.36 \(v1\.36\.3\), 1\.37 \(v1\.37\.2\)/,
    );
  });

  // (A provider without a node for a pinned minor is a unit test of runLegs.)
  it("existing combined with other clusters, and walk over several clusters", async () => {
    expectCleanError(
      await helmdrill(["run", "--cluster", "k3s,existing"]),
      /--cluster existing cannot be combined with other clusters/,
    );
    expectCleanError(
      await helmdrill(["walk", "nodeport-conflict", "--kubernetes", "1.34,1.37"]),
      /walk runs on one cluster/,
    );
    expectCleanError(
      await helmdrill(["walk", "nodeport-conflict", "--cluster", "k3s,kind", "--no-pause"]),
      /walk runs on one cluster/,
    );
  });

  it("a malformed version", async () => {
    expectCleanError(await helmdrill(["run", "--helmfile", "latest"]), /malformed helmfile version "latest"/);
  });

  it("an unknown driver, and a driver no selected scenario runs through", async () => {
    expectCleanError(
      await helmdrill(["run", "--driver", "helm,argo"]),
      /unknown driver "argo"\n\s+→ use any of: helm, helmfile, flux/,
    );
    expectCleanError(
      await helmdrill(["run", "--driver", "flux", "--scenario", "apply-after-failed-upgrade"]),
      /no selected scenario runs through flux\n\s+→ scenarios by driver: .*apply-after-failed-upgrade \(helmfile\)/,
    );
  });

  it("an unknown cluster provider, and an unknown component to disable", async () => {
    expectCleanError(await helmdrill(["doctor", "--cluster", "minikube"]), /unknown cluster provider "minikube"/);
    expectCleanError(
      await helmdrill(["doctor", "--disable", "servicelb,loadbalancer"]),
      /unknown component "loadbalancer" to disable/,
    );
  });

  it("an existing cluster without the opt-in", async () => {
    expectCleanError(
      await helmdrill(["run", "--cluster", "existing", "--kubeconfig", "/dev/null", "--context", "prod"]),
      /refusing to touch context "prod" without an explicit opt-in/,
    );
  });

  it("an unreachable existing cluster", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-cli-"));
    try {
      const kubeconfig = path.join(dir, "config");
      writeFileSync(
        kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: lab, context: {cluster: c, user: u}}]\ncurrent-context: lab\n",
      );
      expectCleanError(
        await helmdrill([
          "run",
          "--cluster",
          "existing",
          "--kubeconfig",
          kubeconfig,
          "--context",
          "lab",
          "--allow-existing-cluster",
        ]),
        /cluster of context "lab" \(https:\/\/127\.0\.0\.1:9\) is unreachable/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("kind where neither its CLI nor a node image is provisioned: what is missing and how to get it, nothing started", async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), "helmdrill-cache-"));
    try {
      const runId = `nokind${Date.now().toString(36)}`;
      const r = await helmdrill(["run", "--cluster", "kind", "--no-provision"], {
        HELMDRILL_CACHE: cache,
        HELMDRILL_RUN_ID: runId,
      });
      expectCleanError(
        r,
        /--cluster kind cannot run here: the kind CLI is neither provisioned nor on PATH: `npm run provision` builds it from the Go module proxy/,
      );
      expect(await containersOf(runId)).toBe("");
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("missing Docker", async () => {
    const runId = `nodocker${Date.now().toString(36)}`;
    expectCleanError(
      await helmdrill(["run", "--no-provision"], {
        DOCKER_HOST: "unix:///nonexistent/docker.sock",
        HELMDRILL_RUN_ID: runId,
      }),
      /no Docker engine is reachable/,
    );
    expect(await containersOf(runId)).toBe("");
  });

  it("first run with no engine reachable: `helmdrill run` goes to provisioning (which installs and starts Docker) before it asks for one", async () => {
    const runId = `firstrun${Date.now().toString(36)}`;
    // DOCKER_HOST names an engine that is not there: provisioning may not start another one,
    // so it stops at its first phase with the clear message — after having reached it.
    const r = await helmdrill(["run", "--scenario", "nodeport-conflict"], {
      DOCKER_HOST: "unix:///nonexistent/docker.sock",
      HELMDRILL_RUN_ID: runId,
    });
    expect(r.stderr).toMatch(/▶ docker engine\n/);
    expect(r.stderr).toMatch(/provisioning summary:\n\s+failed .* docker engine: no Docker engine is reachable/);
    expectCleanError(r, /no Docker engine is reachable/);
    expect(await containersOf(runId)).toBe("");
  });

  it("first run as a user who cannot have Docker (not root): exit 2 with the message, no container started", async () => {
    const runId = `nobody${Date.now().toString(36)}`;
    const home = mkdtempSync(path.join(os.tmpdir(), "helmdrill-nobody-"));
    try {
      await run(["chmod", "0777", home]);
      const r = await run(
        [
          "setpriv",
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          "env",
          `HOME=${home}`,
          `HELMDRILL_CACHE=${home}/cache`,
          `HELMDRILL_RUN_ID=${runId}`,
          "node",
          CLI,
          "run",
          "--scenario",
          "nodeport-conflict",
        ],
        { timeoutMs: 120_000, env: { DOCKER_HOST: "" } },
      );
      expect(r.stderr).toMatch(/▶ docker engine\n/);
      expectCleanError(
        r,
        /no Docker engine is reachable .*\n\s+→ start Docker \(or set DOCKER_HOST\); on Debian as root/,
      );
      expect(await containersOf(runId)).toBe("");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("a malformed chart", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-fixtures-"));
    try {
      cpSync(path.join(PACKAGE_ROOT, "fixtures"), dir, { recursive: true });
      writeFileSync(
        path.join(dir, "local-chart", "Chart.yaml"),
        "apiVersion: v2\nname: local-chart\nversion: [not, a, version\n",
      );
      expectCleanError(
        await helmdrill(["run", "--no-provision", "--scenario", "failed-upgrade-cleanup-on-fail"], {
          HELMDRILL_FIXTURES: dir,
        }),
        /malformed chart or values in .*\n\s+local-chart: /,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("malformed values in a chart", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-fixtures-"));
    try {
      cpSync(path.join(PACKAGE_ROOT, "fixtures"), dir, { recursive: true });
      writeFileSync(path.join(dir, "mychart1", "values.yaml"), "service:\n  nodePort: 31231\n   type: NodePort\n");
      expectCleanError(
        await helmdrill(["run", "--no-provision", "--scenario", "nodeport-conflict"], { HELMDRILL_FIXTURES: dir }),
        /malformed chart or values in .*\n\s+mychart1: /,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("helmdrill list and doctor", () => {
  it("lists every scenario with its source write-up", async () => {
    const r = await helmdrill(["list"]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(17);
    expect(lines.find((l) => l.startsWith("gitops-upgrades "))).toMatch(
      /\[flux; 3 steps\]\s+← 003_fea028f06db6a10c\.txt: /,
    );
    expect(lines.find((l) => l.startsWith("flux-test-gate "))).toMatch(/\[flux; 4 steps\]\s+← 001 \+ 003: /);
    // The catalogue's order: the files the config's glob matches, by name.
    expect(lines.find((l) => l.startsWith("failed-upgrade-cleanup-on-fail "))).toMatch(
      /^failed-upgrade-cleanup-on-fail\s+Failed upgrade cleaned up by --cleanup-on-fail .*← 000_6791ce9c9c9433c6\.txt: Scenario 1: Failed Upgrade$/,
    );
    expect(lines.map((l) => l.split(" ")[0])).toEqual([...lines.map((l) => l.split(" ")[0])].sort());
  });

  it("doctor reports a missing Docker engine with what to do, and exits 1", async () => {
    const r = await helmdrill(["doctor"], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/✖ Docker engine: not reachable.*\n\s+→ start Docker or set DOCKER_HOST/);
  });
});

describe("helmdrill run on a real cluster", () => {
  it(
    "runs the selection on each Kubernetes minor, one cluster after the other, into one matrix with a column per cluster",
    { timeout: 600_000 },
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-minors-"));
      const runId = `minors${Date.now().toString(36)}`;
      // The two minors npm test provisions (HELMDRILL_MINORS' default: the oldest pinned and the pinned default).
      const [a, b] = parseMinorsUnderTest(undefined);
      if (!a || !b) throw new Error(`two Kubernetes minors under test are needed, got ${a ?? "none"}`);
      const version = (m: string) => kubernetesPin(m).version;
      const re = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const [colA, colB] = [`helm 4.1.4 · k3s ${a}`, `helm 4.1.4 · k3s ${b}`];
      try {
        const reports = path.join(dir, "reports");
        // An earlier run's results, which a CI job reading reports/junit.xml must not get.
        mkdirSync(path.join(reports, "allure-results"), { recursive: true });
        writeFileSync(
          path.join(reports, "junit.xml"),
          '<testsuites><testsuite name="stale" tests="1"><testcase classname="stale" name="an earlier run"/></testsuite></testsuites>',
        );
        writeFileSync(path.join(reports, "allure-results", "stale-result.json"), "{}");
        const r = await helmdrill(
          [
            "run",
            "--no-provision",
            "--cluster",
            "k3s",
            "--kubernetes",
            `${a},${b}`,
            "--scenario",
            "helm-test-smoke",
            "--driver",
            "helm",
            "--helm",
            "4.1.4",
            "--reports",
            reports,
          ],
          { HELMDRILL_RUN_ID: runId },
          580_000,
        );
        expect(r.exitCode, r.stderr.slice(-3000)).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^k3s-${re(a)}: 1 passed, 0 failed$`, "m"));
        expect(r.stdout).toMatch(new RegExp(`^k3s-${re(b)}: 1 passed, 0 failed$`, "m"));
        const { existsSync, readFileSync, readdirSync } = await import("node:fs");
        const matrix = JSON.parse(
          readFileSync(path.join(reports, "conformance", "matrix.json"), "utf8"),
        ) as import("../../harness/report/model.ts").Matrix;
        expect(matrix.columns).toEqual([colA, colB]);
        // (On a cgroup v1 host the line goes on: ", cgroup v1 (kubelet failCgroupV1: false)".)
        expect(matrix.clusters).toEqual([
          expect.stringMatching(new RegExp(`^k3s \\(.+\\), Kubernetes ${re(version(a))}(, .+)?$`)),
          expect.stringMatching(new RegExp(`^k3s \\(.+\\), Kubernetes ${re(version(b))}(, .+)?$`)),
        ]);
        expect(
          matrix.rows.every((row) => row.cells[colA]!.status !== "absent" && row.cells[colB]!.status !== "absent"),
        ).toBe(true);
        // Whatever differed between the minors is listed — exactly the steps whose two cells differ in state or in
        // the first line of their error text — and the report says so, in the words for an empty or a full list.
        const { comparableText } = await import("../../harness/report/model.ts");
        const differing = matrix.rows.filter((row) => {
          const [x, y] = [row.cells[colA]!, row.cells[colB]!];
          return x.status !== y.status || comparableText(x.observed) !== comparableText(y.observed);
        });
        expect(matrix.clusterDrift?.map((d) => `${d.scenario} ${d.step} ${d.target}`)).toEqual(
          differing.map((row) => `${row.scenario} ${row.step} helm 4.1.4`),
        );
        const differences = readFileSync(path.join(reports, "conformance", "matrix.md"), "utf8").split(
          "## Differences between clusters",
        )[1];
        expect(differences).toMatch(
          differing.length === 0
            ? /^\s+Every step of every target had the same state/
            : new RegExp(`^\\s+${differing.length} steps? of a target behaved differently`),
        );
        expect(readdirSync(path.join(reports, "transcripts", "helm-test-smoke")).sort()).toEqual([
          `h414-k3s-${a.replace(".", "-")}.md`,
          `h414-k3s-${b.replace(".", "-")}.md`,
        ]);
        for (const leg of [`k3s-${a}`, `k3s-${b}`])
          expect(existsSync(path.join(reports, "clusters", leg, "junit.xml")), leg).toBe(true);
        // The top-level JUnit and Allure results are this run's, every cluster's, told apart by cluster.
        const junit = readFileSync(path.join(reports, "junit.xml"), "utf8");
        const classnames = [...junit.matchAll(/<testcase [^>]*classname="([^"]*)"/g)].map((m) =>
          m[1]!.replace(/&gt;/g, ">"),
        );
        expect(classnames.sort()).toEqual([
          expect.stringMatching(new RegExp(`^k3s-${re(a)} › .*helm-test-smoke\\.ts$`)),
          expect.stringMatching(new RegExp(`^k3s-${re(b)} › .*helm-test-smoke\\.ts$`)),
        ]);
        expect(junit).toMatch(/<testsuites [^>]*tests="2"[^>]*failures="0"/);
        const allure = readdirSync(path.join(reports, "allure-results")).filter((f) => f.endsWith("-result.json"));
        expect(allure).not.toContain("stale-result.json");
        const clusters = allure.map(
          (f) =>
            (
              JSON.parse(readFileSync(path.join(reports, "allure-results", f), "utf8")) as {
                parameters: { name: string; value: string }[];
              }
            ).parameters.find((p) => p.name === "cluster")?.value,
        );
        expect(clusters.map((c) => c?.match(/v1\.\d+\.\d+/)?.[0]).sort()).toEqual([version(a), version(b)].sort());
        expect(await containersOf(runId)).toBe("");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it(
    "exits 1 and reports a failed cell when behaviour departs from the expectations",
    { timeout: 300_000 },
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-drift-"));
      try {
        const fixtures = path.join(dir, "fixtures");
        const reports = path.join(dir, "reports");
        cpSync(path.join(PACKAGE_ROOT, "fixtures"), fixtures, { recursive: true });
        // A chart whose Service no longer asks for a fixed NodePort: qa101 no longer conflicts.
        writeFileSync(
          path.join(fixtures, "mychart1", "templates", "service.yaml"),
          "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-mychart1\n  labels: {release: {{ .Release.Name }}, app.kubernetes.io/instance: {{ .Release.Name }}}\nspec:\n  type: ClusterIP\n  ports: [{port: 80, targetPort: 8080}]\n  selector: {release: {{ .Release.Name }}}\n",
        );
        const r = await helmdrill(
          ["run", "--no-provision", "--scenario", "nodeport-conflict", "--helm", "4.1.4", "--reports", reports],
          { HELMDRILL_FIXTURES: fixtures },
          280_000,
        );
        expect(r.exitCode, r.stderr.slice(-2000)).toBe(1);
        expect(r.stdout).toContain("0 passed, 1 failed");
        const { readFileSync } = await import("node:fs");
        const matrix = readFileSync(path.join(reports, "conformance", "matrix.md"), "utf8");
        expect(matrix).toMatch(/2\. `helm install qa101 mychart1` without --atomic.*❌ failed/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
