// The reconnect delay policy on its own (pure; kept beside the publisher tests that exercise it live).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffCeilingMs, backoffDelayMs, DEFAULT_BACKOFF } from "../../../../gateway/publisher/index.ts";
import { resolveOptions } from "../../../../gateway/publisher/options.ts";

describe("backoff", () => {
  it("doubles the ceiling from 1 s and caps it at 60 s by default", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map((a) => backoffCeilingMs(a, DEFAULT_BACKOFF))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
  });

  it("spreads delays over [initial/10, ceiling] (full jitter with a floor: never a busy spin)", () => {
    expect(backoffDelayMs(0, DEFAULT_BACKOFF, () => 0)).toBe(100);
    expect(backoffDelayMs(0, DEFAULT_BACKOFF, () => 0.999999)).toBe(1000);
    expect(backoffDelayMs(10, DEFAULT_BACKOFF, () => 0.5)).toBe(30050);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, initialMs, extra, r) => {
          const options = { initialMs, maxMs: initialMs + extra };
          const d = backoffDelayMs(attempt, options, () => r);
          expect(d).toBeGreaterThanOrEqual(Math.max(1, Math.floor(initialMs / 10)));
          expect(d).toBeLessThanOrEqual(backoffCeilingMs(attempt, options));
        },
      ),
    );
  });

  it("refuses nonsense settings at startup", () => {
    const base = { url: "mqtt://localhost", clientId: "c", gatewayId: "g" };
    expect(() => resolveOptions({ ...base, backoff: { initialMs: 0 } })).toThrow(RangeError);
    expect(() => resolveOptions({ ...base, backoff: { initialMs: 5000, maxMs: 1000 } })).toThrow(RangeError);
    expect(() => resolveOptions({ ...base, url: "http://localhost" })).toThrow(/mqtt:\/\/ or mqtts:\/\//);
    expect(() => resolveOptions({ ...base, window: 0 })).toThrow(RangeError);
    expect(() => resolveOptions({ ...base, tls: { certFile: "a" } })).toThrow(RangeError);
    expect(resolveOptions({ ...base, url: "mqtt://user:pw@broker.example:1883" }).displayUrl).toBe(
      "mqtt://broker.example:1883",
    );
  });
});
