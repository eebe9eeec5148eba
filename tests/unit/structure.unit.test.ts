/**
 * The harness's import graph stays a layered one (#21): no file imports itself back through
 * others, and the rooms (harness/<folder>/) form no cycle either — a room that needs something
 * of a room above it takes it from a module at the bottom (harness/util/) instead. The graph is
 * madge's, type-only imports included (they couple modules just the same).
 */
import path from "node:path";
import madge from "madge";
import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../harness/pins.ts";

/** The rooms checked for folder-level cycles; util is the bottom every room may use. */
const ROOMS = ["cluster", "provision", "tools", "probes", "sources", "dsl", "vitest", "report", "cli", "util"];

type Graph = Record<string, string[]>;

/** harness/<room>/… → room; the top-level modules (config.ts, pins.ts, index.ts, …) → undefined. */
const roomOf = (file: string) => (file.includes("/") ? file.split("/")[0] : undefined);

/** Each room's imports of other rooms, with one file-level edge as the example. */
function roomEdges(graph: Graph, rooms: readonly string[]): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const [file, deps] of Object.entries(graph)) {
    const from = roomOf(file);
    if (!from || !rooms.includes(from)) continue;
    for (const dep of deps) {
      const to = roomOf(dep);
      if (!to || to === from || !rooms.includes(to)) continue;
      const out = edges.get(from) ?? edges.set(from, new Map()).get(from)!;
      if (!out.has(to)) out.set(to, `${file} → ${dep}`);
    }
  }
  return edges;
}

/** Every cycle between rooms, one per strongly connected group, as "a → b → a" with its file edges. */
function roomCycles(graph: Graph, rooms: readonly string[]): string[] {
  const edges = roomEdges(graph, rooms);
  const next = (r: string) => [...(edges.get(r)?.keys() ?? [])];
  const cycles: string[] = [];
  const reported = new Set<string>();
  for (const start of rooms) {
    if (reported.has(start)) continue;
    // Shortest way back to `start` (breadth-first), if there is one.
    const back = new Map<string, string>();
    const queue = [start];
    let closing: string | undefined;
    while (queue.length && !closing) {
      const r = queue.shift()!;
      for (const n of next(r)) {
        if (n === start) {
          closing = r;
          break;
        }
        if (!back.has(n)) {
          back.set(n, r);
          queue.push(n);
        }
      }
    }
    if (!closing) continue;
    const loop = [start];
    for (let r = closing; r !== start; r = back.get(r)!) loop.splice(1, 0, r);
    loop.push(start);
    loop.slice(0, -1).forEach((r) => reported.add(r));
    const via = loop.slice(0, -1).map((r, i) => edges.get(r)!.get(loop[i + 1]!)!);
    cycles.push(`${loop.join(" → ")} (${via.join("; ")})`);
  }
  return cycles;
}

describe("the import graph of harness/", () => {
  let graph: Graph;
  let circular: string[][];
  let skipped: string[];

  beforeAll(async () => {
    const result = await madge(path.join(PACKAGE_ROOT, "harness"), { fileExtensions: ["ts"] });
    graph = result.obj();
    circular = result.circular();
    skipped = result.warnings().skipped;
  }, 60_000);

  it("is read whole: every module is found and every relative import resolves", () => {
    // A graph madge could not read would have no cycles either: check it is the real one.
    expect(Object.keys(graph).length).toBeGreaterThan(80);
    expect(graph["cli/main.ts"]).toContain("config.ts");
    expect(graph["dsl/step.ts"]).toContain("dsl/flux-session.ts");
    expect(skipped.filter((s) => s.startsWith("."))).toEqual([]);
  });

  it("has no file-level import cycle", () => {
    expect(circular.map((c) => c.join(" → "))).toEqual([]);
  });

  it("has no cycle between the rooms", () => {
    expect(roomCycles(graph, ROOMS)).toEqual([]);
  });

  it("util/ imports no room: it is the bottom", () => {
    const up = [...(roomEdges(graph, ROOMS).get("util") ?? new Map<string, string>()).values()];
    expect(up).toEqual([]);
  });
});

describe("roomCycles", () => {
  it("finds a cycle between two rooms and one through three, naming a file edge of each step", () => {
    const graph: Graph = {
      "a/x.ts": ["b/y.ts"],
      "b/y.ts": ["a/z.ts"],
      "a/z.ts": [],
      "c/p.ts": ["d/q.ts", "config.ts"],
      "d/q.ts": ["e/r.ts"],
      "e/r.ts": ["c/s.ts"],
      "c/s.ts": [],
      "config.ts": ["c/p.ts"],
    };
    expect(roomCycles(graph, ["a", "b", "c", "d", "e"])).toEqual([
      "a → b → a (a/x.ts → b/y.ts; b/y.ts → a/z.ts)",
      "c → d → e → c (c/p.ts → d/q.ts; d/q.ts → e/r.ts; e/r.ts → c/s.ts)",
    ]);
  });

  it("finds none in a layered graph, and ignores the top-level modules and other folders", () => {
    const graph: Graph = { "a/x.ts": ["b/y.ts", "index.ts"], "b/y.ts": ["other/z.ts"], "index.ts": ["a/x.ts"] };
    expect(roomCycles(graph, ["a", "b"])).toEqual([]);
  });
});
