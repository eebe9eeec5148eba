import type { ClusterKind } from "../config.ts";

/**
 * A running cluster helmdrill can point helm at. Disposing it removes what helmdrill created
 * (a container, a kind cluster) and never touches a cluster it did not create.
 */
export interface StartedCluster extends AsyncDisposable {
  readonly kind: ClusterKind;
  /** Container id, kind cluster name or kubeconfig context. */
  readonly name: string;
  /** Kubeconfig YAML with a single current context pointing at this cluster. */
  readonly kubeconfig: string;
  /** The same kubeconfig written to a private file, for CLI tools. */
  readonly kubeconfigPath: string;
  /** False for `existing`: helmdrill only ever deletes the namespaces it created there. */
  readonly createdByHelmdrill: boolean;
  /** The node image, where helmdrill started the node itself (reports name it). */
  readonly image?: string;
  /** What its node had to be told about this host, where anything: "cgroup v1 (kubelet failCgroupV1: false)". Reports name it. */
  readonly host?: string;
  /** Human-readable: what it is and how to reach it (printed with --keep). */
  describe(): string;
  stop(): Promise<void>;
}

export interface ClusterProvider {
  readonly kind: ClusterKind;
  start(progress?: (message: string) => void): Promise<StartedCluster>;
}

export { RUN_LABEL } from "../util/run-label.ts";
