/**
 * A cluster that died under a run — its node container exited, its API server stopped answering.
 * A leaf module: the watch (vitest/cluster-watch.ts), the runner and the reporters share it.
 */
export interface ClusterLoss {
  /** "node container exited 137", "API server unreachable: … (for 60 s)". */
  reason: string;
  /** When the loss was decided (epoch ms). */
  at: number;
  /** The last moment the cluster was seen healthy (epoch ms): what failed before it was not the loss. */
  lastHealthyAt: number;
}

export const CLUSTER_LOST_ERROR = "ClusterLostError";

/** The abort reason of a drill whose cluster died, and the error its test fails with (Allure: broken; JUnit: error). */
export class ClusterLostError extends Error {
  override readonly name = CLUSTER_LOST_ERROR;
  constructor(
    readonly loss: Pick<ClusterLoss, "reason">,
    detail?: string,
  ) {
    super(`cluster lost: ${loss.reason}${detail ? `\n${detail}` : ""}`);
  }
}

/** An error (or a serialized one, as vitest reports it) that says the cluster was lost. */
export function isClusterLostError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === CLUSTER_LOST_ERROR;
}
