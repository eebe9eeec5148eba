/**
 * Renders a fixture matrix with renderMatrixHtml, opens it in real headless Chromium (with
 * JavaScript disabled: the page must work as static HTML) and checks it with DOM queries.
 * Leaves reports/matrix-fixture.html and reports/matrix-fixture.png behind for a human look.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckRecord, ScenarioRun, StepRecord, StepStatus } from "../../harness/dsl/scenario.ts";
import { targetLabel, type Target } from "../../harness/dsl/target.ts";
import { renderMatrixHtml } from "../../harness/report/html.ts";
import { buildMatrix, type Matrix } from "../../harness/report/model.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const REPORTS = path.resolve(import.meta.dirname, "../../reports");
const HTML_FILE = path.join(REPORTS, "matrix-fixture.html");
const PNG_FILE = path.join(REPORTS, "matrix-fixture.png");

// ------------------------------------------------------------------ fixture matrix

const targets: Target[] = [
  { driver: "helm", helm: "3.9.4" },
  { driver: "helm", helm: "3.18.4" },
  { driver: "helm", helm: "4.0.0" },
  { driver: "helmfile", helm: "3.18.4", helmfile: "0.171.0", style: "args" },
  { driver: "helmfile", helm: "3.18.4", helmfile: "0.171.0", style: "defaults" },
];
const labels = targets.map(targetLabel);

const UPGRADE = {
  id: "failed-upgrade-cleanup-on-fail",
  title: "Failed upgrade cleaned up by --cleanup-on-fail",
  section: "Scenario 1: Failed Upgrade",
};
const INSTALL = {
  id: "failed-install-left-behind",
  title: "Failed install leaves everything behind",
  section: "Scenario 2: Failed Install",
};

const upgradeSteps = [
  "Install: only the ServiceAccount is rendered",
  "Upgrade enabling the Service and the Deployment: the bad image fails it after the 20 s timeout",
  "The new Service and Deployment no longer exist: --cleanup-on-fail removed them",
  "Upgrade enabling only the Service: revision 3 deploys",
];
const installSteps = [
  "Install with the Deployment and the Service enabled",
  "Upgrade enabling only the Service is refused",
];

/** Status per step, per target (index into `targets`); "absent" = the run lacks that step. */
const PLAN: Record<string, (StepStatus | "absent")[][]> = {
  [UPGRADE.id]: [
    ["matches", "matches", "matches", "matches", "matches"],
    ["matches", "differs", "differs", "matches", "failed"],
    ["matches", "matches", "differs", "matches", "not-run"],
    ["matches", "matches", "matches", "absent", "not-run"],
  ],
  [INSTALL.id]: [
    ["matches", "matches", "failed", "absent", "absent"],
    ["differs", "matches", "not-run", "absent", "absent"],
  ],
};

const documented: StepRecord["documented"][] = [
  { outcome: "succeeds", release: "my-release 1 DEPLOYED" },
  {
    outcome: "fails",
    text: "Error: UPGRADE FAILED: timed out waiting for the condition",
    release: "my-release 2 FAILED",
  },
  { outcome: "n/a", resources: "serviceaccount/my-release-local-chart only" },
  { outcome: "succeeds", release: "my-release 3 DEPLOYED" },
];

function stepRecord(index: number, title: string, status: StepStatus, target: Target): StepRecord {
  const checks: CheckRecord[] = [];
  const rec: StepRecord = {
    index,
    title,
    status,
    documented: documented[index - 1],
    commands: [],
    checks,
    drift: [],
    durationMs: 1000,
  };
  if (status === "differs") {
    rec.drift = target.helm.startsWith("4")
      ? ["Helm 4's kstatus waiter names the Deployment that was not ready"]
      : ["Helm ≥3.12 reports `context deadline exceeded` instead of `timed out waiting for the condition`"];
    rec.observedError = target.helm.startsWith("4")
      ? "Error: UPGRADE FAILED: resource Deployment/hd-x/my-release-local-chart not ready. status: InProgress"
      : "Error: UPGRADE FAILED: context deadline exceeded";
  }
  if (status === "failed") {
    rec.observedError =
      "in ./helmfile.yaml: failed processing release my-release: <script>alert(1)</script> | helm exited with status 1";
    checks.push({
      ok: false,
      expected: "release my-release at revision 2, status failed",
      observed: "revision 2 pending-upgrade",
      check: "release",
      category: "release",
      when: "every version",
      phase: "after",
    });
  }
  return rec;
}

