/**
 * Write-up 004's pre-upgrade veto, read from Helm's own output. When the check Job of exercise 4
 * fails, Helm says only that a hook failed; the reason — the Job's own words — is in the pod's
 * log, which a CI job that only keeps Helm's output never sees. HIP-0019 added the
 * `helm.sh/hook-output-log-policy` annotation: Helm prints a hook's pod logs when it fails
 * (`hook-failed`) or succeeds (`hook-succeeded`). helm-behaviour-notes.md leaves open which
 * version added it; this scenario asks every pinned Helm: 3.18.0 prints the log lines as they
 * are, 4.1.4 through its logger, 3.17.3 not at all.
 */
import {
  defineScenario,
  fails,
  helm,
  history,
  jobComplete,
  jobFailed,
  logsShow,
  step,
  succeeds,
  without,
} from "../harness/index.ts";
import { RELEASE, chart, installV1, upgradeToV3 } from "./shared/todo-list.ts";

const CHECK_JOB = "todo-list-db-check";
const VETO = "** ERROR - Postgres not at expected version - wanted: 11.6, got: PostgreSQL 11.8 - CANNOT UPGRADE **";
const OK = "** Postgres at expected version - wanted: 11.8, got: PostgreSQL 11.8 - OK TO UPGRADE **";
const logPolicy = (policy: string) => `upgrade.checkOutputLogPolicy=${policy}`;
/** The Job's log line as a line of Helm's output, exactly. */
const line = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m");
const HELM4_LOGGER = 'Helm 4 prints each log line through its logger: level=INFO msg="…"';
const BEFORE_HIP_0019 = "Helm 3.17 ignores the annotation: the hook's log is not in Helm's output";

export default defineScenario({
  id: "hook-output-logs",
  title: "A hook's logs in Helm's output (hook-output-log-policy)",
  summary:
    "The v4 chart's pre-upgrade check fails as in exercise 4. Without an output-log policy Helm's output says only that the hook failed; with `helm.sh/hook-output-log-policy: hook-failed` Helm prints the Job's log — the veto's reason — itself (from Helm 3.18), and with `hook-succeeded` the log of a check that passed. Helm 4 prints the lines through its logger (`level=INFO msg=\"…\"`); Helm 3.17 ignores the annotation.",
  source: {
    file: "004_30748cb077af98f7.txt",
    section: "실습 4 (exercise 4), read from Helm's output (HIP-0019; not in the write-up)",
  },
  release: RELEASE,
  selector: "kiamol=ch12",
  steps: [
    installV1(),
    upgradeToV3(2),

    step("`helm upgrade todo-list v4` as Kiamol wrote it: vetoed, and Helm's output does not say why")
      .explain(
        "The check Job's reason is only in its pod's log (`kubectl logs -l job-name=todo-list-db-check`); Helm reports the failed hook.",
      )
      .does(helm("upgrade", "--timeout", "2m", RELEASE, chart("v4")))
      .expect(
        fails(/UPGRADE FAILED: pre-upgrade hooks failed/, without("CANNOT UPGRADE")),
        history("superseded", "deployed", ["failed", /pre-upgrade hooks failed/]),
        jobFailed(CHECK_JOB, "BackoffLimitExceeded"),
        logsShow(`job-name=${CHECK_JOB}`, VETO),
      ),

    step("The same upgrade with `hook-output-log-policy: hook-failed` on the check Job: Helm prints the veto's reason")
      .explain(
        "Helm looks up the failed Job's pods and copies their log into its own output before reporting the failure; a Helm without HIP-0019 ignores the annotation.",
      )
      .does(helm("upgrade", "--timeout", "2m", RELEASE, chart("v4"), "--set", logPolicy("hook-failed")))
      .expect(
        fails(/UPGRADE FAILED: pre-upgrade hooks failed/, line(VETO)).when({ helm: ">=3.18.0 <4" }),
        fails(/UPGRADE FAILED: pre-upgrade hooks failed/, `level=INFO msg="${VETO}"`)
          .when({ helm: ">=4" })
          .drift(HELM4_LOGGER),
        fails(/UPGRADE FAILED: pre-upgrade hooks failed/, without("CANNOT UPGRADE"))
          .when({ helm: "<3.18.0" })
          .drift(BEFORE_HIP_0019),
        history(
          "superseded",
          "deployed",
          ["failed", /pre-upgrade hooks failed/],
          ["failed", /pre-upgrade hooks failed/],
        ),
        jobFailed(CHECK_JOB, "BackoffLimitExceeded"),
      ),

    step(
      "`--set upgrade.expectedDbVersion=11.8` with `hook-output-log-policy: hook-succeeded`: the check passes and Helm prints what it checked",
    )
      .does(
        helm(
          "upgrade",
          "--timeout",
          "2m",
          RELEASE,
          chart("v4"),
          "--set",
          "upgrade.expectedDbVersion=11.8",
          "--set",
          logPolicy("hook-succeeded"),
        ),
      )
      .expect(
        succeeds(line(OK)).when({ helm: ">=3.18.0 <4" }),
        succeeds(`level=INFO msg="${OK}"`).when({ helm: ">=4" }).drift(HELM4_LOGGER),
        succeeds(without("OK TO UPGRADE")).when({ helm: "<3.18.0" }).drift(BEFORE_HIP_0019),
        history(
          "superseded",
          "superseded",
          ["failed", /pre-upgrade hooks failed/],
          ["failed", /pre-upgrade hooks failed/],
          ["deployed", "Upgrade complete"],
        ),
        jobComplete(CHECK_JOB),
      ),
  ],
});
