import { replay } from "../harness/vitest/replay.ts";
import scenario from "./nodeport-conflict.ts";

replay(scenario);
