import { copyFileSync, existsSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import sirv from "sirv";
import { parse as parseYaml } from "yaml";
import { HelmdrillError } from "../errors.ts";
import { runChecked } from "../exec.ts";
import { scratchDir } from "../util/scratch.ts";

/**
 * A Helm chart repository served by helmdrill itself: packaged charts + `helm repo index` +
 * a static HTTP server, so "the previous version from a repository" (upgrade-check) and a
 * Flux HelmRepository work without a network. Start it, use `url`, dispose it.
 */
export interface ChartEntry {
  name: string;
  version: string;
  appVersion?: string;
  /** File name of the packaged chart inside `dir`. */
  file: string;
}

export interface ChartRepository extends AsyncDisposable {
  /** e.g. http://127.0.0.1:41234 — what `helm repo add` or a HelmRepository's spec.url takes. */
  readonly url: string;
  /** Where index.yaml and the .tgz files live. */
  readonly dir: string;
  /** Every chart version in index.yaml, as Helm indexed it. */
  readonly entries: ChartEntry[];
  /** Packages another chart (directory or .tgz) into the repository and re-indexes it. */
  add(chart: string): Promise<ChartEntry[]>;
  close(): Promise<void>;
}

export interface ChartRepositoryOptions {
  /** The helm binary that packages and indexes (any pinned version). */
  helm: string;
  /** Chart directories or packaged .tgz files. */
  charts: string[];
  /** Address to listen on (default 127.0.0.1). Use 0.0.0.0 when pods must reach it. */
  listenHost?: string;
  /** Host name written into index.yaml URLs (default: listenHost, or 127.0.0.1 for 0.0.0.0). */
  advertiseHost?: string;
  port?: number;
}

interface IndexFile {
  entries?: Record<string, { name: string; version: string; appVersion?: string; urls?: string[] }[]>;
}

export function readIndex(dir: string): ChartEntry[] {
  const index = parseYaml(readFileSync(path.join(dir, "index.yaml"), "utf8")) as IndexFile;
  return Object.values(index.entries ?? {})
    .flat()
    .map((e) => ({
      name: e.name,
      version: e.version,
      appVersion: e.appVersion,
      file: path.basename(e.urls?.[0] ?? `${e.name}-${e.version}.tgz`),
    }));
}

export async function serveChartRepository(options: ChartRepositoryOptions): Promise<ChartRepository> {
  const dir = scratchDir("repo");
  const listenHost = options.listenHost ?? "127.0.0.1";
  // sirv serves the directory as it is on disk now (dev: every request looks at the files, which
  // add() changes): a malformed path is a 404, never an exception, and nothing outside `dir` is served.
  const serve = sirv(dir, {
    dev: true,
    dotfiles: false,
    extensions: [],
    setHeaders: (res, pathname) =>
      res.setHeader("content-type", pathname.endsWith(".yaml") ? "application/x-yaml" : "application/gzip"),
  });
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405).end();
    serve(req, res, () => void res.writeHead(404).end("not found\n"));
  });
  const close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // An open request (a Helm or Flux client mid-download, a stalled client) would keep close() waiting.
    server.closeAllConnections();
    await closed;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, listenHost, () => resolve());
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new HelmdrillError(
      `the chart repository could not listen on ${listenHost}:${options.port ?? 0}`,
      (error as Error).message,
    );
  }
  const port = (server.address() as AddressInfo).port;
  const advertise = options.advertiseHost ?? (listenHost === "0.0.0.0" ? "127.0.0.1" : listenHost);
  const url = `http://${advertise}:${port}`;
  let entries: ChartEntry[] = [];

  const add = async (chart: string): Promise<ChartEntry[]> => {
    if (!existsSync(chart)) throw new HelmdrillError(`chart ${chart} does not exist`);
    if (statSync(chart).isDirectory()) {
      await runChecked([options.helm, "package", chart, "--destination", dir], {
        what: `helm package ${chart}`,
        timeoutMs: 120_000,
      });
    } else {
      copyFileSync(chart, path.join(dir, path.basename(chart)));
    }
    await runChecked([options.helm, "repo", "index", dir, "--url", url], {
      what: "helm repo index",
      timeoutMs: 120_000,
    });
    entries = readIndex(dir);
    return entries;
  };

  try {
    for (const chart of options.charts) await add(chart);
    if (options.charts.length === 0)
      await runChecked([options.helm, "repo", "index", dir, "--url", url], {
        what: "helm repo index",
        timeoutMs: 120_000,
      });
    entries = readIndex(dir);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    url,
    dir,
    get entries() {
      return entries;
    },
    add,
    close,
    [Symbol.asyncDispose]: close,
  };
}
