import type { z } from "zod";

/**
 * zod's problems as lines a person can act on, each naming its key path (the config file,
 * pins.json). A leaf module: zod's types only.
 */

/** `cluster.kind.cli.version`, `helm["4.3.1"].sha256`, `images.todoDb[1]`. */
export function keyPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((acc, s) => {
    if (typeof s === "number") return `${acc}[${s}]`;
    const key = String(s);
    if (!/^[A-Za-z_][\w-]*$/.test(key)) return `${acc}[${JSON.stringify(key)}]`;
    return acc ? `${acc}.${key}` : key;
  }, "");
}

/** Each of a failed parse's problems as one line that names its key path. */
export function describeIssues(error: z.ZodError, whole: string): string[] {
  return error.issues.map((i) =>
    i.code === "unrecognized_keys"
      ? `unknown key ${i.keys.map((k) => keyPath([...i.path, k])).join(", ")}`
      : `${keyPath(i.path) || whole}: ${i.message.replace(/^Invalid input: /, "")}`,
  );
}
