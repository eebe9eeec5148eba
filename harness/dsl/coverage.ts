import semver from "semver";
import type { Check, CheckCategory } from "./checks.ts";
import { applicableChecks, type ScenarioSpec } from "./scenario.ts";
import { targetLabel, targetsFor, type Target } from "./target.ts";

/**
 * Expectations keyed to versions can miss: a check keyed to a range no pinned version falls
 * in never runs, and two ranges with a hole between them (helmfile `<1.0.0` and `>=1.7.0`)
 * leave every version in the hole without that kind of expectation. Neither shows up in a
 * run of the pinned versions, so both are reported here instead of being dropped silently.
 */
export interface CoverageFinding {
  scenario: string;
  step: number;
  stepTitle: string;
  kind: "unreached" | "gap";
  text: string;
  /** For a gap: the pinned targets in it (a run of them stops at this step with "no expectation for …"). */
  pinned?: string[];
}

/**
 * What `--strict` fails on: an expectation no pinned target reaches (it never runs), and a gap a
 * pinned target falls in. A gap only between unpinned versions is reported, not failed: no run
 * of this project's versions can land in it.
 */
export function strictCoverageFailures(findings: readonly CoverageFinding[]): CoverageFinding[] {
  return findings.filter((f) => f.kind === "unreached" || (f.pinned?.length ?? 0) > 0);
}

export interface PinnedVersions {
  helmVersions: readonly string[];
  helmfileVersions: readonly string[];
  /** The pinned flux targets (default: the pinned defaults): an expectation keyed by `flux` is reached on one of them. */
  fluxTargets?: readonly string[];
  /** The pinned Kubernetes versions ("1.34.4", "1.37.2", …): an expectation keyed by `kubernetes` is reached on one of them. */
  kubernetesVersions?: readonly string[];
}

/** Every target on every pinned Kubernetes version (targets unchanged when none are given). */
function onEachKubernetes(targets: Target[], versions: readonly string[] | undefined): Target[] {
  return versions?.length ? targets.flatMap((t) => versions.map((kubernetes) => ({ ...t, kubernetes }))) : targets;
}

type Supports = (helmfile: string, helm: string) => boolean;

/** Versions on both sides of every bound the scenario's selectors name. */
function boundaryVersions(checks: Check[], tool: "helm" | "helmfile"): string[] {
  const out = new Set<string>();
  for (const c of checks) {
    const range = c.targets?.[tool];
    if (!range) continue;
    for (const comparator of new semver.Range(range).set.flat()) {
      const v = comparator.semver;
      if (typeof v === "symbol" || !v.version || v.version === "0.0.0") continue;
      // Release versions only (a bound such as <4.0.0-0 stands for 4.0.0).
      out.add(`${v.major}.${v.minor}.${v.patch}`);
      out.add(`${v.major}.${v.minor}.${v.patch + 1}`);
      if (v.patch > 0) out.add(`${v.major}.${v.minor}.${v.patch - 1}`);
      else if (v.minor > 0) out.add(`${v.major}.${v.minor - 1}.0`);
      else if (v.major > 0) out.add(`${v.major - 1}.0.0`);
    }
  }
  return [...out];
}

export function expectationCoverage(
  spec: ScenarioSpec,
  pinned: PinnedVersions,
  supports: Supports = () => true,
): CoverageFinding[] {
  const drivers = spec.drivers ?? ["helm"];
  // Apply targets count as reachable: whether helm-diff loads is a fact of the run, not of the pins.
  const pinnedTargets = onEachKubernetes(
    targetsFor(drivers, pinned, supports, () => undefined, spec.migrations),
    pinned.kubernetesVersions,
  );
  const findings: CoverageFinding[] = [];
  for (const [i, step] of spec.steps.entries()) {
    const at = { scenario: spec.id, step: i + 1, stepTitle: step.title };
    for (const checks of [step.checks, step.during]) {
      for (const c of checks) {
        if (c.targets && !pinnedTargets.some((t) => c.appliesTo(t))) {
          findings.push({ ...at, kind: "unreached", text: `${c.label()} applies to no pinned target` });
        }
      }
      const keyed = checks.filter((c) => c.targets);
      if (keyed.length === 0) continue;
      const unpinned = (tool: "helm" | "helmfile", pinnedList: readonly string[]) => [
        ...new Set([...pinnedList, ...boundaryVersions(keyed, tool)]),
      ];
      const candidates = onEachKubernetes(
        targetsFor(
          drivers,
          {
            helmVersions: unpinned("helm", pinned.helmVersions),
            helmfileVersions: unpinned("helmfile", pinned.helmfileVersions),
            // Flux targets are pinned only (none is built on demand): no version between them can run.
            fluxTargets: pinned.fluxTargets,
          },
          undefined,
          undefined,
          spec.migrations,
        ),
        pinned.kubernetesVersions,
      );
      const holes = new Map<CheckCategory, Target[]>();
      for (const t of candidates) {
        for (const cat of applicableChecks(checks, t).uncovered) holes.set(cat, [...(holes.get(cat) ?? []), t]);
      }
      const pinnedLabels = new Set(pinnedTargets.map((t) => `${targetLabel(t)}@${t.kubernetes ?? ""}`));
      for (const [cat, targets] of holes) {
        const shown = targets.slice(0, 3).map(targetLabel).join("; ");
        const pinned = targets
          .filter((t) => pinnedLabels.has(`${targetLabel(t)}@${t.kubernetes ?? ""}`))
          .map(targetLabel);
        findings.push({
          ...at,
          kind: "gap",
          text: `no ${cat} expectation for ${shown}${targets.length > 3 ? ` and ${targets.length - 3} more` : ""} (between the ranges ${keyed
            .filter((c) => c.category === cat)
            .map((c) => c.label())
            .join(" | ")})`,
          ...(pinned.length ? { pinned: [...new Set(pinned)] } : {}),
        });
      }
    }
  }
  return findings;
}
