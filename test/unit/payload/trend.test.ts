// Trend removal (PAYLOAD.md, "Trend and residuals"): the slope truncated toward zero, residuals per slot gap.
import { describe, expect, it } from "vitest";
import { canonicalSlope, residuals, truncDiv } from "../../../shared/payload/trend.ts";

describe("trend", () => {
  it("divides truncating toward zero, never yielding -0", () => {
    const cases: [number, number, number][] = [
      [7, 3, 2],
      [-7, 3, -2],
      [-6, 3, -2],
      [-1, 3, 0],
      [1, 3, 0],
      [0, 5, 0],
      [-12500, 1, -12500],
      [10000, 31, 322],
      [-10000, 31, -322],
    ];
    for (const [a, b, q] of cases) expect(Object.is(truncDiv(a, b), q), `${a} / ${b}`).toBe(true);
  });

  it("takes the slope between the first and the last valid slot, 0 below two values", () => {
    expect(canonicalSlope([], [])).toBe(0);
    expect(canonicalSlope([4], [2150])).toBe(0);
    expect(canonicalSlope([0, 1, 2, 3], [2100, 2098, 2095, 2093])).toBe(-2);
    expect(canonicalSlope([1, 4], [1000, 990])).toBe(-3);
    // the middle values do not matter
    expect(canonicalSlope([0, 1, 2], [5000, 9000, 5028])).toBe(14);
  });

  it("subtracts slope × slot gap from each change", () => {
    expect(residuals([0, 1, 2, 3], [2100, 2098, 2095, 2093], -2)).toEqual([0, -1, 0]);
    expect(residuals([1, 2, 3, 4, 7, 8], [1524, 1550, 1575, 1598, 1674, 1700], 25)).toEqual([1, 0, -2, 1, 1]);
    expect(residuals([3], [10], 7)).toEqual([]);
  });
});
