/**
 * The drill fixture's own logic, without a cluster: keep markers per leg of a run, the wait for
 * a namespace's default ServiceAccount, and the work a test's cleanup waits for.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scratchRootFor, useScratchRoot } from "../../harness/util/scratch.ts";
import type { Kube } from "../../harness/probes/resources.ts";
import { keepFailedTest, keepMarkerFor, waitForDefaultServiceAccount } from "../../harness/vitest/drill.ts";
import { HeldWork } from "../../harness/vitest/held-work.ts";

describe("--keep over a run of several legs", () => {
  const runId = `unitkeep${process.pid}`;
  afterAll(() => rmSync(scratchRootFor(runId), { recursive: true, force: true }));

  it("a failed test keeps its own leg's cluster, not a later green leg's", () => {
    useScratchRoot(scratchRootFor(runId));
    const k3s = { keepMarker: keepMarkerFor(runId, "k3s 1.34") };
    const kind = { keepMarker: keepMarkerFor(runId, "kind 1.34") };
    expect(k3s.keepMarker).not.toBe(kind.keepMarker);
    keepFailedTest(k3s, "hd-failed-ns");
    // What each leg's global teardown reads to decide whether its cluster stays up.
    expect(existsSync(k3s.keepMarker)).toBe(true);
    expect(readFileSync(k3s.keepMarker, "utf8")).toBe("hd-failed-ns");
    expect(existsSync(kind.keepMarker)).toBe(false);
    // The run's scratch (the kept cluster's kubeconfig) stays: the reaper's marker is set too.
    expect(existsSync(path.join(scratchRootFor(runId), "keep"))).toBe(true);
  });
});

describe("waitForDefaultServiceAccount", () => {
  const kubeWith = (read: () => Promise<unknown>) =>
    ({ core: { readNamespacedServiceAccount: read } }) as unknown as Pick<Kube, "core">;

  it("a namespace that never gets one is an error naming it and what was seen", async () => {
    const kube = kubeWith(() => Promise.reject(new Error('serviceaccounts "default" not found')));
    const error = await waitForDefaultServiceAccount(kube, "hd-x", 0).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^namespace hd-x has no default ServiceAccount: probe failed: /);
    expect((error as Error).message).toMatch(/serviceaccounts "default" not found \(1 attempt\(s\) in \d+\.\d s\)$/);
  });

  it("returns once it can be read", async () => {
    let reads = 0;
    const kube = kubeWith(async () => {
      if (++reads < 2) throw new Error("not yet");
      return { metadata: { name: "default" } };
    });
    await expect(waitForDefaultServiceAccount(kube, "hd-x", 60_000)).resolves.toBeUndefined();
    expect(reads).toBe(2);
  });
});

describe("HeldWork: what a test's cleanup waits for", () => {
  it("settles only after the held work ended, whether it resolved or rejected", async () => {
    const held = new HeldWork();
    const order: string[] = [];
    let finish!: () => void;
    const body = new Promise<void>((resolve) => (finish = resolve)).then(() => {
      order.push("body ended");
      throw new Error("the body's own failure is its caller's");
    });
    const returned = held.hold(body);
    expect(returned).toBe(body);
    returned.catch(() => undefined);
    const settled = held.settle(60_000).then((outcome) => order.push(`cleanup (${outcome})`));
    await Promise.resolve();
    order.push("body still running");
    finish();
    await settled;
    expect(order).toEqual(["body still running", "body ended", "cleanup (settled)"]);
  });

  it("gives up after its bound when the work never ends", async () => {
    const held = new HeldWork();
    void held.hold(new Promise(() => undefined));
    expect(await held.settle(0)).toBe("late");
    expect(await new HeldWork().settle(0)).toBe("settled");
  });
});
