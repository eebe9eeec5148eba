import { replay } from "../harness/vitest/replay.ts";
import scenario from "./failed-upgrade-cleanup-on-fail.ts";

replay(scenario);
