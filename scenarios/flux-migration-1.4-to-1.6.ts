/**
 * Upgrading Flux under a running release: helm-controller 1.4 (Helm 3 library) installs and
 * upgrades podinfo-dev, then is stopped and helm-controller 1.6 (Helm 4 library) is started
 * against the same cluster and the same HelmRelease — what `flux install` of a newer Flux does.
 * Not in the write-ups (003 ends with the retired Helm Operator): what the team running 003's
 * GitOps setup meets when its Flux moves to Helm 4.
 *
 * What to look at, after every step:
 *   - the apply method each revision records in Helm's storage Secret (`apply_method`: Helm 4
 *     writes "ssa" or "csa"; Helm 3 wrote nothing and applied client-side);
 *   - who owns the Deployment's fields (metadata.managedFields: `helm-controller (Update)` is a
 *     client-side create/patch, `helm-controller (Apply)` a server-side apply);
 *   - what helm-controller 1.6's settings change: `upgrade.serverSideApply` (`auto`, the default,
 *     reuses the apply method of the release's last revision — client-side for one Helm 3 made;
 *     `enabled` switches to server-side apply and moves the fields Helm owned to `Apply`), and
 *     the `UseHelm3Defaults` feature gate (installs apply client-side again; upgrades still
 *     follow `auto`).
 *
 * The controllers run against 1.6's CRDs from the start (CRDs are cluster-wide; helmdrill applies
 * the newest selected target's), as after `flux install` upgraded them.
 */
import {
  appliedWith,
  defineScenario,
  fluxCondition,
  fluxRelease,
  history,
  kubectl,
  managedBy,
  releaseAbsent,
  resources,
  step,
  succeeds,
  switchFlux,
} from "../harness/index.ts";

const RELEASE = "podinfo-dev";
const DEPLOYMENT = `deployment/${RELEASE}`;
const OBJECTS = { deployment: [RELEASE], service: [RELEASE] };
/**
 * Each upgrade is a new build of the app (the image tag CI pushed in write-up 003). `maxHistory:
 * 10`: helm-controller keeps 5 revisions by default, and this walkthrough makes 6.
 */
const podinfo = (build: string, spec?: Record<string, unknown>) =>
  fluxRelease({
    repository: "gitops",
    chart: "podinfo",
    version: "0.2.0",
    values: { image: { repository: "helmdrill.local/busybox", tag: "1.35.0" }, build, replicaCount: 1 },
    spec: { maxHistory: 10, ...spec },
  });
const HELM3 = "client-side (Helm 3: not recorded)";
const CSA = "client-side";
const SSA = "server-side";
const UPDATE = "helm-controller (Update)";
const APPLY = "helm-controller (Apply)";

