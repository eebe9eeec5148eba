import { inject, test } from "vitest";
import { openDrill, type Drill } from "./drill.ts";

/** `test` with a `drill` fixture (vitest's test.extend). */
export const drillTest = test.extend<{ drill: Drill }>({
  // eslint-disable-next-line no-empty-pattern
  drill: async ({ task }, use) => {
    const drill = await openDrill(inject("helmdrill"), task.name);
    try {
      await use(drill);
    } finally {
      await drill.close();
    }
  },
});
