import { replay } from "../harness/vitest/replay.ts";
import scenario from "./rollback-bad-deploy.ts";

replay(scenario);
