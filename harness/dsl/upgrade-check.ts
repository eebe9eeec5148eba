import semver from "semver";
import type { Rendered } from "../sources/rendered.ts";
import {
  fieldOwnership,
  object,
  refusesUpgrade,
  release,
  resources,
  succeeds,
  type Check,
  type ReleaseExpectation,
} from "./checks.ts";
import { defineScenario, type ScenarioSpec } from "./scenario.ts";
import { helm, helmTo, kubectl, step, type Step } from "./step.ts";

/**
 * `helmdrill upgrade-check`: a chart's upgrade from its previous version as scenarios, built
 * from a plan the CLI resolved (chart paths, what each version renders). Two scenarios per
 * values case:
 *   - the upgrade path: install the previous version (--wait), `helm test` when it has tests,
 *     upgrade (--wait), `helm test`, roll back to revision 1, upgrade again — each step with the
 *     release's history, chart and exactly the objects that version renders;
 *   - the field-ownership drill: another field manager (`kubectl scale`) changes a workload's
 *     replicas, then the upgrade — kept, overwritten, or a conflict — and then what
 *     `--force-conflicts` does (Helm 4; Helm 3 has no such flag).
 * Both run on every Helm version and on the migration targets (installed with each Helm 3,
 * upgraded with each Helm 4): every step after the install is a `helmTo(…)` step.
 */
export interface ChartVersionPlan {
  /** What `helm install` takes: a directory or a .tgz. */
  path: string;
  name: string;
  version: string;
  /** How a person names it: "inventory 1.0.0 from http://…", "git v1:charts/app". */
  origin: string;
  rendered: Rendered;
}

export interface UpgradeCheckPlan {
  release: string;
  previous: ChartVersionPlan;
  next: ChartVersionPlan;
  /** A values file: its own case. */
  values?: string;
  /** "default values", or the values file's name. */
  caseLabel: string;
  /** The id suffix of this case ("default", "ha-values"). */
  caseId: string;
  /** helm's --timeout for every install, upgrade, rollback and test. */
  timeout: string;
}

/** "major version bump 1 → 2" when the chart's major version changes: run, and said so. */
export function versionBump(previous: string, next: string): string | undefined {
  const [a, b] = [semver.coerce(previous), semver.coerce(next)];
  if (!a || !b || a.major === b.major) return undefined;
  return `major version bump ${a.major} → ${b.major}`;
}

const chartLabel = (c: ChartVersionPlan) => `${c.name}-${c.version}`;

/** Every object a version renders: the selector's exact set, and each unlabelled object by name. */
function objectsOf(c: ChartVersionPlan): Check[] {
  const checks: Check[] = [];
  if (Object.keys(c.rendered.objects).length)
    checks.push(resources(c.rendered.objects, { selector: c.rendered.selector }));
  for (const ref of c.rendered.unlabelled)
    checks.push(object(ref).matches({ metadata: { name: ref.slice(ref.indexOf("/") + 1) } }));
  return checks;
}

/** The release after `statuses.length` revisions, the newest made from `chart`. */
function releaseAt(chart: ChartVersionPlan, ...statuses: string[]): Check {
  const history: ReleaseExpectation["history"] = statuses.map((status, i) => ({ revision: i + 1, status }));
  return release({ revision: statuses.length, status: statuses.at(-1), history, chart: chartLabel(chart) });
}

function baseScenario(
  plan: UpgradeCheckPlan,
  kind: string,
): Pick<ScenarioSpec, "id" | "source" | "release" | "selector" | "migrations"> {
  return {
    id: `${kind}-${plan.next.name}-${plan.caseId}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-"),
    source: { file: plan.next.origin, section: `upgrade from ${plan.previous.origin}, ${plan.caseLabel}` },
    release: plan.release,
    selector: plan.next.rendered.selector,
    migrations: true,
  };
}

export function upgradeCheckScenario(plan: UpgradeCheckPlan): ScenarioSpec {
  const { previous: prev, next, release: rel } = plan;
  const values = plan.values ? ["--values", plan.values] : [];
  const wait = ["--wait", "--timeout", plan.timeout];
  const bump = versionBump(prev.version, next.version);
  const testStep = (c: ChartVersionPlan, run: typeof helm) =>
    c.rendered.tests.length
      ? [
          step(`\`helm test ${rel}\`: the chart's tests pass (${c.rendered.tests.join(", ")})`)
            .does(run("test", rel, "--timeout", plan.timeout))
            .documents({ outcome: "succeeds", resources: "the tests' objects pass" })
            .expect(succeeds()),
        ]
      : [];
  const clean = (revision: number, c: ChartVersionPlan) => ({
    outcome: "succeeds" as const,
    release: `${rel} r${revision} deployed, chart ${chartLabel(c)}`,
    resources: `what ${c.version} renders`,
  });
  const steps: Step[] = [
    step(`Install the previous version, ${prev.origin}, and wait until it is ready`)
      .does(helm("install", rel, prev.path, ...values, ...wait))
      .documents(clean(1, prev))
      .expect(succeeds(), releaseAt(prev, "deployed"), ...objectsOf(prev)),
    ...testStep(prev, helm),
    step(`Upgrade to ${next.origin}${bump ? ` — ${bump}` : ""}, and wait until it is ready`)
      .does(helmTo("upgrade", rel, next.path, ...values, ...wait))
      .documents(clean(2, next))
      .expect(succeeds(), releaseAt(next, "superseded", "deployed"), ...objectsOf(next)),
    ...testStep(next, helmTo),
    step("Roll back to revision 1 (the previous version): revision 3")
      .does(helmTo("rollback", rel, "1", ...wait))
      .documents(clean(3, prev))
      .expect(succeeds(), releaseAt(prev, "superseded", "superseded", "deployed"), ...objectsOf(prev)),
    step(`Upgrade to ${next.version} again after the rollback: revision 4`)
      .does(helmTo("upgrade", rel, next.path, ...values, ...wait))
      .documents(clean(4, next))
      .expect(succeeds(), releaseAt(next, "superseded", "superseded", "superseded", "deployed"), ...objectsOf(next)),
  ];
  return defineScenario({
    ...baseScenario(plan, "upgrade"),
    title: `${prev.name} ${prev.version} → ${next.version}${bump ? ` (${bump})` : ""}: install, upgrade, roll back, upgrade again — ${plan.caseLabel}`,
    summary:
      `The previous version installs and becomes ready; the upgrade to ${next.version} succeeds with exactly the objects ${next.version} renders` +
      `${next.rendered.tests.length ? " and its tests pass" : ""}; a rollback to revision 1 restores ${prev.version}'s objects; the upgrade runs again. ` +
      `Migration columns install with Helm 3 and run every later step with Helm 4.${bump ? ` This is a ${bump}: it is run like any other upgrade, never skipped.` : ""}`,
    steps,
  });
}

