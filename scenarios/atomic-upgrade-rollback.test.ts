import { replay } from "../harness/vitest/replay.ts";
import scenario from "./atomic-upgrade-rollback.ts";

replay(scenario);
