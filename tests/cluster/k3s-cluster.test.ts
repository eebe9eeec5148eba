/** The facts every cluster must show (tests/cluster/cluster-facts.ts), on the run's own cluster — k3s by default. */
import { inject } from "vitest";
import { clusterFacts } from "./cluster-facts.ts";

clusterFacts("the cluster", () => inject("helmdrill"));
