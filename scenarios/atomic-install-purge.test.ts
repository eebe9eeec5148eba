import { replay } from "../harness/vitest/replay.ts";
import scenario from "./atomic-install-purge.ts";

replay(scenario);
