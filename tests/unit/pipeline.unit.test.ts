/**
 * Defect 12 (#21): runPipeline reported a producer killed by SIGPIPE as exit 124 — the timeout
 * code — instead of the consumer's status, and any producer killed by a signal the same way.
 * Real programs, real pipes.
 */
import { describe, expect, it } from "vitest";
import { runPipeline, runPipelineChecked } from "../../harness/exec.ts";

describe("runPipeline", () => {
  it("a producer killed by SIGPIPE is not a failure: the consumer's status is the pipeline's", async () => {
    const r = await runPipeline(["sh", "-c", "kill -PIPE $$"], ["cat"]);
    expect(r).toMatchObject({ exitCode: 0, timedOut: false });
    // A consumer that stops reading early (head) ends its producer with SIGPIPE: the pipeline succeeded.
    const head = await runPipeline(["cat", "/dev/zero"], ["head", "-c", "3"]);
    expect(head).toMatchObject({ exitCode: 0, timedOut: false, stdout: "\0\0\0" });
  });

  it("a producer killed by SIGPIPE while the consumer fails reports the consumer's failure", async () => {
    const r = await runPipeline(
      ["sh", "-c", "kill -PIPE $$"],
      ["sh", "-c", "echo 'docker import: bad reference' >&2; exit 3"],
    );
    expect(r).toMatchObject({ exitCode: 3, timedOut: false });
    expect(r.stderr).toContain("docker import: bad reference");
    await expect(
      runPipelineChecked(["sh", "-c", "kill -PIPE $$"], ["sh", "-c", "exit 3"], { what: "docker import x" }),
    ).rejects.toThrow(/docker import x failed \(exit 3\)/);
  });

  it("a producer killed by another signal is reported as that signal (128 + n), not as a timeout", async () => {
    const r = await runPipeline(["sh", "-c", "kill -TERM $$"], ["cat"]);
    expect(r).toMatchObject({ exitCode: 143, signal: "SIGTERM", timedOut: false });
  });

  it("the rightmost failure wins (pipefail); a consumer that exits early does not crash this process", async () => {
    // The producer keeps writing into a consumer that has gone: an EPIPE here was an unhandled error event.
    const r = await runPipeline(["sh", "-c", "while :; do echo y; done"], ["sh", "-c", "exit 4"]);
    expect(r).toMatchObject({ exitCode: 4, timedOut: false });
    const producerOnly = await runPipeline(["sh", "-c", "echo half; exit 2"], ["cat"]);
    expect(producerOnly).toMatchObject({ exitCode: 2, stdout: "half\n" });
  });

  it("a pipeline stopped by its timeout says so with 124", async () => {
    expect(await runPipeline(["sleep", "5"], ["cat"], { timeoutMs: 200 })).toMatchObject({
      exitCode: 124,
      timedOut: true,
    });
  });

  it("streams more than any buffer holds: a root filesystem's 200 MB reach the consumer whole", async () => {
    // A 64 MiB maxBuffer on the producer's stdout killed tar mid-stream into `docker import -` (unexpected EOF).
    const r = await runPipeline(["head", "-c", "200000000", "/dev/zero"], ["wc", "-c"]);
    expect({ exitCode: r.exitCode, bytes: r.stdout.trim() }).toEqual({ exitCode: 0, bytes: "200000000" });
  });
});
