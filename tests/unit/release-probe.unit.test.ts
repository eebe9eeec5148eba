import { gzipSync } from "node:zlib";
import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { CommandResult } from "../../harness/exec.ts";
import {
  historyFromStorage,
  readRelease,
  storageDisagreement,
  type ReleaseRevision,
} from "../../harness/probes/release.ts";
import type { ToolRunners } from "../../harness/tools/runners.ts";

// Pure logic: the Secrets are built here the way Helm's Secrets driver writes them (labels
// owner/name/status/version, data.release = base64 of gzipped JSON); helm is a stand-in that
// prints rows and counts its calls. The real probe runs against real clusters in every catalogue run.

interface Rev {
  revision: number;
  status: string;
  description: string;
  chart?: [string, string];
  rv?: string;
}

function storageSecret(r: Rev): V1Secret {
  const [name, version] = r.chart ?? ["inventory", "1.0.0"];
  const record = {
    name: "web",
    version: r.revision,
    info: { status: r.status, description: r.description, last_deployed: "2026-12-08T01:00:00Z" },
    chart: { metadata: { name, version, appVersion: "1.0" } },
  };
  return {
    metadata: {
      name: `sh.helm.release.v1.web.v${r.revision}`,
      uid: `uid-${r.revision}`,
      resourceVersion: r.rv ?? String(100 + r.revision),
      labels: { owner: "helm", name: "web", status: r.status, version: String(r.revision) },
    },
    data: { release: Buffer.from(gzipSync(Buffer.from(JSON.stringify(record))).toString("base64")).toString("base64") },
  };
}

const helmRow = (r: Rev): ReleaseRevision => ({
  revision: r.revision,
  status: r.status,
  description: r.description,
  chart: r.chart ? r.chart.join("-") : "inventory-1.0.0",
  app_version: "1.0",
});

/** A cluster whose storage holds `state.revs`, and a helm that prints `state.helmSays` (default: the same). */
function world(state: { revs: Rev[]; helmSays?: Rev[] }) {
  const calls: string[][] = [];
  const core = {
    listNamespacedSecret: async () => ({ items: state.revs.map(storageSecret) }),
  } as unknown as CoreV1Api;
  const result = (stdout: string, exitCode = 0, stderr = ""): CommandResult =>
    ({ exitCode, stdout, stderr }) as unknown as CommandResult;
  const helm = async (args: string[]) => {
    calls.push(args);
    const rows = state.helmSays ?? state.revs;
    return rows.length ? result(JSON.stringify(rows.map(helmRow))) : result("", 1, "Error: release: not found");
  };
  const runners = { namespace: "ns", helm } as unknown as ToolRunners;
  return { core, runners, calls };
}

describe("the release probe", () => {
  const installed: Rev = { revision: 1, status: "deployed", description: "Install complete" };

  it("reads helm history's rows from the storage Secrets' records, oldest first", () => {
    const failed: Rev = { revision: 2, status: "failed", description: 'Upgrade "web" failed: timed out' };
    const { history, storage } = historyFromStorage([storageSecret(failed), storageSecret(installed)]);
    expect(history.map((h) => [h.revision, h.status, h.description, h.chart])).toEqual([
      [1, "deployed", "Install complete", "inventory-1.0.0"],
      [2, "failed", 'Upgrade "web" failed: timed out', "inventory-1.0.0"],
    ]);
    expect(storage.map((s) => `${s.revision}:${s.status}`)).toEqual(["1:deployed", "2:failed"]);
  });

  it("names where helm history and the Secrets disagree: labels, then status, description, chart", () => {
    const stored = historyFromStorage([storageSecret(installed)]);
    expect(storageDisagreement([helmRow(installed)], stored)).toBeUndefined();
    expect(storageDisagreement([], stored)).toBe("helm history says [] but storage Secrets say [1:deployed]");
    expect(storageDisagreement([helmRow({ ...installed, description: "Upgrade complete" })], stored)).toBe(
      'r1: helm history says description "Upgrade complete" but its storage Secret records "Install complete"',
    );
    expect(storageDisagreement([helmRow({ ...installed, chart: ["inventory", "2.0.0"] })], stored)).toMatch(
      /r1: helm history says chart "inventory-2.0.0"/,
    );
  });

  it("starts helm history only when the Secrets changed since helm last agreed with them", async () => {
    const state = { revs: [installed] };
    const { core, runners, calls } = world(state);
    const first = await readRelease(runners, core, "web");
    expect(first.current?.status).toBe("deployed");
    expect(first.storageMismatch).toBeUndefined();
    const again = await readRelease(runners, core, "web");
    expect(calls).toHaveLength(1);
    expect(again.history).toEqual(first.history);

    // An upgrade writes revision 2 and relabels revision 1: new fingerprint, helm asked again.
    state.revs = [
      { ...installed, status: "superseded", rv: "200" },
      { revision: 2, status: "deployed", description: "Upgrade complete" },
    ];
    const upgraded = await readRelease(runners, core, "web");
    expect(calls).toHaveLength(2);
    expect(upgraded.history.map((h) => h.status)).toEqual(["superseded", "deployed"]);
  });

  it("a disagreement is reported and never remembered: the next read asks helm again", async () => {
    const state = { revs: [installed], helmSays: [{ ...installed, status: "pending-install" }] };
    const { core, runners, calls } = world(state);
    const read = await readRelease(runners, core, "web");
    expect(read.storageMismatch).toBe("helm history says [1:pending-install] but storage Secrets say [1:deployed]");
    await readRelease(runners, core, "web");
    expect(calls).toHaveLength(2);
  });

  it("no release: helm's 'not found' and no Secrets agree, and are remembered like any other state", async () => {
    const { core, runners, calls } = world({ revs: [] });
    const read = await readRelease(runners, core, "web");
    expect(read.exists).toBe(false);
    expect(read.storageMismatch).toBeUndefined();
    await readRelease(runners, core, "web");
    expect(calls).toHaveLength(1);
  });
});
