/**
 * Defect 11 (#21): the chart repository server decoded the request path with
 * decodeURIComponent inside its handler (a malformed path threw there and killed the process),
 * and called closeAllConnections only after awaiting close (an open request kept close waiting).
 * A real server (sirv), a real Helm to index it, raw sockets as clients.
 */
import { existsSync } from "node:fs";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../harness/config.ts";
import { serveChartRepository, type ChartRepository } from "../../harness/sources/chart-repo.ts";
import { toolPath } from "../../harness/tools/index.ts";
import { pins } from "../../harness/pins.ts";

const HELM = toolPath(loadConfig().cacheDir, "helm", pins().defaults.helm[0]!);

/** One raw HTTP exchange: what the server answered (the status line and headers), or "" when it closed. */
function raw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    let answer = "";
    socket.on("data", (d) => {
      answer += d.toString();
      if (answer.includes("\r\n\r\n")) socket.end();
    });
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
  });
}

describe("the chart repository server", () => {
  let repo: ChartRepository | undefined;
  afterEach(async () => {
    await repo?.close();
    repo = undefined;
  });

  it("answers a malformed or escaping path with 404 and keeps serving", async () => {
    expect(existsSync(HELM), `${HELM} (npm run provision)`).toBe(true);
    repo = await serveChartRepository({ helm: HELM, charts: [] });
    // %E0%A4%A is not UTF-8: decodeURIComponent threw URIError inside the request handler.
    for (const bad of ["/%E0%A4%A", "/%", "/index.yaml%ZZ", "/../../../etc/passwd", "/..%2F..%2Fetc%2Fpasswd"]) {
      const answer = await raw(repo.url, `GET ${bad} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(answer.split("\r\n")[0], bad).toBe("HTTP/1.1 404 Not Found");
    }
    const index = await fetch(`${repo.url}/index.yaml`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("application/x-yaml");
    expect(await index.text()).toMatch(/^apiVersion: v1/m);
    expect((await fetch(`${repo.url}/index.yaml`, { method: "DELETE" })).status).toBe(405);
  });

  it("closes while a client holds a request open", async () => {
    expect(existsSync(HELM), `${HELM} (npm run provision)`).toBe(true);
    const served = await serveChartRepository({ helm: HELM, charts: [] });
    const { hostname, port } = new URL(served.url);
    // Half a request: the connection is active (not idle), so server.close() alone waits for it
    // until Node's headers timeout (60 s) — longer than this test may take.
    const socket = net.connect(Number(port), hostname);
    // The server resets it on close: expected here, not an error of the test.
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("GET /index.yaml HTTP/1.1\r\nHost: x\r\n");
    const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    await served.close();
    await ended;
    expect(existsSync(served.dir)).toBe(false);
  });
});
