import { describe, expect, it } from "vitest";
import {
  binByDirection,
  commuterProfile,
  constantRate,
  generateBikeTraffic,
} from "../../../tools/sim/models/bike-traffic.ts";

const MONDAY_MS = Date.UTC(2025, 2, 3);
const SATURDAY_MS = Date.UTC(2025, 2, 8);
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

describe("generateBikeTraffic", () => {
  const day = { seed: 42, startMs: MONDAY_MS, durationMs: DAY_MS };

  it("is deterministic for a seed, and the seed matters", () => {
    const a = generateBikeTraffic({ ...day, missProbability: 0.05, noisePerHour: 10, jitterMs: 2 });
    const b = generateBikeTraffic({ ...day, missProbability: 0.05, noisePerHour: 10, jitterMs: 2 });
    const c = generateBikeTraffic({ ...day, seed: 43, missProbability: 0.05, noisePerHour: 10, jitterMs: 2 });
    expect(b).toEqual(a);
    expect(c.pulses).not.toEqual(a.pulses);
  });

  it("sorts pulses and riders by time, in whole milliseconds", () => {
    const { pulses, riders } = generateBikeTraffic({ ...day, jitterMs: 3, noisePerHour: 20 });
    for (let i = 1; i < pulses.length; i++) expect(pulses[i]!.tMs).toBeGreaterThanOrEqual(pulses[i - 1]!.tMs);
    for (let i = 1; i < riders.length; i++) expect(riders[i]!.tMs).toBeGreaterThanOrEqual(riders[i - 1]!.tMs);
    expect(pulses.every((p) => Number.isInteger(p.tMs) && (p.channel === 0 || p.channel === 1))).toBe(true);
  });

  it("gives each rider four pulses at the geometry's times: front and rear wheel on both channels", () => {
    const spacingMm = 1500;
    const { pulses, riders } = generateBikeTraffic({
      ...day,
      spacingMm,
      minHeadwayMs: 5000,
      groupProbability: 0,
    });
    expect(pulses.length).toBe(4 * riders.length);
    for (const [i, r] of riders.entries()) {
      const mine = pulses.slice(4 * i, 4 * i + 4);
      const first = r.direction === "ab" ? 0 : 1;
      const msPerMm = 3.6 / r.speedKmh;
      // spacing > wheelbase: first, first, second, second
      expect(mine.map((p) => p.channel)).toEqual([first, first, 1 - first, 1 - first]);
      expect(mine[0]!.tMs).toBe(r.tMs);
      expect(mine[1]!.tMs).toBeCloseTo(r.tMs + r.wheelbaseMm * msPerMm, -0.5);
      expect(mine[2]!.tMs).toBe(r.secondChannelMs);
      expect(r.secondChannelMs).toBeCloseTo(r.tMs + spacingMm * msPerMm, -0.5);
      expect(mine[3]!.tMs).toBeCloseTo(r.tMs + (spacingMm + r.wheelbaseMm) * msPerMm, -0.5);
    }
  });

  it("draws speeds and wheelbases from the configured ranges", () => {
    const { riders } = generateBikeTraffic(day);
    expect(riders.length).toBeGreaterThan(1000);
    expect(riders.every((r) => r.speedKmh >= 8 * 0.9 && r.speedKmh <= 35 * 1.1)).toBe(true);
    expect(riders.every((r) => r.wheelbaseMm >= 950 && r.wheelbaseMm <= 1250)).toBe(true);
    const mean = riders.reduce((s, r) => s + r.speedKmh, 0) / riders.length;
    expect(mean).toBeGreaterThan(17);
    expect(mean).toBeLessThan(21);
  });

  it("follows the arrival rate (Poisson count within 4 sd)", () => {
    const { riders } = generateBikeTraffic({ ...day, rate: constantRate(100), groupProbability: 0 });
    const expected = 2 * 24 * 100;
    expect(Math.abs(riders.length - expected)).toBeLessThan(4 * Math.sqrt(expected));
  });

  it("has weekday rush hours: mornings mostly A→B, evenings mostly B→A; weekends are flatter", () => {
    const rate = commuterProfile(200);
    const monday = generateBikeTraffic({ ...day, rate });
    const bins = binByDirection(monday.riders, 3600, MONDAY_MS, MONDAY_MS + DAY_MS);
    expect(bins.ab[7]! + bins.ab[8]!).toBeGreaterThan(2 * (bins.ba[7]! + bins.ba[8]!));
    expect(bins.ba[17]!).toBeGreaterThan(2 * bins.ab[17]!);
    expect(bins.ab[8]!).toBeGreaterThan(5 * bins.ab[3]!);
    expect(rate(MONDAY_MS + 8 * HOUR_MS, "ab")).toBeGreaterThan(3 * rate(SATURDAY_MS + 8 * HOUR_MS, "ab"));
    expect(rate(SATURDAY_MS + 14 * HOUR_MS, "ab")).toBe(rate(SATURDAY_MS + 14 * HOUR_MS, "ba"));
    // local time: UTC+1 moves the morning peak one hour earlier in UTC
    expect(commuterProfile(200, 3600)(MONDAY_MS + 6.75 * HOUR_MS, "ab")).toBeCloseTo(
      rate(MONDAY_MS + 7.75 * HOUR_MS, "ab"),
    );
  });

  it("rides groups in line, 1 to 3 m from rear wheel to the next front wheel", () => {
    const { riders } = generateBikeTraffic({
      ...day,
      rate: constantRate(10),
      groupProbability: 1,
      minHeadwayMs: 10_000,
    });
    let followers = 0;
    for (let i = 1; i < riders.length; i++) {
      const r = riders[i]!;
      if (r.groupPosition === 0) continue;
      const lead = riders[i - 1]!;
      followers++;
      expect(r.direction).toBe(lead.direction);
      const distanceMm = ((r.tMs - lead.tMs) * r.speedKmh) / 3.6;
      expect(distanceMm - lead.wheelbaseMm).toBeGreaterThan(1000 * 0.95 - 5);
      expect(distanceMm - lead.wheelbaseMm).toBeLessThan(3000 * 1.05 + 5);
    }
    expect(followers).toBeGreaterThan(riders.length / 3);
  });

  it("loses pulses with the miss probability and adds noise at the noise rate", () => {
    const clean = generateBikeTraffic({ ...day, rate: constantRate(200) });
    const lossy = generateBikeTraffic({ ...day, rate: constantRate(200), missProbability: 0.1 });
    expect(lossy.riders).toEqual(clean.riders);
    expect(lossy.pulses.length / clean.pulses.length).toBeCloseTo(0.9, 2);
    const noisy = generateBikeTraffic({ ...day, rate: constantRate(0), noisePerHour: 100 });
    expect(noisy.riders).toEqual([]);
    expect(Math.abs(noisy.pulses.length - 4800)).toBeLessThan(4 * Math.sqrt(4800));
  });

  it("generates a busy day for one node in milliseconds", () => {
    const opts = { ...day, rate: commuterProfile(240), jitterMs: 2, missProbability: 0.02, noisePerHour: 6 };
    generateBikeTraffic(opts);
    const t0 = performance.now();
    for (let seed = 0; seed < 10; seed++) generateBikeTraffic({ ...opts, seed });
    const msPerDay = (performance.now() - t0) / 10;
    console.log(`bike traffic: ${msPerDay.toFixed(1)} ms per node-day`);
    expect(msPerDay).toBeLessThan(50);
  });
});

