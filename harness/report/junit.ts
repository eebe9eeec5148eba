import path from "node:path";
import type { RunnerTask } from "vitest";
import type { TestModule, Vitest } from "vitest/node";
import { JUnitReporter } from "vitest/node";
import { isLostTest } from "./verdict.ts";

/**
 * vitest's JUnit reporter, with one difference: a test that failed because the cluster died
 * under it is an <error> (the test could not be judged), not a <failure> (the behaviour did not
 * match) — and the suites' `errors` and `failures` counts say so. CI dashboards then tell an
 * infrastructure fault from a Helm behaviour failure.
 */
export default class HelmdrillJUnitReporter extends JUnitReporter {
  private root = process.cwd();
  private readonly lostTasks = new Set<string>();
  private readonly lostPerFile = new Map<string, number>();
  private current?: RunnerTask;

  override async onInit(ctx: Vitest): Promise<void> {
    this.root = ctx.config.root;
    await super.onInit(ctx);
  }

  override async onTestRunEnd(modules: ReadonlyArray<TestModule>): Promise<void> {
    this.lostTasks.clear();
    this.lostPerFile.clear();
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const result = t.result();
        if (result.state !== "failed" || !isLostTest(t.meta(), result.errors)) continue;
        this.lostTasks.add(t.id);
        const file = path.relative(this.root, m.moduleId);
        this.lostPerFile.set(file, (this.lostPerFile.get(file) ?? 0) + 1);
      }
    }
    await super.onTestRunEnd(modules);
  }

  override async writeTasks(tasks: RunnerTask[], filename: string): Promise<void> {
    // One task at a time, so writeElement knows whose <failure> it writes.
    for (const task of tasks) {
      this.current = task;
      await super.writeTasks([task], filename);
    }
    this.current = undefined;
  }

  override async writeElement(
    name: string,
    attrs: Record<string, unknown>,
    children: () => Promise<void>,
  ): Promise<void> {
    if (name === "failure" && this.current && this.lostTasks.has(this.current.id))
      return super.writeElement("error", attrs, children);
    if (name === "testsuite" || name === "testsuites") {
      const lost = name === "testsuite" ? (this.lostPerFile.get(String(attrs.name)) ?? 0) : this.lostTasks.size;
      if (lost > 0)
        return super.writeElement(name, { ...attrs, failures: Number(attrs.failures) - lost, errors: lost }, children);
    }
    return super.writeElement(name, attrs, children);
  }
}
