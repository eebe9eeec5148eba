/**
 * Defect 10 (#21): starting Flux's controllers. A binary that cannot be spawned was an
 * unhandled 'error' event (the worker died); a controller killed by a signal was missed and the
 * start waited the full 60 s; ports were checked free and then used, so one taken meanwhile
 * failed the start. No cluster here: the controllers are small real programs that behave as
 * Flux's do at start — bind the health address (Go's "bind: address already in use" and exit 1
 * when taken), answer /readyz, and for source-controller serve its storage directory on the
 * storage address — so the supervision (spawn, exit, signals, ports, retries) is the real one.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scratchRootFor, useScratchRoot } from "../../harness/util/scratch.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import { freePort, startControllers, startFlux } from "../../harness/tools/flux.ts";

const scratch = mkdtempSync(path.join(os.tmpdir(), "hd-flux-controllers-"));
const runId = `unitflux${Date.now().toString(36)}`;
const starts = path.join(scratch, "starts");

/** A controller as Flux's behave at start (see above); every start appends its argv to `starts`. */
const CONTROLLER = `#!/usr/bin/env node
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
fs.appendFileSync(${JSON.stringify(starts)}, process.argv.slice(2).join(" ") + "\\n");
const flag = (name) => process.argv.find((a) => a.startsWith("--" + name + "="))?.split("=")[1];
const listen = (addr, handler, onTaken) => {
  const [host, port] = addr.split(":");
  const server = http.createServer(handler);
  const why = (e) => (e.code === "EADDRINUSE" ? "address already in use" : e.message);
  server.on("error", (e) => onTaken("listen tcp " + addr + ": bind: " + why(e)));
  server.listen(Number(port), host);
};
const fatal = (what) => (message) => { console.error("ERROR " + what + ": " + message); process.exit(1); };
const health = (req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end("ok");
listen(flag("health-addr"), health, fatal("unable to start manager"));
const storage = flag("storage-addr");
if (storage) {
  listen(storage, (req, res) => {
    const file = path.join(flag("storage-path"), path.basename(req.url));
    if (!fs.existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200).end(fs.readFileSync(file));
  }, fatal("artifact server error"));
}
setInterval(() => {}, 1000);
`;

function program(name: string, text: string): string {
  const file = path.join(scratch, name);
  writeFileSync(file, text);
  chmodSync(file, 0o755);
  return file;
}

const options = (binaries: { sourceController: string; helmController: string }, extra = {}) => ({
  binaries,
  kubeconfigPath: path.join(scratch, "no-kubeconfig"),
  namespace: "unit",
  runId,
  ...extra,
});

/** startFlux with no CRDs to apply (there is no cluster): exactly the controllers' start. */
const start = (binaries: { sourceController: string; helmController: string }) =>
  startFlux({
    flux: { target: "unit", version: "unit", binaries, crdDirs: [] },
    kubectl: "kubectl",
    ...options(binaries),
  });

const startsSoFar = () => (existsSync(starts) ? readFileSync(starts, "utf8").trim().split("\n").filter(Boolean) : []);

