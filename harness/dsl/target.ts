import semver from "semver";
import type { Driver } from "../driver.ts";
import { fluxTargetPin, pins } from "../pins.ts";

/**
 * What a scenario run exercises: which tool drives the release and which versions.
 * - driver "helm": plain `helm upgrade --install` / `helm install`
 * - driver "helmfile", in one of three styles:
 *   "args"     — `helmfile sync --args "--cleanup-on-fail"`, the write-up's usage
 *   "defaults" — `helmfile sync` with the recommended `helmDefaults.cleanupOnFail: true`
 *   "apply"    — `helmfile apply` (helm-diff first, then sync only what changed) with helmDefaults
 * - driver "flux": a HelmRelease applied to the cluster, reconciled by Flux's helm-controller of
 *   one pinned flux target ("1.4", "1.6"; its embedded Helm library is the target's `helm`)
 */
export type { Driver };
export type HelmfileStyle = "args" | "defaults" | "apply";

export interface Target {
  driver: Driver;
  helm: string;
  /** A migration target: the release is installed with `helm`, then driven with this version (`helmTo(…)` steps). */
  helmTo?: string;
  helmfile?: string;
  style?: HelmfileStyle;
  /** A flux target's name in pins.json: a helm-controller minor ("1.4", "1.6"). */
  flux?: string;
  /**
   * A flux migration target: the release is driven by `flux`'s controllers, then by this flux
   * target's once a `switchFlux()` step has switched them (its Helm library is then `helmTo`).
   */
  fluxTo?: string;
  /** Why this target cannot run here (e.g. no helm-diff that this Helm loads): reported as not run. */
  unavailable?: string;
  /** The Kubernetes version the run's API server reports ("1.34.4"); set by the run, not a column of its own. */
  kubernetes?: string;
}

/** Keys an expectation to targets. Every field given must match; ranges are semver ranges. */
export interface Selector {
  /** One driver or several (`["helm", "helmfile"]`: everything but flux). */
  driver?: Driver | readonly Driver[];
  /** The Helm version that installs the release (on a migration target: the Helm 3 it starts from). */
  helm?: string;
  /** The Helm version that drives `helmTo(…)` steps: a migration target's Helm 4, otherwise the same as `helm`. */
  helmTo?: string;
  helmfile?: string;
  /** One style or several (`["args", "defaults"]`: every `helmfile sync` style). */
  style?: HelmfileStyle | readonly HelmfileStyle[];
  /** The cluster's Kubernetes version, e.g. ">=1.34" (a range: "1.34" alone means 1.34.x). */
  kubernetes?: string;
  /** A flux target, by its minor: "1.6", ">=1.6" (on a flux migration target: the one it starts with). */
  flux?: string;
  /** The flux target `switchFlux()` steps switch to: a flux migration target's `fluxTo`, otherwise its `flux`. */
  fluxTo?: string;
}

/** A flux target's name as a version a range is matched against ("1.6" → 1.6.0). */
const fluxVersion = (name: string | undefined) => (name ? semver.coerce(name) : null);

export function selects(selector: Selector | undefined, target: Target): boolean {
  if (!selector) return true;
  if (selector.driver && !([selector.driver].flat() as Driver[]).includes(target.driver)) return false;
  if (selector.style && !(target.style && ([selector.style].flat() as HelmfileStyle[]).includes(target.style)))
    return false;
  if (selector.helm && !semver.satisfies(target.helm, selector.helm, { includePrerelease: true })) return false;
  if (selector.helmTo && !semver.satisfies(target.helmTo ?? target.helm, selector.helmTo, { includePrerelease: true }))
    return false;
  if (selector.helmfile) {
    if (!target.helmfile) return false;
    if (!semver.satisfies(target.helmfile, selector.helmfile, { includePrerelease: true })) return false;
  }
  if (selector.kubernetes) {
    const version = target.kubernetes ? semver.coerce(target.kubernetes) : null;
    if (!version || !semver.satisfies(version, selector.kubernetes)) return false;
  }
  if (selector.flux) {
    const version = fluxVersion(target.flux);
    if (!version || !semver.satisfies(version, selector.flux)) return false;
  }
  if (selector.fluxTo) {
    const version = fluxVersion(target.fluxTo ?? target.flux);
    if (!version || !semver.satisfies(version, selector.fluxTo)) return false;
  }
  return true;
}

export function describeSelector(selector: Selector | undefined): string {
  if (!selector) return "every version";
  const parts: string[] = [];
  if (selector.driver) parts.push(`via ${[selector.driver].flat().join("/")}`);
  if (selector.style) parts.push(`helmfile ${[selector.style].flat().join("/")} style`);
  if (selector.helm) parts.push(`helm ${selector.helm}`);
  if (selector.helmTo) parts.push(`upgrading with helm ${selector.helmTo}`);
  if (selector.helmfile) parts.push(`helmfile ${selector.helmfile}`);
  if (selector.kubernetes) parts.push(`Kubernetes ${selector.kubernetes}`);
  if (selector.flux) parts.push(`flux ${selector.flux}`);
  if (selector.fluxTo) parts.push(`switching to flux ${selector.fluxTo}`);
  return parts.join(", ");
}

/** A flux target's column label ("flux 1.6 (Helm 4 library)"), from its pin; `flux <name>` for one not pinned. */
export function fluxTargetLabel(name: string | undefined): string {
  return (name && pins().flux.targets[name]?.label) || `flux ${name ?? "?"}`;
}

