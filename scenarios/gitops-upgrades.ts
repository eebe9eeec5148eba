/**
 * Write-up 003 (Managing Helm releases the GitOps way): a HelmRelease object is the desired
 * state, an operator runs the Helm install and upgrades. The write-up's Flux Helm Operator
 * (helm.fluxcd.io/v1) is retired; its successor, Flux's helm-controller
 * (helm.toolkit.fluxcd.io/v2) with source-controller, drives the release here, from a chart
 * repository helmdrill serves (podinfo 0.2.0 and 0.2.1).
 *
 * The write-up's three moments: the HelmRelease creates the release; CI pushes a new image and
 * the automation changes the HelmRelease's values (here: the `build` value standing in for the
 * image tag) → an upgrade; a change to the chart (0.2.0 → 0.2.1) → another upgrade, with the
 * new chart in `helm history`.
 *
 * On each flux target: helm-controller 1.4 (Helm 3 library) applies client-side and records
 * nothing about it; helm-controller 1.6 (Helm 4 library) installs with server-side apply (its
 * default since 1.5) and its upgrades follow the last revision (`upgrade.serverSideApply: auto`),
 * each revision's storage Secret saying so.
 */
import {
  appliedWith,
  defineScenario,
  fluxCondition,
  fluxRelease,
  history,
  object,
  release,
  resources,
  step,
  succeeds,
} from "../harness/index.ts";

const RELEASE = "podinfo-dev";
const HELM3 = "client-side (Helm 3: not recorded)";
const SSA = "server-side";
const SERVER_SIDE =
  "helm-controller 1.6 (Helm 4 library) applies server-side by default and records it in the release (apply_method ssa)";
/** How each revision so far was applied, per flux target. */
const applied = (revisions: number) => [
  appliedWith(...Array<string>(revisions).fill(HELM3)).when({ flux: "1.4" }),
  appliedWith(...Array<string>(revisions).fill(SSA))
    .when({ flux: ">=1.6" })
    .drift(SERVER_SIDE),
];
const REPOSITORY = "gitops";
const OBJECTS = { deployment: [RELEASE], service: [RELEASE] };
const values = (build: string) => ({
  image: { repository: "helmdrill.local/busybox", tag: "1.35.0" },
  build,
  replicaCount: 1,
});

export default defineScenario({
  id: "gitops-upgrades",
  title: "A HelmRelease drives installs and upgrades (Flux helm-controller)",
  summary:
    "Applying the HelmRelease installs podinfo-dev (revision 1, Install complete); changing its values — the new image tag CI pushed — upgrades it (revision 2, Upgrade complete); bumping the chart from 0.2.0 to 0.2.1 makes revision 3 with the new chart. Flux reports each outcome in the HelmRelease's Ready condition.",
  source: { file: "003_fea028f06db6a10c.txt", section: "podinfo-dev: HelmRelease, image update, chart change" },
  release: RELEASE,
  drivers: ["flux"],
  steps: [
    step("Apply the HelmRelease `podinfo-dev` (podinfo 0.2.0, build dev-kb9lm91e): the controller installs it")
      .explain(
        "Instead of running helm, we declare the release: a HelmRepository and a HelmRelease. helm-controller notices the object and runs the install.",
      )
      .does(fluxRelease({ repository: REPOSITORY, chart: "podinfo", version: "0.2.0", values: values("dev-kb9lm91e") }))
      .documents({ outcome: "succeeds", release: "podinfo-dev r1 (Install complete)" })
      .expect(
        succeeds(),
        history(["deployed", "Install complete"]),
        release({ chart: "podinfo-0.2.0" }),
        resources(OBJECTS),
        fluxCondition("Ready", "True", "InstallSucceeded"),
        ...applied(1),
      ),

    step("CI pushed a new image: the HelmRelease's values change (build dev-9ij63o4c) and the controller upgrades")
      .does(fluxRelease({ repository: REPOSITORY, chart: "podinfo", version: "0.2.0", values: values("dev-9ij63o4c") }))
      .documents({
        outcome: "succeeds",
        text: "1 superseded podinfo-0.2.0 Install complete / 2 deployed podinfo-0.2.0 Upgrade complete",
        release: "podinfo-dev r2 deployed",
      })
      .expect(
        succeeds(),
        history(["superseded", "Install complete"], ["deployed", "Upgrade complete"]),
        release({ chart: "podinfo-0.2.0" }),
        resources(OBJECTS),
        object(`deployment/${RELEASE}`).matches({
          spec: { template: { metadata: { labels: { "podinfo/build": "dev-9ij63o4c" } } } },
        }),
        fluxCondition("Ready", "True", "UpgradeSucceeded"),
        ...applied(2),
      ),

    step("A change to the chart (podinfo 0.2.0 → 0.2.1): the controller upgrades to the new chart")
      .does(fluxRelease({ repository: REPOSITORY, chart: "podinfo", version: "0.2.1", values: values("dev-9ij63o4c") }))
      .documents({
        outcome: "succeeds",
        text: "1 superseded podinfo-0.2.0 Install complete / 2 superseded podinfo-0.2.0 Upgrade complete / 3 deployed podinfo-0.2.1 Upgrade complete",
        release: "podinfo-dev r3 deployed",
      })
      .expect(
        succeeds(),
        history(
          ["superseded", "Install complete"],
          ["superseded", "Upgrade complete"],
          ["deployed", "Upgrade complete"],
        ),
        release({ chart: "podinfo-0.2.1" }),
        resources(OBJECTS),
        fluxCondition("Ready", "True", "UpgradeSucceeded"),
        ...applied(3),
      ),
  ],
});
