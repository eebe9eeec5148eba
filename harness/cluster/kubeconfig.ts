import { chmodSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { scratchDir } from "../util/scratch.ts";

/** Writes a kubeconfig to a fresh private directory; returns its path and a remover. */
export function writeKubeconfig(yaml: string, label: string): { file: string; remove: () => void } {
  const dir = scratchDir(label);
  const file = path.join(dir, "kubeconfig.yaml");
  writeFileSync(file, yaml, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function kubeConfigFromYaml(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}