export default defineScenario({
  id: "flux-migration-1-4-to-1-6",
  title: "Upgrading Flux from helm-controller 1.4 (Helm 3) to 1.6 (Helm 4) under a running release",
  summary:
    "helm-controller 1.4 installs and upgrades podinfo-dev (nothing recorded: Helm 3 applies client-side); 1.6 takes over the same HelmRelease without a new revision, upgrades it client-side (`upgrade.serverSideApply: auto` follows the last revision), server-side once `upgrade.serverSideApply: enabled` (the Deployment's fields move from `helm-controller (Update)` to `(Apply)`) and keeps that under `auto`; with the `UseHelm3Defaults` feature gate an upgrade still follows the last revision while a new install applies client-side.",
  source: {
    file: "003_fea028f06db6a10c.txt",
    section:
      "podinfo-dev's HelmRelease across a Flux upgrade to Helm 4 (not in the write-up; helm-controller's CHANGELOG 1.5.0, internal/action/{install,upgrade}.go)",
  },
  release: RELEASE,
  drivers: ["flux"],
  migrations: "only",
  steps: [
    step("helm-controller 1.4 (Helm 3 library) installs podinfo-dev")
      .does(podinfo("dev-1"))
      .expect(
        succeeds(),
        history(["deployed", "Install complete"]),
        appliedWith(HELM3),
        managedBy(DEPLOYMENT, "spec.replicas", UPDATE),
        resources(OBJECTS),
      ),

    step("helm-controller 1.4 upgrades it (a new build)")
      .does(podinfo("dev-2"))
      .expect(
        succeeds(),
        history(["superseded", "Install complete"], ["deployed", "Upgrade complete"]),
        appliedWith(HELM3, HELM3),
        managedBy(DEPLOYMENT, "spec.replicas", UPDATE),
      ),

    step("Flux is upgraded: helm-controller 1.4 stops, 1.6 (Helm 4 library) starts and reconciles the same HelmRelease")
      .explain(
        "The new controller finds the release in sync with the HelmRelease: no new revision, and the Deployment's fields stay where Helm 3 left them.",
      )
      .does(switchFlux())
      .expect(
        succeeds(
          /helm-controller 1\.4\.\d+ \+ source-controller \S+ stopped; helm-controller 1\.6\.\d+ \+ source-controller \S+ running/,
        ),
        history(["superseded", "Install complete"], ["deployed", "Upgrade complete"]),
        appliedWith(HELM3, HELM3),
        managedBy(DEPLOYMENT, "spec.replicas", UPDATE),
        fluxCondition("Ready", "True"),
      ),

    step(
      "helm-controller 1.6 upgrades it with the default `upgrade.serverSideApply: auto`: client-side, like the last revision",
    )
      .explain(
        "`auto` reuses the apply method the last revision records; a revision Helm 3 wrote records none, which counts as client-side. Helm 4 now records it: csa.",
      )
      .does(podinfo("dev-3"))
      .expect(
        succeeds(),
        history(
          ["superseded", "Install complete"],
          ["superseded", "Upgrade complete"],
          ["deployed", "Upgrade complete"],
        ),
        appliedWith(HELM3, HELM3, CSA),
        managedBy(DEPLOYMENT, "spec.replicas", UPDATE),
      ),

    step("`upgrade.serverSideApply: enabled`: the upgrade applies server-side and takes over Helm 3's field ownership")
      .explain(
        "Moving from client-side to server-side apply, Helm 4 first rewrites the fields its client-side manager owned as its server-side manager's (client-go's csaupgrade), so no field is left to a manager nothing updates any more.",
      )
      .does(podinfo("dev-4", { upgrade: { serverSideApply: "enabled" } }))
      .expect(
        succeeds(),
        history(
          ["superseded", "Install complete"],
          ["superseded", "Upgrade complete"],
          ["superseded", "Upgrade complete"],
          ["deployed", "Upgrade complete"],
        ),
        appliedWith(HELM3, HELM3, CSA, SSA),
        managedBy(DEPLOYMENT, "spec.replicas", APPLY),
      ),

    step("Back to `auto`: the next upgrade stays server-side, like the last revision")
      .does(podinfo("dev-5"))
      .expect(succeeds(), appliedWith(HELM3, HELM3, CSA, SSA, SSA), managedBy(DEPLOYMENT, "spec.replicas", APPLY)),

    step("helm-controller 1.6 restarted with `--feature-gates=UseHelm3Defaults=true`")
      .does(switchFlux({ featureGates: { UseHelm3Defaults: true } }))
      .expect(
        succeeds(
          / stopped; helm-controller 1\.6\.\d+ \+ source-controller \S+ --feature-gates=UseHelm3Defaults=true running/,
        ),
        appliedWith(HELM3, HELM3, CSA, SSA, SSA),
        fluxCondition("Ready", "True"),
      ),

    step("Under UseHelm3Defaults an upgrade still follows the last revision: server-side")
      .explain(
        "The feature gate changes the defaults of installs (client-side apply) and of the wait (Helm 3's legacy strategy); `upgrade.serverSideApply` defaults to `auto` whatever the gate says.",
      )
      .does(podinfo("dev-6"))
      .expect(succeeds(), appliedWith(HELM3, HELM3, CSA, SSA, SSA, SSA), managedBy(DEPLOYMENT, "spec.replicas", APPLY)),

    step("Delete the HelmRelease: helm-controller 1.6 uninstalls the release")
      .does(kubectl("delete", "helmreleases.helm.toolkit.fluxcd.io", RELEASE, "--wait", "--timeout=120s"))
      .expect(succeeds(), releaseAbsent(), resources({ deployment: [], service: [] })),

    step("Under UseHelm3Defaults a new install applies client-side — and Helm 4 records it")
      .does(podinfo("dev-7"))
      .expect(
        succeeds(),
        history(["deployed", "Install complete"]),
        appliedWith(CSA),
        managedBy(DEPLOYMENT, "spec.replicas", UPDATE),
        fluxCondition("Ready", "True", "InstallSucceeded"),
      ),
  ],
});
