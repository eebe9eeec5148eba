import { replay } from "../harness/vitest/replay.ts";
import scenario from "./pre-upgrade-hook-veto.ts";

replay(scenario);
