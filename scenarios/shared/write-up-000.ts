import path from "node:path";
import { fluxRelease, type Action, type ActionContext } from "../../harness/index.ts";

/**
 * The write-up's `helmfile sync --set … --args "…"`, replayed through whichever driver the
 * target uses, so one scenario covers:
 *   helm                 helm upgrade --install <release> <chart> --wait --timeout 20s --set … <args>
 *   helmfile, "args"     helmfile -f helmfile.yaml.gotmpl sync --set … --args "<args>"   (as written in 2020)
 *   helmfile, "defaults" helmfile -f helmfile.cleanup-on-fail.yaml.gotmpl sync --set …  (helmDefaults.cleanupOnFail;
 *                        --atomic becomes helmDefaults.atomic through HELMDRILL_ATOMIC)
 *   helmfile, "apply"    helmfile -f helmfile.cleanup-on-fail.yaml.gotmpl apply --set …  (the same helmDefaults; helm-diff
 *                        decides whether anything is synced at all)
 *   flux                 a HelmRelease of local-chart with the values, `timeout: 20s`, and the flags as Flux says them:
 *                        --cleanup-on-fail → upgrade.cleanupOnFail; --atomic → remediate the last failure (install:
 *                        uninstall; upgrade: rollback), no retries
 */
export interface SyncOptions {
  set?: Record<string, string | number | boolean>;
  /** Helm flags as the write-up passes them through `--args`. */
  args?: string[];
}

const HELMFILE_DIR = "helmfile";
const CHART = "local-chart";
const RELEASE = "my-release";
const TIMEOUT = "20s";

/** `--set a.b=true` as the nested values a HelmRelease takes. */
export function setsToValues(set: Record<string, string | number | boolean>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(set)) {
    const parts = key.split(".");
    let node = values;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts.at(-1)!] = value;
  }
  return values;
}

/** Helm's flags as a HelmRelease spec. */
export function fluxSpec(args: readonly string[]): Record<string, unknown> {
  const unsupported = args.filter((a) => a !== "--cleanup-on-fail" && a !== "--atomic");
  if (unsupported.length) throw new Error(`the flux driver cannot express ${unsupported.join(" ")}`);
  const atomic = args.includes("--atomic");
  return {
    timeout: TIMEOUT,
    install: { remediation: { retries: 0, ...(atomic ? { remediateLastFailure: true } : {}) } },
    upgrade: {
      ...(args.includes("--cleanup-on-fail") ? { cleanupOnFail: true } : {}),
      remediation: { retries: 0, ...(atomic ? { remediateLastFailure: true, strategy: "rollback" } : {}) },
    },
  };
}

export function sync(options: SyncOptions = {}): Action {
  const sets = Object.entries(options.set ?? {}).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
  const args = options.args ?? [];
  const label = `sync ${sets.join(" ")}${args.length ? ` --args "${args.join(" ")}"` : ""}`.trim();
  return {
    label,
    run: (ctx: ActionContext) => {
      const t = ctx.target;
      if (t.driver === "helm") {
        return ctx.runners.helm([
          "upgrade",
          "--install",
          RELEASE,
          ctx.fixture(CHART),
          "--wait",
          "--timeout",
          TIMEOUT,
          ...sets,
          ...args,
        ]);
      }
      if (t.driver === "flux") {
        return fluxRelease({
          repository: CHART,
          chart: CHART,
          version: "0.1.0",
          values: setsToValues(options.set ?? {}),
          spec: fluxSpec(args),
        }).run(ctx);
      }
      if (t.style === "defaults" || t.style === "apply") {
        const unsupported = args.filter((a) => a !== "--cleanup-on-fail" && a !== "--atomic");
        if (unsupported.length) throw new Error(`helmDefaults style cannot express ${unsupported.join(" ")}`);
        const file = ctx.fixture(path.join(HELMFILE_DIR, "helmfile.cleanup-on-fail.yaml.gotmpl"));
        return ctx.runners.helmfile(["-f", file, t.style === "apply" ? "apply" : "sync", ...sets], {
          env: { HELMDRILL_ATOMIC: args.includes("--atomic") ? "true" : "false" },
        });
      }
      const file = ctx.fixture(path.join(HELMFILE_DIR, "helmfile.yaml.gotmpl"));
      return ctx.runners.helmfile(["-f", file, "sync", ...sets, ...(args.length ? ["--args", args.join(" ")] : [])]);
    },
  };
}

/**
 * A CI gate's question — would a sync with these values change anything? — asked with
 * helm-diff's detailed exit code (0 no changes, 2 changes, 1 error):
 *   helm      helm diff upgrade my-release ./local-chart --detailed-exitcode --set …
 *   helmfile  helmfile -f <the style's file> diff --detailed-exitcode --set …
 * Read-only: nothing is installed or upgraded.
 */
export function diff(options: Pick<SyncOptions, "set"> = {}): Action {
  const sets = Object.entries(options.set ?? {}).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
  return {
    label: `diff --detailed-exitcode ${sets.join(" ")}`.trim(),
    run: (ctx: ActionContext) => {
      const t = ctx.target;
      // Through Flux the gate asks the same question of the release the controller manages.
      if (t.driver === "helm" || t.driver === "flux")
        return ctx.runners.helm(["diff", "upgrade", RELEASE, ctx.fixture(CHART), "--detailed-exitcode", ...sets]);
      const file = t.style === "args" ? "helmfile.yaml.gotmpl" : "helmfile.cleanup-on-fail.yaml.gotmpl";
      return ctx.runners.helmfile([
        "-f",
        ctx.fixture(path.join(HELMFILE_DIR, file)),
        "diff",
        "--detailed-exitcode",
        ...sets,
      ]);
    },
  };
}

/**
 * The write-up's `helm delete --purge my-release` (Helm 2) is `helm uninstall my-release` in
 * Helm 3 and 4; through Flux it is deleting the HelmRelease (its finalizer uninstalls the
 * release — a `helm uninstall` behind the controller's back would be undone at its next
 * reconcile). The transcript shows the command actually run.
 */
export function purge(release = RELEASE): Action {
  return {
    label: `helm uninstall ${release}   # Helm 2: helm delete --purge ${release}; flux: kubectl delete helmrelease ${release}`,
    run: (ctx) =>
      ctx.target.driver === "flux"
        ? ctx.runners.kubectl(["delete", "helmreleases.helm.toolkit.fluxcd.io", release, "--wait", "--timeout=120s"])
        : ctx.runners.helm(["uninstall", release, "--wait", "--timeout", "60s"]),
  };
}
