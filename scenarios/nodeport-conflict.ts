/**
 * Write-up 002 (Helm Install with Atomic Flag), "Part 1: Installation Failure Scenarios" and
 * "Part 2: Solution with Atomic Flag": two releases of `mychart1` fight over NodePort 31231.
 *
 * helmdrill allocates a free NodePort per run (parallel scenarios share one cluster); the
 * prose keeps the write-up's 31231.
 */
import {
  defineScenario,
  fails,
  fixture,
  fromVar,
  helm,
  release,
  releaseAbsent,
  resources,
  step,
  succeeds,
} from "../harness/index.ts";

const port = fromVar("nodePort", (p) => `service.nodePort=${p}`);
const QA = "release=qa101";
const DEV = "release=dev101";

export default defineScenario({
  id: "nodeport-conflict",
  title: "Two releases fight over one NodePort",
  summary:
    "qa101 asks for the NodePort dev101 already holds. Without --atomic the install fails, qa101 stays FAILED and its other objects remain until a manual uninstall; with --atomic nothing remains.",
  source: {
    file: "002_a35d70069ababb80.txt",
    section: "Part 1: Port Conflict Without Atomic; Part 2: Install with Atomic Flag",
  },
  release: "qa101",
  selector: QA,
  prepare: async ({ allocateNodePort }) => ({ nodePort: await allocateNodePort() }),
  steps: [
    step("`helm install dev101 mychart1`: dev101 takes NodePort 31231")
      .does(helm("install", "dev101", fixture("mychart1"), "--set", port))
      .documents({ outcome: "succeeds", text: "Service uses NodePort 31231", release: "dev101 deployed" })
      .expect(
        succeeds(),
        release({ name: "dev101", revision: 1, status: "deployed" }),
        resources({ service: ["dev101-mychart1"], deployment: ["dev101-mychart1"] }, { selector: DEV }),
      ),

    step("`helm install qa101 mychart1` without --atomic: the port is already allocated")
      .explain(
        "The API server rejects qa101's Service. Helm records the release as failed; whatever else it created stays.",
      )
      .does(helm("install", "qa101", fixture("mychart1"), "--set", port))
      .documents({
        outcome: "fails",
        text: 'Error: INSTALLATION FAILED: 1 error occurred: * Service "qa101-mychart1" is invalid: spec.ports[0].nodePort: Invalid value: 31231: provided port is already allocated',
        release: "qa101 failed",
      })
      .expect(
        fails(
          /INSTALLATION FAILED: 1 error occurred:/,
          /Service "qa101-mychart1" is invalid: spec\.ports\[0\]\.nodePort: Invalid value: \d+: provided port is already allocated/,
        ).when({ helm: "<4" }),
        fails(
          /INSTALLATION FAILED: Service "qa101-mychart1" is invalid: spec\.ports\[0\]\.nodePort: Invalid value: \d+: provided port is already allocated/,
        )
          .when({ helm: ">=4 <4.2" })
          .drift("Helm 4 prints the API server's error without the `1 error occurred:` wrapper"),
        fails(
          /INSTALLATION FAILED: server-side apply failed for object \S+\/qa101-mychart1 \/v1, Kind=Service: Service "qa101-mychart1" is invalid: spec\.ports\[0\]\.nodePort: Invalid value: \d+: provided port is already allocated/,
        )
          .when({ helm: ">=4.2" })
          .drift(
            "Helm 4.2 names the server-side apply that failed: `server-side apply failed for object <ns>/qa101-mychart1 /v1, Kind=Service: …` (pkg/kube/client.go from v4.2.0)",
          ),
        release({ name: "qa101", revision: 1, status: "failed" }),
        resources({ service: [], deployment: ["qa101-mychart1"] }),
      ),

    step("`helm list`: dev101 deployed, qa101 failed")
      .does(helm("list"))
      .documents({ outcome: "succeeds", text: "dev101 deployed / qa101 failed" })
      .expect(
        succeeds(),
        release({ name: "dev101", status: "deployed" }),
        release({ name: "qa101", status: "failed" }),
      ),

    step("Manual cleanup: `helm uninstall qa101` removes the failed release and its leftovers")
      .does(helm("uninstall", "qa101", "--wait", "--timeout", "60s"))
      .documents({ outcome: "succeeds", text: "qa101 no longer appears" })
      .expect(succeeds(), releaseAbsent("qa101"), resources({ service: [], deployment: [], pod: [] })),

    step("`helm install qa101 mychart1 --atomic`: the same conflict, and nothing is left behind")
      .does(helm("install", "qa101", fixture("mychart1"), "--set", port, "--atomic", "--timeout", "60s"))
      .documents({
        outcome: "fails",
        text: "Error: INSTALLATION FAILED: … provided port is already allocated (automatic cleanup)",
        release: "qa101 NOT in list",
      })
      .expect(
        fails(/uninstalled due to atomic being set/, /provided port is already allocated/)
          .when({ helm: "<4" })
          .drift("Helm 3 wraps the API error: `…uninstalled due to atomic being set: 1 error occurred: …`"),
        fails(/uninstalled due to rollback-on-failure being set/, /provided port is already allocated/)
          .when({ helm: ">=4" })
          .drift("Helm 4 names --rollback-on-failure"),
        releaseAbsent("qa101"),
        resources({ service: [], deployment: [], pod: [] }),
      ),

    step("dev101 is untouched and still holds the port")
      .documents({ outcome: "n/a", text: "dev101 deployed" })
      .expect(
        release({ name: "dev101", revision: 1, status: "deployed" }),
        resources({ service: ["dev101-mychart1"], deployment: ["dev101-mychart1"] }, { selector: DEV }),
      ),
  ],
});
