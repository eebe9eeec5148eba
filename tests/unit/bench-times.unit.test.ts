import { describe, expect, it } from "vitest";
import { parseTimes } from "../../bench/lib.ts";

describe("bench: the CPU time of helmdrill's processes, from bash's `times`", () => {
  it("adds the children's user and system time (the second line)", () => {
    expect(parseTimes("0m0.012s 0m0.004s\n1m2.500s 0m30.250s\n")).toBeCloseTo(92.75, 3);
  });

  it("is NaN, not 0, when the line is missing or malformed: an unread figure is never printed as none", () => {
    expect(parseTimes("0m0.012s 0m0.004s\n")).toBeNaN();
    expect(parseTimes("")).toBeNaN();
  });
});
