/**
 * harness/cluster/kind-docker.sh, the docker kind gets where --privileged cannot start: every
 * call reaches the real docker unchanged except `run --privileged` (emulated) and
 * `exec --privileged` (a plain exec). A recording script stands in for the real docker.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { emulatedPrivilegeArgs } from "../../harness/provision/privileges.ts";
import { run } from "../../harness/exec.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";

const SHIM = path.join(PACKAGE_ROOT, "harness", "cluster", "kind-docker.sh");

describe("kind's docker where --privileged cannot start", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hd-kind-docker-"));
  const recorded = path.join(dir, "argv");
  const real = path.join(dir, "docker");
  writeFileSync(real, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > ${recorded}\nexit 7\n`);
  chmodSync(real, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const emulation = emulatedPrivilegeArgs(["SYS_RESOURCE"]);
  const docker = async (...args: string[]) => {
    const r = await run(["bash", SHIM, ...args], {
      env: { HELMDRILL_REAL_DOCKER: real, HELMDRILL_PRIVILEGE_ARGS: emulation.join("\n") },
    });
    return { exitCode: r.exitCode, argv: readFileSync(recorded, "utf8").split("\n").slice(0, -1) };
  };

  it("turns `run --privileged` into the emulation, keeping every other argument in place (one with spaces too)", async () => {
    const r = await docker(
      "run",
      "--name",
      "n",
      "--privileged",
      "--security-opt",
      "seccomp=unconfined",
      "-e",
      "A=b c",
      "img",
    );
    expect(r.argv).toEqual([
      "run",
      "--name",
      "n",
      ...emulation,
      "--security-opt",
      "seccomp=unconfined",
      "-e",
      "A=b c",
      "img",
    ]);
    expect(r.argv).toContain("--device-cgroup-rule=a *:* rwm");
    expect(r.argv).toContain("--cap-drop=SYS_RESOURCE");
    expect(r.argv).not.toContain("--privileged");
  });

  it("drops --privileged from `exec` only", async () => {
    expect((await docker("exec", "--privileged", "-i", "node", "cat", "/kind/version")).argv).toEqual([
      "exec",
      "-i",
      "node",
      "cat",
      "/kind/version",
    ]);
  });

  it("passes anything else through unchanged, with the real docker's exit code", async () => {
    const r = await docker("ps", "-a", "--filter", "label=io.x-k8s.kind.cluster=c", "--privileged");
    expect(r.argv).toEqual(["ps", "-a", "--filter", "label=io.x-k8s.kind.cluster=c", "--privileged"]);
    expect(r.exitCode).toBe(7);
  });
});
