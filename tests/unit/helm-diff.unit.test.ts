import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { pluginYaml } from "../../harness/tools/helm-diff.ts";

describe("helm-diff's plugin.yaml", () => {
  it("is YAML Helm reads back as the plugin's manifest, the version a string even where it looks like a number", () => {
    expect(YAML.parse(pluginYaml("3.10"))).toEqual({
      name: "diff",
      version: "3.10",
      usage: "Preview helm upgrade changes as a diff",
      description: "Preview helm upgrade changes as a diff (built by helmdrill provision)",
      useTunnel: true,
      command: "$HELM_PLUGIN_DIR/bin/diff",
    });
    expect(pluginYaml("3.8.1")).toContain('version: "3.8.1"\n');
  });
});
