import { inject, test } from "vitest";
import { openDrill, type Drill, type HelmdrillProvided } from "./drill.ts";

/**
 * `test` with a `drill` fixture (vitest's test.extend). Any test that fails while using it —
 * a scenario or a test in tests/cluster — keeps its namespace and cluster under
 * HELMDRILL_KEEP=1 / --keep.
 */
export const drillTest = drillTestOn(() => inject("helmdrill"));

/** The same `drill` fixture on another cluster than the run's (a test that starts its own). */
export function drillTestOn(provided: () => HelmdrillProvided) {
  return test.extend<{ drill: Drill }>({
    drill: async ({ task, signal }, use) => {
      // Scenario and target (or test file and test) name the namespace: `hd-<scenario>-<target>-…`.
      const drill = await openDrill(provided(), task.suite?.name.split(" ")[0] ?? task.file.name, task.name);
      // vitest aborts the test's signal when the test times out, then tears this fixture down
      // while the test's body may still run: the drill's commands are killed, and `close` waits
      // for the work the body holds before it uninstalls anything or deletes the namespace.
      const abort = () => drill.abort(signal.reason);
      if (signal.aborted) abort();
      else signal.addEventListener("abort", abort, { once: true });
      try {
        await use(drill);
      } finally {
        signal.removeEventListener("abort", abort);
        if (task.result?.state === "fail") drill.markFailed();
        await drill.close();
      }
    },
  });
}
