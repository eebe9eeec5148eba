/**
 * Shared steps of the Kiamol chapter 12 to-do list (write-up 004): the chart versions, the
 * pod selector the write-up watches, and the install every to-do scenario starts from.
 */
import { fixture, helm, podsRunImages, release, step, type Step, succeeds } from "../../harness/index.ts";

export const RELEASE = "todo-list";
export const DB_PODS = "app=todo-list-db";
export const DB_11_6 = "helmdrill.local/todo-db:11.6";
export const DB_11_8 = "helmdrill.local/todo-db:11.8";
export const chart = (version: "v1" | "v2" | "v3" | "v4") => fixture(`todo-list/${version}`);

/** `helm install --atomic todo-list todo-list/v1`: the database runs 11.6. */
export function installV1(): Step {
  return step("`helm install --atomic todo-list v1`: the to-do app runs with database 11.6")
    .does(helm("install", "--atomic", RELEASE, chart("v1")))
    .documents({ outcome: "succeeds", text: "STATUS: deployed, REVISION: 1", release: "todo-list 1 deployed" })
    .expect(succeeds(), release({ revision: 1, status: "deployed" }), podsRunImages(DB_PODS, DB_11_6));
}

/** `helm upgrade --atomic --timeout 30s todo-list todo-list/v3`: the database is upgraded to 11.8. */
export function upgradeToV3(revision: number): Step {
  return step("`helm upgrade --atomic --timeout 30s todo-list v3`: the database is upgraded to 11.8")
    .does(helm("upgrade", "--atomic", "--timeout", "30s", RELEASE, chart("v3")))
    .documents({ outcome: "succeeds", release: `todo-list ${revision} deployed` })
    .expect(succeeds(), release({ revision, status: "deployed" }), podsRunImages(DB_PODS, DB_11_8));
}