describe("starting Flux's controllers", () => {
  beforeAll(() => useScratchRoot(scratchRootFor(runId)));
  afterAll(() => {
    rmSync(scratchRootFor(runId), { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it("both start and are stopped: source-controller serves its storage on the storage port", async () => {
    const controller = program("controller", CONTROLLER);
    const flux = await start({ sourceController: controller, helmController: controller });
    await flux.stop();
    expect(startsSoFar()).toHaveLength(2);
    expect(startsSoFar()[0]).toMatch(/--storage-addr=127\.0\.0\.1:\d+ --storage-adv-addr=127\.0\.0\.1:\d+$/);
    // The pids went to the run's sweep, and both processes are gone.
    const pids = readFileSync(path.join(scratchRootFor(runId), "pids"), "utf8")
      .trim()
      .split("\n")
      .map(Number);
    for (const pid of pids.slice(-2)) expect(() => process.kill(pid, 0)).toThrow();
    rmSync(starts, { force: true });
  });

  it("a binary that cannot be spawned is a clear error, not an uncaught 'error' event", async () => {
    const missing = path.join(scratch, "no-such-source-controller");
    const error = await start({ sourceController: missing, helmController: missing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HelmdrillError);
    expect((error as Error).message).toMatch(
      /flux source-controller could not start \(could not be started: spawn .*no-such-source-controller ENOENT\)/,
    );
  });

  it("a controller killed by a signal ends the wait at once, naming the signal (it used to wait 60 s)", async () => {
    const killed = program("killed", "#!/bin/sh\necho 'starting manager'\nkill -KILL $$\n");
    const error = await start({ sourceController: killed, helmController: killed }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HelmdrillError);
    expect((error as Error).message).toMatch(/flux source-controller could not start \(killed by SIGKILL\)/);
  });

  it("a controller that exits says its exit code and its last error line", async () => {
    const exits = program(
      "exits",
      "#!/bin/sh\necho 'ERROR setup unable to create controller: no matches for kind' >&2\nexit 1\n",
    );
    const controller = program("controller", CONTROLLER);
    const error = await start({ sourceController: controller, helmController: exits }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /flux helm-controller could not start \(exited with 1\): ERROR setup unable to create controller: no matches/,
    );
    rmSync(starts, { force: true });
  });

  it("a controller not ready in time says so, not the exit 0 of helmdrill's own SIGTERM", async () => {
    // Like controller-runtime: never ready here, and a graceful exit 0 on SIGTERM.
    const slow = program(
      "slow",
      "#!/usr/bin/env node\nprocess.on('SIGTERM', () => process.exit(0));\nsetInterval(() => {}, 1000);\n",
    );
    const error = await startControllers(
      options({ sourceController: slow, helmController: slow }, { readyTimeoutMs: 1500 }),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /flux source-controller could not start \(not ready after 1\.5 s \(no answer on \/readyz\)\)/,
    );
    rmSync(starts, { force: true });
  });

  it("a port taken between choosing and binding: the controller starts again on fresh ports", async () => {
    // Another process holds the port handed out third (source-controller's storage port).
    const other = http.createServer((_, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", () => resolve()));
    const taken = (other.address() as AddressInfo).port;
    let picks = 0;
    const pickPort = async () => (++picks === 3 ? taken : freePort());
    const controller = program("controller", CONTROLLER);
    try {
      const flux = await startControllers(
        options({ sourceController: controller, helmController: controller }, { pickPort }),
      );
      await flux.stop();
    } finally {
      other.close();
    }
    const started = startsSoFar();
    // source-controller twice (the first on the taken port), then helm-controller once.
    expect(started).toHaveLength(3);
    expect(started[0]).toContain(`--storage-addr=127.0.0.1:${taken}`);
    expect(started[1]).not.toContain(`:${taken}`);
    expect(started[2]).not.toContain("--storage-addr");
    // metrics, health and storage twice for source-controller, metrics and health for helm-controller.
    expect(picks).toBe(8);
  });

  it("replace: both stop, the new ones start on the same storage port, helm-controller with its feature gates", async () => {
    const controller = program("controller", CONTROLLER);
    const next = program("next-controller", CONTROLLER);
    rmSync(starts, { force: true });
    const flux = await startControllers(options({ sourceController: controller, helmController: controller }));
    try {
      const storagePort = /--storage-addr=(127\.0\.0\.1:\d+)/.exec(startsSoFar()[0]!)![1];
      const pids = () =>
        readFileSync(path.join(scratchRootFor(runId), "pids"), "utf8")
          .trim()
          .split("\n")
          .map(Number);
      const before = pids().slice(-2);
      await flux.replace({
        binaries: { sourceController: next, helmController: next },
        featureGates: { UseHelm3Defaults: true },
      });
      // The old processes are gone; the new source-controller took its predecessor's storage port.
      for (const pid of before) expect(() => process.kill(pid, 0)).toThrow();
      const [, , source, helm] = startsSoFar();
      expect(source).toContain(`--storage-addr=${storagePort} --storage-adv-addr=${storagePort}`);
      expect(source).not.toContain("--feature-gates");
      expect(helm).toContain("--feature-gates=UseHelm3Defaults=true");
      // Replaced again without gates: none passed.
      await flux.replace({ binaries: { sourceController: controller, helmController: controller } });
      expect(startsSoFar()[5]).not.toContain("--feature-gates");
    } finally {
      await flux.stop();
      rmSync(starts, { force: true });
    }
  });
});
