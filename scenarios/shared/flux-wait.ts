import { fails, type Check } from "../../harness/index.ts";

/**
 * How each flux target words a wait for write-up 000's bad Deployment (an image that can never
 * be pulled, `timeout: 20s`) that ran out of time. helm-controller 1.4 (Helm 3 library): Helm
 * 3's `context deadline exceeded`. helm-controller 1.6 (Helm 4 library) waits with kstatus (its
 * `poller` strategy: fluxcd/pkg/ssa's WaitForSet, polling every 5 s): observed, the poll's client
 * rate limiter gives up first, since its next poll would fall after the deadline; a poll that still
 * fits ends in `timeout waiting for: [Deployment/… status: 'InProgress']` — a matter of milliseconds.
 */
export const FLUX_TIMED_OUT = {
  "1.4": /context deadline exceeded/,
  "1.6":
    /client rate limiter Wait returned an error: rate: Wait\(n=1\) would exceed context deadline|timeout waiting for: \[Deployment\/\S+\/my-release-local-chart status: 'InProgress'\]/,
} as const;

export const FLUX_KSTATUS_DRIFT =
  "helm-controller 1.6 (Helm 4 library) waits with kstatus, polling every 5 s: its client rate limiter gives up before the deadline (`rate: Wait(n=1) would exceed context deadline`), where Helm 3's wait said `context deadline exceeded`";

/**
 * The step fails with the controller's `condition` text and each flux target's words for the
 * timed-out wait: one check per flux target, the 1.6 one also marked as the kstatus drift.
 */
export function fluxTimedOut(condition: RegExp, drift: string): Check[] {
  return [
    fails(condition, FLUX_TIMED_OUT["1.4"]).when({ flux: "1.4" }).drift(drift),
    fails(condition, FLUX_TIMED_OUT["1.6"]).when({ flux: ">=1.6" }).drift(`${drift}; ${FLUX_KSTATUS_DRIFT}`),
  ];
}
