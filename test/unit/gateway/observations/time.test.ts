import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoMillis, isoSeconds } from "../../../../gateway/observations/time.ts";

/** The plain definition that isoSeconds must agree with. */
const reference = (ms: number) => new Date(Math.round(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

describe("isoSeconds", () => {
  it("rounds to the nearest second, UTC, without fraction", () => {
    expect(isoSeconds(Date.UTC(2025, 5, 1, 10, 14, 52, 412))).toBe("2025-06-01T10:14:52Z");
    expect(isoSeconds(Date.UTC(2025, 5, 1, 10, 59, 59, 500))).toBe("2025-06-01T11:00:00Z");
    expect(isoSeconds(Date.UTC(2024, 11, 31, 23, 59, 59, 499))).toBe("2024-12-31T23:59:59Z");
    expect(isoSeconds(Date.UTC(2024, 1, 29, 0, 0, 0, 0))).toBe("2024-02-29T00:00:00Z");
  });

  it("agrees with Date#toISOString for any time from 2000 to 9999, in any order", () => {
    const time = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(9998, 11, 31) });
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 200 }), (times) => {
        for (const ms of times) expect(isoSeconds(ms)).toBe(reference(ms));
      }),
      { numRuns: 300 },
    );
  });

  it("isoMillis keeps milliseconds", () => {
    expect(isoMillis(Date.UTC(2025, 5, 1, 10, 15, 2, 412))).toBe("2025-06-01T10:15:02.412Z");
  });
});