export function targetLabel(target: Target): string {
  if (target.driver === "flux")
    return target.fluxTo ? `flux ${target.flux} → ${target.fluxTo}` : fluxTargetLabel(target.flux);
  if (target.driver === "helm") return target.helmTo ? `helm ${target.helm} → ${target.helmTo}` : `helm ${target.helm}`;
  return `helmfile ${target.helmfile} (${STYLE_LABEL[target.style ?? "args"]}) + helm ${target.helm}`;
}

const STYLE_LABEL: Record<HelmfileStyle, string> = { args: "--args", defaults: "helmDefaults", apply: "apply" };
const STYLE_SLUG: Record<HelmfileStyle, string> = { args: "a", defaults: "d", apply: "p" };

/** A short id usable in file names and namespace names. */
export function targetSlug(target: Target): string {
  const helm = target.helm.replaceAll(".", "");
  if (target.driver === "flux") {
    const slug = (name: string | undefined) => `flux${(name ?? "").replaceAll(".", "")}`;
    return target.fluxTo ? `${slug(target.flux)}-${slug(target.fluxTo)}` : slug(target.flux);
  }
  if (target.driver === "helm") return target.helmTo ? `h${helm}-h${target.helmTo.replaceAll(".", "")}` : `h${helm}`;
  return `hf${(target.helmfile ?? "").replaceAll(".", "")}${STYLE_SLUG[target.style ?? "args"]}-h${helm}`;
}

/** Validates a selector's ranges at definition time, so a typo fails loudly. */
export function validateSelector(selector: Selector): void {
  for (const key of ["helm", "helmTo", "helmfile", "kubernetes", "flux", "fluxTo"] as const) {
    const range = selector[key];
    if (range !== undefined && semver.validRange(range) === null) {
      throw new Error(`invalid semver range for ${key}: "${range}"`);
    }
  }
}

/** Whether a scenario also runs migration targets, or only those (`"only"`: a walkthrough of the migration itself). */
export type Migrations = boolean | "only";

/**
 * Every (driver, versions, style) combination to run: each Helm version through helm, and
 * through every helmfile version in each style — except pairings the helmfile cannot drive —
 * and each flux target (default: the pinned defaults) through flux. `apply` targets exist only
 * when `applyUnusable` is given; a Helm version without a usable helm-diff keeps its apply
 * targets, marked unavailable with the reason (never a silent gap); so does a flux target that
 * cannot run here (`fluxUnavailable`: its controllers are not built).
 *
 * With `migrations`, also a migration target per pair of versions: each Helm 3 → each Helm 4,
 * each older flux target → each newer one; with "only", nothing but those.
 */
export function targetsFor(
  drivers: readonly Driver[],
  versions: { helmVersions: readonly string[]; helmfileVersions: readonly string[]; fluxTargets?: readonly string[] },
  helmfileSupports: (helmfile: string, helm: string) => boolean = () => true,
  applyUnusable?: (helm: string) => string | undefined,
  migrations: Migrations = false,
  /** Why a flux target cannot run here (its controllers not built): it is then reported as not run. */
  fluxUnavailable?: (flux: string) => string | undefined,
): Target[] {
  const targets: Target[] = [];
  const styles: HelmfileStyle[] = applyUnusable ? ["args", "defaults", "apply"] : ["args", "defaults"];
  const plain = migrations !== "only";
  for (const driver of plain ? drivers : []) {
    if (driver === "flux") continue;
    for (const helm of versions.helmVersions) {
      if (driver === "helm") targets.push({ driver, helm });
      else
        for (const helmfile of versions.helmfileVersions) {
          if (!helmfileSupports(helmfile, helm)) continue;
          for (const style of styles) {
            const unavailable = style === "apply" ? applyUnusable?.(helm) : undefined;
            targets.push(
              unavailable ? { driver, helm, helmfile, style, unavailable } : { driver, helm, helmfile, style },
            );
          }
        }
    }
  }
  // Flux: one target per flux target, keyed by the Helm library its helm-controller embeds.
  const fluxTargets = drivers.includes("flux") ? fluxTargetsOf(versions.fluxTargets) : [];
  const unavailable = (...names: string[]) => {
    const why = names.map((n) => fluxUnavailable?.(n)).find(Boolean);
    return why ? { unavailable: why } : {};
  };
  if (plain)
    for (const flux of fluxTargets)
      targets.push({ driver: "flux", helm: helmLibrary(flux), flux, ...unavailable(flux) });
  // Migration targets: installed with each Helm 3, then driven with each Helm 4 (the path every team takes).
  if (migrations && drivers.includes("helm")) {
    for (const from of versions.helmVersions.filter((v) => semver.major(v) === 3)) {
      for (const to of versions.helmVersions.filter((v) => semver.major(v) >= 4))
        targets.push({ driver: "helm", helm: from, helmTo: to });
    }
  }
  // …and driven by each older flux target's controllers, then by each newer one's (upgrading Flux).
  if (migrations) {
    for (const [i, from] of fluxTargets.entries())
      for (const to of fluxTargets.slice(i + 1))
        targets.push({
          driver: "flux",
          helm: helmLibrary(from),
          helmTo: helmLibrary(to),
          flux: from,
          fluxTo: to,
          ...unavailable(from, to),
        });
  }
  return targets;
}

/** The selected flux targets (default: the pinned defaults), oldest helm-controller first. */
function fluxTargetsOf(selected: readonly string[] | undefined): string[] {
  const version = (name: string) => fluxTargetPin(name).helmController.version;
  return [...(selected ?? pins().flux.defaults)].sort((a, b) => semver.compare(version(a), version(b)));
}

/** The Helm library a flux target's helm-controller embeds: its `helm`. */
const helmLibrary = (flux: string): string => fluxTargetPin(flux).helmLibrary;
