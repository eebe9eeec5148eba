import { describe, expect, it } from "vitest";
import { succeeds } from "../../harness/dsl/checks.ts";
import { executeScenario } from "../../harness/dsl/scenario.ts";
import { helm, step } from "../../harness/dsl/step.ts";
import { fakeHelm, offlineEnvironment } from "./offline-run.ts";

// A stand-in `helm` for this unit test of the step runner's logic: `upgrade` hangs like a
// helm --wait that never ends, everything else answers "not found" at once.
const fake = fakeHelm("helmdrill-unit-", [
  "upgrade) exec sleep 20;;",
  '*) echo "Error: release: not found" >&2; exit 1;;',
]);
const environment = () => offlineEnvironment(fake);

describe("Step.withTimeout", () => {
  it(
    "bounds the step's command: a hanging command is killed and the step fails saying so",
    { timeout: 30_000 },
    async () => {
      const spec = {
        id: "hang",
        title: "hang",
        summary: "",
        source: { file: "x", section: "y" },
        release: "r",
        steps: [
          step("upgrade that hangs")
            .does(helm("upgrade", "r", "chart", "--wait"))
            .withTimeout(1_000)
            .expect(succeeds()),
        ],
      };
      const run = await executeScenario(spec, { driver: "helm", helm: "3.17.3" }, environment());
      const s = run.steps[0]!;
      expect(s.status).toBe("failed");
      expect(s.checks[0]!.observed).toMatch(/killed by helmdrill's timeout after \d+ ms/);
      const upgrade = s.commands.find((c) => !c.probe)!;
      // The stand-in sleeps 20 s: a command that ran its course was not killed.
      expect(upgrade.durationMs).toBeLessThan(10_000);
    },
  );
});
