import { describe, expect, it } from "vitest";
import { Check, type CheckContext, type CheckOutcome } from "../../harness/dsl/checks/base.ts";
import { runAction } from "../../harness/dsl/run-step/action.ts";
import { step, type ActionContext } from "../../harness/dsl/step.ts";
import type { CommandResult } from "../../harness/exec.ts";

// Pure logic: when a step's action starts relative to its `whileRunning` checks. The checks here
// are stand-ins that say when they are looking; the real watch is exercised on the cluster
// (tests/cluster/dsl-honesty.test.ts: an object that lives a moment is seen).

const events: string[] = [];

class Watcher extends Check {
  readonly category = "custom";
  constructor(
    override readonly armsFirst: boolean,
    private readonly armAfterMs: number,
  ) {
    super();
  }
  describe() {
    return "watcher";
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    await new Promise((r) => setTimeout(r, this.armAfterMs));
    events.push("armed");
    ctx.armed?.();
    if (!ctx.signal!.aborted) await new Promise((r) => ctx.signal!.addEventListener("abort", r, { once: true }));
    return { ok: true, expected: "watcher", observed: "seen" };
  }
}

const ctx = { runners: {}, vars: {} } as unknown as ActionContext;
const acting = step("act").does({
  label: "act",
  run: async () => {
    events.push("action");
    return { exitCode: 0, stdout: "", stderr: "" } as unknown as CommandResult;
  },
});

describe("whileRunning checks that arm first", () => {
  it("the action starts only once the check is looking", async () => {
    events.length = 0;
    const outcome = await runAction(acting, ctx, [new Watcher(true, 300)]);
    expect(events).toEqual(["armed", "action"]);
    expect(outcome.during[0]?.ok).toBe(true);
  });

  it("a check that does not arm first does not hold the action back", async () => {
    events.length = 0;
    await runAction(acting, ctx, [new Watcher(false, 300)]);
    expect(events).toEqual(["action", "armed"]);
  });
});
