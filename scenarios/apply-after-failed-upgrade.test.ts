import { replay } from "../harness/vitest/replay.ts";
import scenario from "./apply-after-failed-upgrade.ts";

replay(scenario);