/** The workload for the field-ownership drill: one both versions render, with the replicas each sets. */
export function ownershipWorkload(plan: Pick<UpgradeCheckPlan, "previous" | "next">) {
  for (const w of plan.next.rendered.workloads) {
    const before = plan.previous.rendered.workloads.find((p) => p.kind === w.kind && p.name === w.name);
    if (before)
      return {
        kind: w.kind,
        name: w.name,
        previous: before.replicas,
        next: w.replicas,
        scaled: Math.max(before.replicas, w.replicas) + 1,
      };
  }
  return undefined;
}

export function fieldOwnershipScenario(plan: UpgradeCheckPlan): ScenarioSpec | undefined {
  const w = ownershipWorkload(plan);
  if (!w) return undefined;
  const { previous: prev, next, release: rel } = plan;
  const values = plan.values ? ["--values", plan.values] : [];
  const wait = ["--wait", "--timeout", plan.timeout];
  const ref = `${w.kind}/${w.name}`;
  const replicas = { chart: w.next, other: w.scaled };
  return defineScenario({
    ...baseScenario(plan, "field-ownership"),
    title: `${prev.name} ${prev.version} → ${next.version}: an upgrade after \`kubectl scale ${ref}\` — kept, overwritten or a conflict — ${plan.caseLabel}`,
    summary:
      `Another field manager (kubectl) scales ${ref} to ${w.scaled} replicas, as an HPA, an operator or a person on call does; then the upgrade to ${next.version} (which sets ${w.next}). ` +
      "Helm 3's three-way merge and Helm 4's server-side apply answer differently: the report says per version whether the change was kept, overwritten, or refused as a conflict, and what `--force-conflicts` does.",
    steps: [
      step(`Install the previous version, ${prev.origin}`)
        .does(helm("install", rel, prev.path, ...values, ...wait))
        .documents({ outcome: "succeeds", release: `${rel} r1 deployed` })
        .expect(succeeds(), releaseAt(prev, "deployed")),
      step(`Another field manager: \`kubectl scale ${ref} --replicas=${w.scaled}\``)
        .does(kubectl("scale", ref, `--replicas=${w.scaled}`))
        .documents({ outcome: "succeeds", resources: `${ref} has ${w.scaled} replicas` })
        .expect(succeeds(), object(ref).matches({ spec: { replicas: w.scaled } })),
      step(`Upgrade to ${next.version} (which sets replicas ${w.next}): kept, overwritten, or a conflict?`)
        .explain(
          "The chart and kubectl both claim spec.replicas. Helm 3 patches only what changed between the old and new manifests; Helm 4 applies server-side and owns the fields it sets.",
        )
        .does(helmTo("upgrade", rel, next.path, ...values, ...wait))
        .documents({ outcome: "n/a", resources: "observed per version: kept, overwritten, or a conflict" })
        .expect(fieldOwnership(ref, "spec.replicas", replicas)),
      step("The same upgrade with `--force-conflicts` (Helm 4 takes the fields over)")
        .explain(
          "Helm 4 applies a release it installed server-side, and --force-conflicts takes contested fields over. A release Helm 3 installed keeps applying client-side " +
            "under Helm 4 (--server-side=auto copies the previous revision's method), and Helm 4 refuses --force-conflicts for it. Helm 3 has no such flag.",
        )
        .does(helmTo("upgrade", rel, next.path, ...values, ...wait, "--force-conflicts"))
        .documents({ outcome: "n/a", resources: "observed per version" })
        .expect(
          fieldOwnership(ref, "spec.replicas", replicas).when({ helm: ">=4.0.0-0" }),
          refusesUpgrade(
            /forceConflicts enabled when serverSideApply disabled/,
            "refused: the release applies client-side (installed by Helm 3)",
          ).when({ helm: "<4.0.0-0", helmTo: ">=4.0.0-0" }),
          refusesUpgrade(/unknown flag: --force-conflicts/, "no --force-conflicts in this Helm").when({
            helmTo: "<4.0.0-0",
          }),
        ),
    ],
  });
}

/** Every scenario of a plan: the upgrade path, and the field-ownership drill when the chart has a workload. */
export function upgradeCheckScenarios(plan: UpgradeCheckPlan): ScenarioSpec[] {
  return [upgradeCheckScenario(plan), fieldOwnershipScenario(plan)].filter((s): s is ScenarioSpec => s !== undefined);
}
