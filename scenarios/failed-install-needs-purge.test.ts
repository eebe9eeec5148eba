import { replay } from "../harness/vitest/replay.ts";
import scenario from "./failed-install-needs-purge.ts";

replay(scenario);
