#!/usr/bin/env node
// `npx helmdrill …`: the CLI is TypeScript, run through tsx's loader.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../harness/cli/main.ts");
await main();