function fixtureRuns(): ScenarioRun[] {
  const runs: ScenarioRun[] = [];
  for (const [scenario, titles] of [
    [UPGRADE, upgradeSteps],
    [INSTALL, installSteps],
  ] as const) {
    targets.forEach((target, t) => {
      const steps = titles
        .map((title, i) => ({ title, i, status: PLAN[scenario.id]![i]![t]! }))
        .filter((s) => s.status !== "absent")
        .map((s) => stepRecord(s.i + 1, s.title, s.status as StepStatus, target));
      if (steps.length === 0) return;
      runs.push({
        scenario: scenario.id,
        title: scenario.title,
        source: { file: "000_6791ce9c9c9433c6.txt", section: scenario.section },
        target,
        targetLabel: targetLabel(target),
        namespace: `hd-${t}`,
        status: steps.some((s) => s.status === "failed") ? "failed" : "passed",
        steps,
        vars: {},
        startedAt: "2025-01-01T00:00:00.000Z",
        durationMs: 40_000 + 1000 * t,
      });
    });
  }
  return runs;
}

/** data-step → data-column → expected status, straight from PLAN. */
function expectedCells(): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [id, rows] of Object.entries(PLAN)) {
    rows.forEach((row, i) => {
      out[`${id}#${i + 1}`] = Object.fromEntries(row.map((status, t) => [labels[t]!, status]));
    });
  }
  return out;
}

// ------------------------------------------------------------------ browser

