import semver from "semver";

/**
 * What a scenario run exercises: which tool drives the release and which versions.
 * - driver "helm": plain `helm upgrade --install` / `helm install`
 * - driver "helmfile": `helmfile sync`, in one of two styles:
 *   "args"     — the write-up's `--args "--cleanup-on-fail"` usage
 *   "defaults" — the recommended `helmDefaults.cleanupOnFail: true`
 */
export type Driver = "helm" | "helmfile";
export type HelmfileStyle = "args" | "defaults";

export interface Target {
  driver: Driver;
  helm: string;
  helmfile?: string;
  style?: HelmfileStyle;
}

/** Keys an expectation to targets. Every field given must match; ranges are semver ranges. */
export interface Selector {
  driver?: Driver;
  helm?: string;
  helmfile?: string;
  style?: HelmfileStyle;
}

export function selects(selector: Selector | undefined, target: Target): boolean {
  if (!selector) return true;
  if (selector.driver && selector.driver !== target.driver) return false;
  if (selector.style && selector.style !== target.style) return false;
  if (selector.helm && !semver.satisfies(target.helm, selector.helm, { includePrerelease: true })) return false;
  if (selector.helmfile) {
    if (!target.helmfile) return false;
    if (!semver.satisfies(target.helmfile, selector.helmfile, { includePrerelease: true })) return false;
  }
  return true;
}

export function describeSelector(selector: Selector | undefined): string {
  if (!selector) return "every version";
  const parts: string[] = [];
  if (selector.driver) parts.push(`via ${selector.driver}`);
  if (selector.style) parts.push(`helmfile ${selector.style} style`);
  if (selector.helm) parts.push(`helm ${selector.helm}`);
  if (selector.helmfile) parts.push(`helmfile ${selector.helmfile}`);
  return parts.join(", ");
}

export function targetLabel(target: Target): string {
  if (target.driver === "helm") return `helm ${target.helm}`;
  return `helmfile ${target.helmfile} (${target.style === "defaults" ? "helmDefaults" : "--args"}) + helm ${target.helm}`;
}

/** A short id usable in file names and namespace names. */
export function targetSlug(target: Target): string {
  const helm = target.helm.replaceAll(".", "");
  if (target.driver === "helm") return `h${helm}`;
  return `hf${(target.helmfile ?? "").replaceAll(".", "")}${target.style === "defaults" ? "d" : "a"}-h${helm}`;
}

/** Validates a selector's ranges at definition time, so a typo fails loudly. */
export function validateSelector(selector: Selector): void {
  for (const key of ["helm", "helmfile"] as const) {
    const range = selector[key];
    if (range !== undefined && semver.validRange(range) === null) {
      throw new Error(`invalid semver range for ${key}: "${range}"`);
    }
  }
}

/**
 * Every (driver, versions, style) combination to run: each Helm version through helm, and
 * through every helmfile version in both styles — except pairings the helmfile cannot drive.
 */
export function targetsFor(
  drivers: readonly Driver[],
  versions: { helmVersions: readonly string[]; helmfileVersions: readonly string[] },
  helmfileSupports: (helmfile: string, helm: string) => boolean = () => true,
): Target[] {
  const targets: Target[] = [];
  for (const driver of drivers) {
    for (const helm of versions.helmVersions) {
      if (driver === "helm") targets.push({ driver, helm });
      else
        for (const helmfile of versions.helmfileVersions) {
          if (!helmfileSupports(helmfile, helm)) continue;
          for (const style of ["args", "defaults"] as const) targets.push({ driver, helm, helmfile, style });
        }
    }
  }
  return targets;
}
