/**
 * Not from the write-ups: what `--wait` waits for, Helm 3 against Helm 4.
 *
 * Helm 3 (helm.sh/helm/v3 pkg/kube/ready.go, `ReadyChecker.IsReady`) knows a fixed list of
 * kinds: Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets and ReplicationControllers,
 * PersistentVolumeClaims (Bound), CRDs (Established), Jobs only with `--wait-for-jobs`, and
 * Services — a `LoadBalancer` Service is ready only once `status.loadBalancer.ingress` is set
 * (or it has `spec.externalIPs`). Every other kind, custom resources included, counts as ready.
 *
 * Helm 4 (helm.sh/helm/v4 pkg/kube/statuswait.go) makes `--wait` mean `--wait=watcher`: it
 * watches every object and asks kstatus (fluxcd/cli-utils pkg/kstatus/status, core.go and
 * status.go) whether it is Current. kstatus calls a `LoadBalancer` Service Current as soon as
 * it has a cluster IP (`serviceConditions`); a Job Current once it has started
 * (`jobConditions`: `Job not started` is InProgress, a running Job is Current — only
 * `--wait-for-jobs` swaps in Helm's reader that waits for `Complete`); and any other kind with a
 * `Ready` condition in its status InProgress while that condition is False
 * (`checkReadyCondition`). `--wait=legacy` keeps Helm 3's ReadyChecker (v4's pkg/kube/ready.go
 * is the same list); `--wait=hookOnly`, the default without `--wait`, waits for hooks only.
 * On Helm 3 `--wait` is a boolean, and `--wait=legacy` does not parse.
 *
 * Each pair of steps installs one object the two rule sets judge differently, once with
 * `--wait` and once with `--wait=legacy`; every release is a new name, so nothing carries over.
 */
import {
  defineScenario,
  fails,
  fixture,
  helm,
  kubectl,
  release,
  releaseAbsent,
  resources,
  step,
  succeeds,
} from "../harness/index.ts";

const CHART = fixture("wait-rules");
const CRD = fixture("wait-rules/crds/gizmos.yaml");
const WAIT = ["--wait", "--timeout", "15s"];
const LEGACY = ["--wait=legacy", "--timeout", "15s"];
const LB = ["--set", "loadBalancer.enabled=true"];
const GIZMO = ["--set", "gizmo.enabled=true"];
const JOB = ["--set", "job.enabled=true"];
const NOT_A_BOOL = /invalid argument "legacy" for "--wait" flag: strconv\.ParseBool: parsing "legacy": invalid syntax/;
const HELM3_FLAG = 'Helm 3\'s --wait is a boolean: `invalid argument "legacy" for "--wait" flag`';
const DOCS =
  "Helm's sources: pkg/kube/ready.go (v3, and v4's legacy strategy), pkg/kube/statuswait.go and the --wait strategies (v4); kstatus core.go and status.go (fluxcd/cli-utils v1.2.2)";

