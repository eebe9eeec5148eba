/**
 * What a flux target's actions get from the run: its own Flux controllers and chart repository.
 * A leaf module (no imports), so the action context (step.ts) and the flux driver (flux.ts) can
 * both name it without importing each other.
 */
export interface FluxSession {
  /** The URL of a chart repository serving every chart under `dir` (started once per run). */
  repository(dir: string): Promise<string>;
  /** The controllers' last log lines. */
  logs(lines?: number): string;
  /** The flux target whose controllers run now ("1.4"), what they are, and helm-controller's feature gates. */
  running(): { target: string; version: string; featureGates: Record<string, boolean> };
  /**
   * Stops the running controllers and starts this flux target's in their place, against the same
   * namespace, sources and artifact storage — what upgrading (or restarting) Flux does.
   */
  switchTo(target: string, featureGates?: Record<string, boolean>): Promise<void>;
}
