/**
 * The expectations a step can state, one module per concern under checks/: the Check base and
 * the polled-check base every probing check shares (base), how the command ended (outcome),
 * the release (release), resource sets (resources), one object and field ownership (object),
 * pods, jobs and logs (pods). This index keeps `./checks.ts` as the one import for all of them.
 */
export * from "./checks/base.ts";
export * from "./checks/outcome.ts";
export * from "./checks/release.ts";
export * from "./checks/resources.ts";
export * from "./checks/object.ts";
export * from "./checks/pods.ts";
