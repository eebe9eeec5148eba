/**
 * The catalogue, in the order a trainee would walk it. Each scenario file replays one
 * section of a write-up in shared/scenarios-source; each has a one-line `.test.ts` beside it
 * that registers it with vitest.
 */
import type { ScenarioSpec } from "../harness/dsl/scenario.ts";
import failedUpgradeCleanupOnFail from "./failed-upgrade-cleanup-on-fail.ts";
import failedInstallNeedsPurge from "./failed-install-needs-purge.ts";
import atomicInstallPurge from "./atomic-install-purge.ts";
import atomicFlagSpellings from "./atomic-flag-spellings.ts";
import nodeportConflict from "./nodeport-conflict.ts";
import preUpgradeHookVeto from "./pre-upgrade-hook-veto.ts";
import atomicUpgradeRollback from "./atomic-upgrade-rollback.ts";
import helmTestSmoke from "./helm-test-smoke.ts";
import rollbackBadDeploy from "./rollback-bad-deploy.ts";
import applyAfterFailedUpgrade from "./apply-after-failed-upgrade.ts";

export const catalogue: ScenarioSpec[] = [
  failedUpgradeCleanupOnFail,
  applyAfterFailedUpgrade,
  failedInstallNeedsPurge,
  atomicInstallPurge,
  atomicFlagSpellings,
  nodeportConflict,
  preUpgradeHookVeto,
  atomicUpgradeRollback,
  helmTestSmoke,
  rollbackBadDeploy,
];

export function findScenario(id: string): ScenarioSpec | undefined {
  return catalogue.find((s) => s.id === id);
}
