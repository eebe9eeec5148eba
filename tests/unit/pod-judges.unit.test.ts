import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { judgeJob, podJudges, podReady } from "../../harness/dsl/checks.ts";

/** A pod object as the API returns it: containers [name, image, ready] in order. */
function pod(name: string, phase: string, containers: [string, string, boolean][], waiting?: string): V1Pod {
  return {
    metadata: { name },
    spec: { containers: containers.map(([n, image]) => ({ name: n, image })) },
    status: {
      phase,
      containerStatuses: containers.map(([n, image, ready]) => ({
        name: n,
        image,
        imageID: "",
        ready,
        restartCount: 0,
        state: waiting && !ready ? { waiting: { reason: waiting } } : { running: {} },
      })),
    },
  };
}

describe("podsRunImages judges from pod objects", () => {
  const runs = podJudges.runImages(["postgres:11.8"]);

  it("rejects a Running pod with only some containers ready (Running 1/2 ready)", () => {
    expect(
      runs([
        pod("db-0", "Running", [
          ["db", "postgres:11.8", true],
          ["exporter", "postgres:11.8", false],
        ]),
      ]),
    ).toMatch(/not ready: db-0/);
  });

  it("accepts a Running pod with all ten containers ready (Running 10/10 ready)", () => {
    const ten = Array.from({ length: 10 }, (_, i) => [`c${i}`, "postgres:11.8", true] as [string, string, boolean]);
    expect(runs([pod("db-0", "Running", ten)])).toBeUndefined();
  });

  it("looks at every container, not only the first", () => {
    const p = pod("db-0", "Running", [
      ["db", "postgres:11.8", true],
      ["sidecar", "busybox:1.36", true],
    ]);
    expect(runs([p])).toBe("images are [busybox:1.36, postgres:11.8]");
    expect(podJudges.runImages(["postgres:11.8", "busybox:1.36"])([p])).toBeUndefined();
  });

  it("holds for every replica, and needs at least one pod", () => {
    const ok = pod("db-a", "Running", [["db", "postgres:11.8", true]]);
    expect(runs([ok, pod("db-b", "Running", [["db", "postgres:11.8", true]])])).toBeUndefined();
    expect(runs([ok, pod("db-c", "Pending", [["db", "postgres:11.8", false]], "ContainerCreating")])).toMatch(
      /not ready: db-c ContainerCreating/,
    );
    expect(runs([])).toBe("no pods");
  });

  it("a container without a status is not ready", () => {
    const p = pod("db-0", "Running", [["db", "postgres:11.8", true]]);
    p.spec!.containers.push({ name: "late", image: "postgres:11.8" });
    expect(podReady(p)).toBe(false);
  });
});

describe("podsInState and podsInclude", () => {
  it("matches a reason of any container, or the phase", () => {
    const p = pod(
      "web-0",
      "Pending",
      [
        ["init-ok", "nginx", true],
        ["web", "nginx:bad", false],
      ],
      "ImagePullBackOff",
    );
    expect(podJudges.inState([/ErrImagePull|ImagePullBackOff/])([p])).toBeUndefined();
    expect(podJudges.inState(["Pending"])([p])).toBeUndefined();
    expect(podJudges.inState(["CrashLoopBackOff"])([p])).toBe("web-0 is Pending/ImagePullBackOff");
  });

  it("finds an image in any container", () => {
    const p = pod("web-0", "Running", [
      ["web", "nginx:1", true],
      ["proxy", "envoy:2", false],
    ]);
    expect(podJudges.include("envoy:2")([p])).toBeUndefined();
    expect(podJudges.include("envoy:3")([p])).toBe("no pod with envoy:3");
  });
});

describe("job checks judge from conditions", () => {
  const job = (type: string, status: string, reason?: string): V1Job => ({
    metadata: { name: "check" },
    status: { conditions: [{ type, status, reason }] },
  });

  it("needs the condition True and the exact reason", () => {
    expect(judgeJob(job("Failed", "True", "BackoffLimitExceeded"), "Failed", "BackoffLimitExceeded")).toBeUndefined();
    expect(judgeJob(job("Failed", "True", "DeadlineExceeded"), "Failed", "Exceeded")).toBe(
      "job is Failed (DeadlineExceeded)",
    );
    expect(judgeJob(job("Failed", "False"), "Failed")).toMatch(/^job is running/);
    expect(judgeJob(undefined, "Complete")).toBe("job not found");
  });
});