let browser: Browser | undefined;
let page: Page;
let matrix: Matrix;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: this test needs a real Chromium. Install it with: apt-get install -y --no-install-recommends chromium`,
    );
  }
  matrix = buildMatrix(fixtureRuns(), "write-up (Helm 2.16.5)");
  mkdirSync(REPORTS, { recursive: true });
  writeFileSync(
    HTML_FILE,
    renderMatrixHtml(matrix, {
      generatedAt: "2025-01-01 00:00 UTC (fixture)",
      title: "helmdrill conformance matrix — fixture",
    }),
  );

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, javaScriptEnabled: false });
  page = await context.newPage();
  await page.goto(pathToFileURL(HTML_FILE).href, { waitUntil: "load" });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe("matrix HTML in headless Chromium", () => {
  it("has one td.cell per step and column", async () => {
    expect(matrix.rows).toHaveLength(6);
    expect(matrix.columns).toEqual(labels);
    expect(await page.locator("td.cell").count()).toBe(matrix.rows.length * matrix.columns.length);
    expect(await page.locator("table.matrix").count()).toBe(2);
  });

  it("gives every cell the expected data-status", async () => {
    const seen = await page.locator("td.cell").evaluateAll((tds) =>
      tds.map((td) => ({
        step: td.getAttribute("data-step"),
        column: td.getAttribute("data-column"),
        status: td.getAttribute("data-status"),
        cls: td.className,
      })),
    );
    const actual: Record<string, Record<string, string>> = {};
    for (const c of seen) {
      (actual[c.step!] ??= {})[c.column!] = c.status!;
      expect(c.cls).toBe(`cell cell-${c.status}`);
    }
    expect(actual).toEqual(expectedCells());
    // every state is represented
    expect(new Set(seen.map((c) => c.status))).toEqual(new Set(["matches", "differs", "failed", "not-run", "absent"]));

    // a few cells looked up the way a person would select them
    const cell = (step: string, column: string) =>
      page.locator(`td.cell[data-step="${step}"][data-column="${column}"]`);
    await expect(cell(`${UPGRADE.id}#2`, labels[4]!).getAttribute("data-status")).resolves.toBe("failed");
    await expect(cell(`${UPGRADE.id}#4`, labels[3]!).getAttribute("data-status")).resolves.toBe("absent");
    await expect(cell(`${INSTALL.id}#2`, labels[2]!).getAttribute("data-status")).resolves.toBe("not-run");
    await expect(cell(`${UPGRADE.id}#2`, labels[1]!).getAttribute("data-status")).resolves.toBe("differs");
  });

  it("shows the observed error and notes in differs/failed cells, as text", async () => {
    const failed = page.locator(`td.cell[data-step="${UPGRADE.id}#2"][data-column="${labels[4]}"]`);
    await expect(failed.locator("code.observed").textContent()).resolves.toContain(
      "<script>alert(1)</script> | helm exited",
    );
    await expect(failed.locator("ul.notes li").first().textContent()).resolves.toBe(
      "expected release my-release at revision 2, status failed; observed revision 2 pending-upgrade",
    );
    expect(await page.locator("script").count()).toBe(0);
    const differs = page.locator(`td.cell[data-step="${UPGRADE.id}#2"][data-column="${labels[1]}"]`);
    await expect(differs.locator("code.observed").textContent()).resolves.toBe(
      "Error: UPGRADE FAILED: context deadline exceeded",
    );
    await expect(differs.locator("ul.notes code").first().textContent()).resolves.toBe("context deadline exceeded");
    await expect(differs.getAttribute("title")).resolves.toMatch(/^helm 3\.18\.4 — step 2: differs from the write-up/);
  });

  it("colours states differently (failed red, matches green)", async () => {
    const bg = (step: string, column: string) =>
      page
        .locator(`td.cell[data-step="${step}"][data-column="${column}"]`)
        .evaluate((el) => getComputedStyle(el).backgroundColor);
    const rgb = (s: string) => s.match(/\d+/g)!.slice(0, 3).map(Number) as [number, number, number];
    const failed = await bg(`${UPGRADE.id}#2`, labels[4]!);
    const matches = await bg(`${UPGRADE.id}#1`, labels[0]!);
    const differs = await bg(`${UPGRADE.id}#2`, labels[1]!);
    const notRun = await bg(`${INSTALL.id}#2`, labels[2]!);
    expect(failed).not.toBe(matches);
    expect(new Set([failed, matches, differs, notRun]).size).toBe(4);
    const [fr, fg] = rgb(failed);
    const [mr, mg] = rgb(matches);
    expect(fr).toBeGreaterThan(fg); // reddish
    expect(mg).toBeGreaterThan(mr); // greenish
  });

  it("captions each table with the scenario title and source", async () => {
    const captions = await page.locator("table.matrix caption").allTextContents();
    expect(captions).toHaveLength(2);
    expect(
      captions.some(
        (c) => c.includes(UPGRADE.title) && c.includes("000_6791ce9c9c9433c6.txt — Scenario 1: Failed Upgrade"),
      ),
    ).toBe(true);
    expect(captions.some((c) => c.includes(INSTALL.title) && c.includes("Scenario 2: Failed Install"))).toBe(true);
    const headers = await page.locator("table.matrix").first().locator("thead th").allTextContents();
    expect(headers).toEqual(["Step", "write-up (Helm 2.16.5)", ...labels]);
  });

  it("shows per-column totals in the header", async () => {
    const row = page.locator(`table.totals tr[data-column="${labels[4]}"]`);
    const counts = await row
      .locator("td[data-status]")
      .evaluateAll((tds) => tds.map((td) => `${td.getAttribute("data-status")}=${td.textContent}`));
    expect(counts).toEqual(["matches=1", "differs=0", "failed=1", "lost=0", "not-run=2", "absent=2"]);
  });

  it("keeps the step column sticky and fits a 1400px-wide window", async () => {
    const position = await page
      .locator("table.matrix tbody th.step")
      .first()
      .evaluate((el) => getComputedStyle(el).position);
    expect(position).toBe("sticky");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // five targets fit without horizontal scrolling inside the tables either
    const inner = await page.locator(".scroll").evaluateAll((els) => els.map((el) => el.scrollWidth - el.clientWidth));
    expect(inner).toEqual([0, 0]);
  });

  it("saves a full-page screenshot", async () => {
    await page.screenshot({ path: PNG_FILE, fullPage: true });
    expect(statSync(PNG_FILE).size).toBeGreaterThan(10_000);
  });
});
