import { replay } from "../harness/vitest/replay.ts";
import scenario from "./helm-test-smoke.ts";

replay(scenario);