describe("binByDirection", () => {
  it("bins per direction into aligned bins covering [from, to)", () => {
    const t = MONDAY_MS + 1000;
    const bins = binByDirection(
      [
        { tMs: t, direction: "ab" },
        { tMs: t + 899_000, direction: "ab" }, // 15:00 after midnight exactly: bin 1
        { tMs: t + 899_000, direction: "ba" },
        { tMs: t + 1_900_000, direction: "ba" },
        { tMs: t - 2000, direction: "ab" }, // before `from`: ignored
        { tMs: t + 2_700_000, direction: "ab" }, // at `to`: ignored
      ],
      900,
      t,
      t + 2_700_000,
    );
    expect(bins.startMs).toBe(MONDAY_MS);
    expect(bins.ab).toEqual([1, 1, 0, 0]);
    expect(bins.ba).toEqual([0, 1, 1, 0]);
  });

  it("keeps every rider of a generated day", () => {
    const { riders } = generateBikeTraffic({ seed: 1, startMs: MONDAY_MS, durationMs: DAY_MS });
    const bins = binByDirection(riders, 900, MONDAY_MS, MONDAY_MS + 2 * DAY_MS);
    const total = [...bins.ab, ...bins.ba].reduce((s, n) => s + n, 0);
    expect(total).toBe(riders.length);
    expect(bins.ab.length).toBe(192);
  });
});
