import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  componentManifest,
  enabledComponents,
  fillPlaceholders,
  loadBalancerConfig,
  loadBalancerPool,
} from "../../harness/cluster/components.ts";
import { hostsToml, mirrorFiles, mirroredHosts } from "../../harness/cluster/mirror.ts";
import { parseDisabled } from "../../harness/config.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import { COMPONENTS, componentPin, pins } from "../../harness/pins.ts";
import { metallbCrdsFile, mirrorPath, registryConfig } from "../../harness/provision/components.ts";

describe("load-balancer pool on the node's Docker network", () => {
  it("lies inside the node's subnet, near its top, and never holds the node's own address", () => {
    const pool = loadBalancerPool("172.17.0.2", 16);
    expect(pool).toEqual({ first: "172.17.255.243", last: "172.17.255.246" });
    const kind = loadBalancerPool("172.18.0.3", 16);
    expect(kind.first.startsWith("172.18.255.")).toBe(true);
  });

  it("gives two nodes on one network disjoint blocks", () => {
    const a = loadBalancerPool("172.17.0.2", 16);
    const b = loadBalancerPool("172.17.0.3", 16);
    expect(a.first).not.toBe(b.first);
    const ints = (p: { first: string; last: string }) =>
      [p.first, p.last].map((ip) => Number(ip.split(".")[3]) + 256 * Number(ip.split(".")[2]));
    const [a0, a1] = ints(a);
    const [b0, b1] = ints(b);
    expect(a1! < b0! || b1! < a0!).toBe(true);
  });

  it("works on a small network and refuses what cannot hold a pool", () => {
    const p = loadBalancerPool("192.168.49.2", 24);
    expect(p).toEqual({ first: "192.168.49.243", last: "192.168.49.246" });
    expect(() => loadBalancerPool("10.0.0.2", 30)).toThrow(HelmdrillError);
    expect(() => loadBalancerPool("fe80::1", 64)).toThrow(/cannot place load-balancer addresses on fe80::1\/64/);
  });

  it("is written as MetalLB's IPAddressPool and L2Advertisement", () => {
    const docs = parseAllDocuments(loadBalancerConfig({ first: "172.17.255.243", last: "172.17.255.246" })).map((d) =>
      d.toJS(),
    );
    expect(docs.map((d) => d.kind)).toEqual(["IPAddressPool", "L2Advertisement"]);
    expect(docs[0].spec.addresses).toEqual(["172.17.255.243-172.17.255.246"]);
    expect(docs[1].spec.ipAddressPools).toEqual([docs[0].metadata.name]);
  });
});

describe("registry mirror", () => {
  it("asks a mirror for the path a registry serves an image under", () => {
    expect(mirrorPath("busybox")).toEqual({ registry: "docker.io", path: "library/busybox" });
    expect(mirrorPath("busybox:latest")).toEqual({ registry: "docker.io", path: "library/busybox:latest" });
    expect(mirrorPath("bitnami/redis:7")).toEqual({ registry: "docker.io", path: "bitnami/redis:7" });
    expect(mirrorPath("docker.io/library/nginx:1.27")).toEqual({ registry: "docker.io", path: "library/nginx:1.27" });
    expect(mirrorPath("ghcr.io/stefanprodan/podinfo:6.7.0")).toEqual({
      registry: "ghcr.io",
      path: "stefanprodan/podinfo:6.7.0",
    });
    expect(mirrorPath("helmdrill.local/busybox:1.35.0")).toEqual({
      registry: "helmdrill.local",
      path: "busybox:1.35.0",
    });
    expect(mirrorPath("localhost:5000/app:1")).toEqual({ registry: "localhost:5000", path: "app:1" });
  });

  it("mirrors the common registries and every preloaded image's host by name, any other through _default", () => {
    const hosts = mirroredHosts(["helmdrill.local/busybox:1.35.0", "quay.io/org/app:1"]);
    expect(hosts).toContain("docker.io");
    expect(hosts).toContain("helmdrill.local");
    expect(hosts).toContain("registry.k8s.io");
    expect(hosts).not.toContain(mirrorPath(pins().images.unpullable).registry);
    const files = mirrorFiles("172.17.0.5:5000", []).map((f) => f.path);
    expect(files).toContain("/etc/containerd/certs.d/_default/hosts.toml");
    // _default has the mirror and no server: the host itself stays the fallback (the bad image still fails on the cluster).
    expect(hostsToml("_default", "172.17.0.5:5000")).toBe(
      '[host."http://172.17.0.5:5000"]\n  capabilities = ["pull", "resolve"]\n',
    );
  });

  it("writes containerd hosts.toml with the mirror first and the real host as server", () => {
    expect(hostsToml("docker.io", "172.17.0.5:5000")).toBe(
      'server = "https://registry-1.docker.io"\n\n[host."http://172.17.0.5:5000"]\n  capabilities = ["pull", "resolve"]\n',
    );
    const files = mirrorFiles("172.17.0.5:5000", ["helmdrill.local/busybox:1.35.0"]);
    expect(files.find((f) => f.path === "/etc/containerd/certs.d/helmdrill.local/hosts.toml")?.content).toContain(
      'server = "https://helmdrill.local"',
    );
  });

  it("serves read-only from a run's cluster, writable only while provisioning fills it", () => {
    const ro = parseAllDocuments(registryConfig(true))[0]!.toJS();
    const rw = parseAllDocuments(registryConfig(false))[0]!.toJS();
    expect(ro.storage.maintenance.readonly.enabled).toBe(true);
    expect(rw.storage.maintenance.readonly.enabled).toBe(false);
    expect(ro.http.addr).toBe(":5000");
  });
});

