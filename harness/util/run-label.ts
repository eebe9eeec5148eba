/**
 * Label put on every container helmdrill starts (value: the run id, or "provision"), so the
 * reaper and `helmdrill clean` find stale ones. A leaf module: provisioning and the cluster
 * providers both label containers.
 */
export const RUN_LABEL = "io.helmdrill.run";
