/** What every inventory drill shares: the release, the two chart versions and what each installs. */
import { fixture, helm, history, object, resources, step, succeeds } from "helmdrill";

export const RELEASE = "inventory";
export const V1 = fixture("inventory/1.0.0");
export const V2 = fixture("inventory/2.0.0");
export const MIGRATION_JOB = `${RELEASE}-migrate`;
const BACKUPS = "backups.platform.example.com";

/** 1.0.0: the database StatefulSet, its headless Service, a PDB and the nightly Backup. */
export const V1_OBJECTS = {
  statefulset: [`${RELEASE}-db`],
  service: [`${RELEASE}-db`],
  ingress: [],
  poddisruptionbudget: [`${RELEASE}-db`],
  [BACKUPS]: [`${RELEASE}-nightly`],
};

/** 2.0.0 adds the API Service, its Ingress and an hourly Backup. */
export const V2_OBJECTS = {
  statefulset: [`${RELEASE}-db`],
  service: [`${RELEASE}-api`, `${RELEASE}-db`],
  ingress: [RELEASE],
  poddisruptionbudget: [`${RELEASE}-db`],
  [BACKUPS]: [`${RELEASE}-hourly`, `${RELEASE}-nightly`],
};

/** The StatefulSet runs `version` with `replicas` ready pods. */
export const databaseAt = (version: string, replicas: number) =>
  object(`statefulset/${RELEASE}-db`).matches({
    metadata: { labels: { "app.kubernetes.io/version": version } },
    spec: { replicas },
    status: { readyReplicas: replicas, updatedReplicas: replicas },
  });

export function installV1() {
  return step("Install inventory 1.0.0 and wait until the database is ready")
    .does(helm("install", RELEASE, V1, "--wait", "--timeout", "3m"))
    .documents({ outcome: "succeeds", release: "inventory r1 deployed" })
    .expect(succeeds(), history("deployed"), resources(V1_OBJECTS), databaseAt("1.0.0", 1));
}
