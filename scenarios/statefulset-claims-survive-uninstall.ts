/**
 * Not from the write-ups: a lesson stateful charts teach every team once. A StatefulSet's
 * `volumeClaimTemplates` make the StatefulSet controller create one PersistentVolumeClaim per
 * replica; the chart never renders them, so they are not part of the release.
 *
 * Helm's documentation: `helm uninstall` "removes all of the resources associated with the last
 * release of the chart" — the objects it rendered. Kubernetes' documentation (StatefulSets,
 * "Stable Storage" and "PersistentVolumeClaim retention"): "Deleting and/or scaling a StatefulSet
 * down will not delete the volumes associated with the StatefulSet" unless a
 * persistentVolumeClaimRetentionPolicy says so (default Retain). So after an uninstall the
 * claims stay, a reinstall of the same release name binds the same claim and finds the old
 * data, and an `--atomic` rollback of an upgrade that scaled the StatefulSet up leaves the new
 * replica's claim behind. It needs what a real cluster has: a default StorageClass with a
 * dynamic provisioner (helmdrill's nodes run local-path-provisioner, as k3s and kind do).
 */
import {
  defineScenario,
  fails,
  fixture,
  helm,
  history,
  logsShow,
  release,
  releaseAbsent,
  resources,
  step,
  succeeds,
} from "../harness/index.ts";

const RELEASE = "shop";
const CHART = fixture("storefront");
/** The chart's defaults, less what this lesson does not need: the Service stays inside the cluster, no HPA. */
const PLAIN = ["--set", "web.service.type=ClusterIP,web.hpa.enabled=false"];
const CACHE = "shop-storefront-cache";
const CLAIM_0 = `data-${CACHE}-0`;
const CLAIM_1 = `data-${CACHE}-1`;
const CACHE_PODS = "app.kubernetes.io/instance=shop,app.kubernetes.io/component=cache";
const DOCS = "Helm: helm uninstall; Kubernetes: StatefulSets, Stable Storage and PersistentVolumeClaim retention";

export default defineScenario({
  id: "statefulset-claims-survive-uninstall",
  title: "helm uninstall keeps a StatefulSet's claims",
  summary:
    "The claims a StatefulSet's volumeClaimTemplates create are not part of the release: `helm uninstall` leaves them Bound, a reinstall under the same name binds the old claim and serves the old data, and an `--atomic` rollback of an upgrade that scaled the StatefulSet up leaves the new replica's claim behind.",
  source: { file: "Helm and Kubernetes documentation (not in the write-ups)", section: DOCS },
  release: RELEASE,
  steps: [
    step("Install the storefront with its cache StatefulSet: one replica, one claim from the default StorageClass")
      .explain(
        "The claim waits for its pod (WaitForFirstConsumer), then local-path-provisioner makes a volume for it; the cache writes its seed there.",
      )
      .does(
        helm("install", RELEASE, CHART, ...PLAIN, "--set", "cache.seed=first-install", "--wait", "--timeout", "120s"),
      )
      .documents({ outcome: "succeeds", text: "STATUS: deployed" })
      .expect(
        succeeds(),
        release({ revision: 1, status: "deployed" }),
        resources({ statefulset: [CACHE], persistentvolumeclaim: [CLAIM_0] }),
        logsShow(CACHE_PODS, /serves seed: first-install/),
      ),

    step("`helm uninstall shop`: the StatefulSet goes, its claim stays")
      .explain(
        "Helm deletes what the chart rendered; the claim came from the StatefulSet controller, and the default retention policy keeps it.",
      )
      .does(helm("uninstall", RELEASE, "--wait", "--timeout", "60s"))
      .documents({ outcome: "succeeds", text: 'release "shop" uninstalled', resources: `${CLAIM_0} remains (Bound)` })
      .expect(
        succeeds(/release "shop" uninstalled/),
        releaseAbsent(),
        resources({ statefulset: [], persistentvolumeclaim: [CLAIM_0] }),
      ),

    step("Install again with a new seed: the old claim is bound again, and the cache serves the first install's data")
      .explain("The new StatefulSet's pod asks for the claim by the same name, finds it and mounts the old volume.")
      .does(
        helm("install", RELEASE, CHART, ...PLAIN, "--set", "cache.seed=second-install", "--wait", "--timeout", "120s"),
      )
      .documents({ outcome: "succeeds", text: "the reinstalled release serves the data of the first" })
      .expect(
        succeeds(),
        release({ revision: 1, status: "deployed" }),
        resources({ statefulset: [CACHE], persistentvolumeclaim: [CLAIM_0] }),
        logsShow(CACHE_PODS, /serves seed: first-install/),
      ),

    step(
      "Upgrade to two cache replicas whose pods never get Ready, with --atomic: rolled back, the new replica's claim stays",
    )
      .explain(
        "Scaling up creates pod -1 and its claim first; the wait times out, the rollback scales back to one replica and deletes pod -1, not its claim.",
      )
      .does(
        helm(
          "upgrade",
          RELEASE,
          CHART,
          ...PLAIN,
          "--set",
          "cache.replicas=2,cache.ready=false",
          "--atomic",
          "--timeout",
          "30s",
        ),
      )
      .documents({
        outcome: "fails",
        text: "rolled back due to atomic being set",
        resources: `${CLAIM_0} and ${CLAIM_1}`,
      })
      .expect(
        fails(/UPGRADE FAILED: release shop failed, and has been rolled back due to atomic being set/).when({
          helm: "<4",
        }),
        fails(/UPGRADE FAILED: release shop failed, and has been rolled back due to rollback-on-failure being set/)
          .when({ helm: ">=4" })
          .drift("Helm 4 renamed --atomic to --rollback-on-failure, and the message with it"),
        history("superseded", "failed", ["deployed", "Rollback to 1"]),
        resources({ statefulset: [CACHE], persistentvolumeclaim: [CLAIM_0, CLAIM_1] }),
      ),

    step("`helm uninstall shop` once more: both claims outlive the release")
      .does(helm("uninstall", RELEASE, "--wait", "--timeout", "60s"))
      .documents({ outcome: "succeeds", resources: `${CLAIM_0} and ${CLAIM_1} remain` })
      .expect(succeeds(), releaseAbsent(), resources({ statefulset: [], persistentvolumeclaim: [CLAIM_0, CLAIM_1] })),
  ],
});
