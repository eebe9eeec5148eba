import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteNamespaceAndWait } from "../../harness/probes/namespace.ts";
import { kubeClients, type Kube } from "../../harness/probes/resources.ts";

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

// Defect 3: deleteNamespaceAndWait polled a read with no time limit (one hung request hung the
// test's teardown for good), and @kubernetes/client-node sets no request timeout of its own.
describe("deleteNamespaceAndWait", () => {
  it("fails at its deadline when the namespace reads never answer, naming what it waited for", async () => {
    const kube = {
      core: { deleteNamespace: async () => ({}), readNamespace: never, listNamespacedPod: never },
    } as unknown as Kube;
    await expect(deleteNamespaceAndWait(kube, "hd-stuck", 200)).rejects.toThrow(
      "namespace hd-stuck not deleted after 0.2 s (probe failed: reading namespace hd-stuck: no answer within 0.2 s): " +
        "the namespace controller reports no condition — pods could not be listed",
    );
  });

  it("fails when the deletion itself never answers (made once, never retried)", async () => {
    let deletes = 0;
    const kube = { core: { deleteNamespace: () => (deletes++, never()) } } as unknown as Kube;
    await expect(deleteNamespaceAndWait(kube, "hd-stuck", 200)).rejects.toThrow(
      "deleting namespace hd-stuck: no answer within 0.2 s",
    );
    expect(deletes).toBe(1);
  });
});

describe("kubeClients: every request to the API server ends", () => {
  // An API server that accepts connections and never answers.
  let server: Server;
  let kc: KubeConfig;
  beforeAll(async () => {
    server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: "hung", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
      ],
      users: [{ name: "nobody" }],
      contexts: [{ name: "hung", cluster: "hung", user: "nobody" }],
      currentContext: "hung",
    });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("a generated API's request is aborted after the request timeout, saying which request", async () => {
    const kube = kubeClients(kc, { requestTimeoutMs: 200 });
    await expect(kube.core.readNamespace({ name: "x" })).rejects.toThrow(
      "GET /api/v1/namespaces/x: no answer within 0.2 s",
    );
    await expect(kube.core.deleteNamespace({ name: "x" })).rejects.toThrow(
      "DELETE /api/v1/namespaces/x: no answer within 0.2 s",
    );
  });

  it("so is the generic object API's, and discovery's", async () => {
    const kube = kubeClients(kc, { requestTimeoutMs: 200 });
    const ref = { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "db", namespace: "x" } };
    await expect(kube.objects!.read(ref)).rejects.toThrow("no answer within 0.2 s");
    await expect(kube.kinds!.resolve("statefulset")).rejects.toThrow("GET /apis: no answer within 0.2 s");
  });
});