export default defineScenario({
  id: "helm4-wait-differences",
  title: "What --wait waits for: Helm 3's readiness rules against Helm 4's kstatus watcher",
  summary:
    "Helm 4's `--wait` asks kstatus instead of Helm 3's list of kinds. A LoadBalancer Service that never gets an address times out on Helm 3 and is ready at once on Helm 4; a custom resource whose status says Ready=False, and a Job created suspended, are ignored by Helm 3 and block Helm 4 until its timeout. `--wait=legacy` gives Helm 4 Helm 3's answer each time.",
  source: { file: "Helm and kstatus sources (not in the write-ups)", section: DOCS },
  release: "lb",
  selector: "app.kubernetes.io/name=wait-rules",
  steps: [
    step("The cluster learns the Gizmo kind: its CRD, applied once for every release of this walkthrough")
      .explain(
        "A custom resource kind without a controller and without a status subresource: the status a manifest carries is stored as written. The chart ships the same CRD in crds/; applying it first (server-side, so parallel runs do not race) means no install depends on another one's CRD.",
      )
      .does(kubectl("apply", "--server-side", "--force-conflicts", "-f", CRD))
      .documents({ outcome: "n/a", text: "(setup)" })
      .expect(succeeds(/gizmos\.example\.com/)),

    step("…and the CRD is Established before any chart uses it")
      .explain(
        "A JSONPath wait, not `--for=condition=Established`: kubectl's condition wait exits 1 at once while a just-applied CRD has no conditions yet; a JSONPath wait treats the missing field as not yet.",
      )
      .does(
        kubectl(
          "wait",
          '--for=jsonpath={.status.conditions[?(@.type=="Established")].status}=True',
          "--timeout=30s",
          "crd/gizmos.example.com",
        ),
      )
      .documents({ outcome: "n/a", text: "(setup)" })
      .expect(succeeds(/condition met/)),

    step("`helm install lb --wait`: a LoadBalancer Service no controller gives an address")
      .explain(
        "Its loadBalancerClass names a controller nobody runs, so MetalLB leaves it alone and status.loadBalancer stays empty. Helm 3 waits for an ingress address until the timeout; kstatus calls the Service Current once it has a cluster IP, so Helm 4 returns at once — a pipeline that relied on `--wait` to hand it an address gets none.",
      )
      .does(helm("install", "lb", CHART, ...LB, ...WAIT))
      .documents({
        outcome: "fails",
        text: "Helm 3's rule: a LoadBalancer Service is ready once status.loadBalancer.ingress is set",
      })
      .expect(
        fails(/INSTALLATION FAILED: context deadline exceeded/).when({ helm: "<4" }),
        release({ name: "lb", revision: 1, status: "failed" }).when({ helm: "<4" }),
        succeeds(/STATUS: deployed/)
          .when({ helm: ">=4" })
          .drift("Helm 4's watcher (kstatus) does not wait for a load balancer's address: the install returns at once"),
        release({ name: "lb", revision: 1, status: "deployed" })
          .when({ helm: ">=4" })
          .drift("deployed without an address"),
        resources({ service: ["lb-wait-rules"] }),
      ),

    step("`helm install lb-legacy --wait=legacy`: the same Service with Helm 4's legacy strategy")
      .explain("Helm 4's legacy waiter is Helm 3's ReadyChecker: it waits for the address again, and times out.")
      .does(helm("install", "lb-legacy", CHART, ...LB, ...LEGACY))
      .documents({ outcome: "n/a", text: "(no --wait strategies before Helm 4)" })
      .expect(
        fails(NOT_A_BOOL).when({ helm: "<4" }).drift(HELM3_FLAG),
        releaseAbsent("lb-legacy").when({ helm: "<4" }),
        resources({ service: ["lb-wait-rules"] }).when({ helm: "<4" }),
        fails(/INSTALLATION FAILED: context deadline exceeded/)
          .when({ helm: ">=4" })
          .drift("`--wait=legacy` restores Helm 3's rule: no address, no success"),
        release({ name: "lb-legacy", revision: 1, status: "failed" }).when({ helm: ">=4" }),
        resources({ service: ["lb-wait-rules", "lb-legacy-wait-rules"] }).when({ helm: ">=4" }),
      ),

    step("`helm install gizmo --wait`: a custom resource whose status says Ready=False")
      .explain(
        "Helm 3 does not look at kinds it does not know, so the Gizmo is ready as soon as it exists. kstatus reads a Ready condition on any kind: False means InProgress, and Helm 4 waits for it until the timeout, naming the resource and the condition's message.",
      )
      .does(helm("install", "gizmo", CHART, ...GIZMO, ...WAIT))
      .documents({ outcome: "succeeds", text: "Helm 3's rule: custom resources are not waited for" })
      .expect(
        succeeds(/STATUS: deployed/).when({ helm: "<4" }),
        release({ name: "gizmo", revision: 1, status: "deployed" }).when({ helm: "<4" }),
        fails(
          /INSTALLATION FAILED: resource Gizmo\/\S+\/gizmo-wait-rules not ready\. status: InProgress, message: no controller reconciles gizmos/,
        )
          .when({ helm: ">=4" })
          .drift(
            "Helm 4's watcher waits for a custom resource's Ready condition: `resource Gizmo/<ns>/gizmo-wait-rules not ready. status: InProgress, message: …`",
          ),
        release({ name: "gizmo", revision: 1, status: "failed" }).when({ helm: ">=4" }).drift("the release is failed"),
      ),

    step("`helm install gizmo-legacy --wait=legacy`: the same custom resource with Helm 4's legacy strategy")
      .does(helm("install", "gizmo-legacy", CHART, ...GIZMO, ...LEGACY))
      .documents({ outcome: "n/a", text: "(no --wait strategies before Helm 4)" })
      .expect(
        fails(NOT_A_BOOL).when({ helm: "<4" }).drift(HELM3_FLAG),
        releaseAbsent("gizmo-legacy").when({ helm: "<4" }),
        succeeds(/STATUS: deployed/)
          .when({ helm: ">=4" })
          .drift("`--wait=legacy` ignores custom resources, as Helm 3 does"),
        release({ name: "gizmo-legacy", revision: 1, status: "deployed" }).when({ helm: ">=4" }),
      ),

    step("`helm install job --wait` (no --wait-for-jobs): a Job created suspended")
      .explain(
        "Without --wait-for-jobs Helm 3 does not look at Jobs at all. kstatus calls a Job that has not started InProgress (`Job not started`) — a running one is Current, a finished one too — so a Job that never starts blocks Helm 4's `--wait` until the timeout.",
      )
      .does(helm("install", "job", CHART, ...JOB, ...WAIT))
      .documents({ outcome: "succeeds", text: "Helm 3's rule: Jobs are waited for only with --wait-for-jobs" })
      .expect(
        succeeds(/STATUS: deployed/).when({ helm: "<4" }),
        release({ name: "job", revision: 1, status: "deployed" }).when({ helm: "<4" }),
        fails(
          /INSTALLATION FAILED: resource Job\/\S+\/job-wait-rules not ready\. status: InProgress, message: Job not started/,
        )
          .when({ helm: ">=4" })
          .drift(
            "Helm 4's watcher waits for a Job to start even without --wait-for-jobs: `resource Job/<ns>/job-wait-rules not ready. status: InProgress, message: Job not started`",
          ),
        release({ name: "job", revision: 1, status: "failed" }).when({ helm: ">=4" }).drift("the release is failed"),
        resources({ job: ["job-wait-rules"] }),
      ),

    step("`helm install job-legacy --wait=legacy`: the same suspended Job with Helm 4's legacy strategy")
      .does(helm("install", "job-legacy", CHART, ...JOB, ...LEGACY))
      .documents({ outcome: "n/a", text: "(no --wait strategies before Helm 4)" })
      .expect(
        fails(NOT_A_BOOL).when({ helm: "<4" }).drift(HELM3_FLAG),
        releaseAbsent("job-legacy").when({ helm: "<4" }),
        resources({ job: ["job-wait-rules"] }).when({ helm: "<4" }),
        succeeds(/STATUS: deployed/)
          .when({ helm: ">=4" })
          .drift("`--wait=legacy` ignores Jobs without --wait-for-jobs, as Helm 3 does"),
        release({ name: "job-legacy", revision: 1, status: "deployed" }).when({ helm: ">=4" }),
        resources({ job: ["job-wait-rules", "job-legacy-wait-rules"] }).when({ helm: ">=4" }),
      ),
  ],
});
