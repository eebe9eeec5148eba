#!/usr/bin/env node
// `npx helmdrill …`. An installed package runs its compiled JavaScript (dist/); a checkout of
// the repository, which has the TypeScript sources, runs them through tsx's loader.
import { existsSync } from "node:fs";

// `helmdrill list | head`: a reader that stops early is not an error.
process.stdout.on("error", (error) => process.exit(error.code === "EPIPE" ? 0 : 1));

const source = new URL("../harness/cli/main.ts", import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import("../dist/harness/cli/main.js"));
}
await main();
// Fail-safe: nothing a subcommand started may keep the process alive after it finished.
setTimeout(() => process.exit(), 500).unref();
