import { replay } from "../harness/vitest/replay.ts";
import scenario from "./atomic-flag-spellings.ts";

replay(scenario);
