// The climate model that drives the generated scenarios and the benchmark (tools/sim/models/climate.ts).
import { describe, expect, it } from "vitest";
import { createClimateModel, relativeHumidity } from "../../tools/sim/models/climate.ts";
import { DAY0_S } from "./generate.ts";

const day = (model: ReturnType<typeof createClimateModel>, stepS: number, from = DAY0_S) =>
  Array.from({ length: Math.floor(86_400 / stepS) }, (_, i) => model.at(from + i * stepS));

describe("climate model", () => {
  it("is a pure function of seed and time, whatever the sampling cadence", () => {
    const a = createClimateModel({ seed: 7 });
    const b = createClimateModel({ seed: 7 });
    const every30 = day(a, 30);
    const every300 = day(b, 300);
    for (const [i, r] of every300.entries()) expect(r).toEqual(every30[i * 10]);
    expect(a.at(DAY0_S + 12_345)).toEqual(b.at(DAY0_S + 12_345));
    expect(createClimateModel({ seed: 8 }).at(DAY0_S + 100)).not.toEqual(a.at(DAY0_S + 100));
  });

  it("gives integers at the sensor resolution, in plausible ranges", () => {
    for (const r of day(createClimateModel({ seed: 1, heatDay: { dayS: DAY0_S } }), 60)) {
      expect(Number.isInteger(r.temperatureCenti)).toBe(true);
      expect(Number.isInteger(r.humidityCenti)).toBe(true);
      expect(Number.isInteger(r.batteryMv)).toBe(true);
      expect(r.temperatureCenti).toBeGreaterThan(-1000);
      expect(r.temperatureCenti).toBeLessThan(4500);
      expect(r.humidityCenti).toBeGreaterThanOrEqual(0);
      expect(r.humidityCenti).toBeLessThanOrEqual(10_000);
      expect(r.batteryMv).toBeGreaterThanOrEqual(3600);
      expect(r.batteryMv).toBeLessThanOrEqual(4100);
    }
  });

  it("is warm in the afternoon, cool before dawn, and humid when cool", () => {
    const m = createClimateModel({ seed: 3, weatherC: 0 });
    const at = (h: number) => m.at(DAY0_S + h * 3600);
    expect(at(14).temperatureCenti - at(4).temperatureCenti).toBeGreaterThan(800);
    expect(at(14).humidityCenti).toBeLessThan(at(4).humidityCenti);
    const readings = day(m, 600);
    const t = readings.map((r) => r.temperatureCenti);
    const h = readings.map((r) => r.humidityCenti);
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const mt = mean(t);
    const mh = mean(h);
    const cov = t.reduce((s, x, i) => s + (x - mt) * ((h[i] ?? 0) - mh), 0);
    expect(cov).toBeLessThan(0);
  });

  it("changes smoothly: 5-minute steps stay well under a degree, with SHT4x-sized noise", () => {
    const readings = day(createClimateModel({ seed: 5 }), 300);
    for (let i = 1; i < readings.length; i++) {
      const dt = Math.abs((readings[i]?.temperatureCenti ?? 0) - (readings[i - 1]?.temperatureCenti ?? 0));
      expect(dt).toBeLessThan(80);
    }
    // Consecutive seconds differ by sensor noise only (σ ≈ 0.03 °C): small but not all identical.
    const m = createClimateModel({ seed: 5 });
    const diffs = Array.from({ length: 200 }, (_, i) =>
      Math.abs(m.at(DAY0_S + i + 1).temperatureCenti - m.at(DAY0_S + i).temperatureCenti),
    );
    expect(Math.max(...diffs)).toBeLessThan(25);
    expect(diffs.some((d) => d > 0)).toBe(true);
  });

  it("adds a heat day only on that UTC day", () => {
    const base = { seed: 11, weatherC: 0, noise: { temperatureC: 0 } };
    const normal = createClimateModel(base);
    const hot = createClimateModel({ ...base, heatDay: { dayS: DAY0_S + 86_400, extraC: 8 } });
    expect(hot.at(DAY0_S + 14 * 3600)).toEqual(normal.at(DAY0_S + 14 * 3600));
    const peak = DAY0_S + 86_400 + 14 * 3600;
    expect(hot.at(peak).temperatureCenti - normal.at(peak).temperatureCenti).toBe(800);
    expect(hot.at(peak).humidityCenti).toBeLessThan(normal.at(peak).humidityCenti);
    expect(hot.at(DAY0_S + 2 * 86_400 + 3600)).toEqual(normal.at(DAY0_S + 2 * 86_400 + 3600));
  });

  it("computes relative humidity from the dew point (Magnus)", () => {
    expect(relativeHumidity(20, 20)).toBeCloseTo(100, 9);
    expect(relativeHumidity(25, 10)).toBeCloseTo(38.8, 0);
  });
});
