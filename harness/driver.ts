/**
 * How a scenario's release is driven. A types-only module at the bottom: the run's
 * configuration (config.ts) and the targets (dsl/target.ts) both name it without importing
 * each other.
 */
export type Driver = "helm" | "helmfile" | "flux";