describe("--disable", () => {
  it("takes k3s's names and registry-mirror, ignores traefik, and names the known ones for anything else", () => {
    expect(parseDisabled("servicelb,metrics-server")).toEqual(["servicelb", "metrics-server"]);
    expect(parseDisabled(["traefik"])).toEqual([]);
    expect(parseDisabled("all")).toEqual([...COMPONENTS]);
    expect(() => parseDisabled("servicelb,loadbalancer")).toThrow(/unknown component "loadbalancer"/);
    expect(enabledComponents(["coredns"])).toEqual(COMPONENTS.filter((c) => c !== "coredns"));
  });
});

describe("component manifests", () => {
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-components-"));
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));
  mkdirSync(path.dirname(metallbCrdsFile(cacheDir)), { recursive: true });
  writeFileSync(
    metallbCrdsFile(cacheDir),
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: ipaddresspools.metallb.io}\n",
  );

  for (const provider of ["k3s", "kind"] as const) {
    for (const name of ["coredns", "local-storage", "servicelb", "metrics-server"] as const) {
      it(`${name} on ${provider}: valid YAML, every placeholder filled, the pinned image`, () => {
        const text = componentManifest(name, {
          provider,
          clusterDns: "10.43.0.10",
          clusterDomain: "cluster.local",
          cacheDir,
        });
        expect(text).not.toMatch(/%\{/);
        const docs = parseAllDocuments(text).map((d) => {
          expect(d.errors).toEqual([]);
          return d.toJS();
        });
        const workloads = docs.filter((d) => d && (d.kind === "Deployment" || d.kind === "DaemonSet"));
        expect(workloads.length).toBeGreaterThan(0);
        for (const w of workloads) expect(w.spec.template.spec.containers[0].image).toBe(componentPin(name).image);
      });
    }
  }

  it("names the StorageClass each distribution ships: local-path on k3s, standard on kind, default and WaitForFirstConsumer", () => {
    for (const [provider, className] of [
      ["k3s", "local-path"],
      ["kind", "standard"],
    ] as const) {
      const docs = parseAllDocuments(
        componentManifest("local-storage", { provider, clusterDns: "", clusterDomain: "cluster.local", cacheDir }),
      ).map((d) => d.toJS());
      const sc = docs.find((d) => d.kind === "StorageClass");
      expect(sc.metadata.name).toBe(className);
      expect(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
      expect(sc.volumeBindingMode).toBe("WaitForFirstConsumer");
      expect(sc.reclaimPolicy).toBe("Delete");
    }
  });

  it("puts kube-dns at the cluster DNS IP", () => {
    const docs = parseAllDocuments(
      componentManifest("coredns", {
        provider: "k3s",
        clusterDns: "10.43.0.10",
        clusterDomain: "cluster.local",
        cacheDir,
      }),
    ).map((d) => d.toJS());
    expect(docs.find((d) => d.kind === "Service").spec.clusterIP).toBe("10.43.0.10");
  });

  it("refuses a placeholder it has no value for", () => {
    expect(() => fillPlaceholders("image: %{NOPE}%", {}, "x.yaml")).toThrow(/%\{NOPE\}%/);
  });
});
