import { describe, expect, it } from "vitest";
import { constantRate, generateBikeTraffic, type Pulse } from "../../../tools/sim/models/bike-traffic.ts";
import { DEFAULT_CONFIG, loadDetector, type Pass, runDetector } from "./detector-wasm.ts";
import { LIMITS, MONDAY_MS, type PassCounter, type Result, runScenario, SCENARIOS } from "./scenarios.ts";

const SEEDS = [1, 2, 3];

function row(name: string, results: Result[]) {
  const worst = Math.min(...results.map((r) => r.accuracy));
  const mean = results.reduce((s, r) => s + r.accuracy, 0) / results.length;
  const r0 = results[0]!;
  return {
    scenario: name,
    riders: r0.riders,
    "truth ab/ba": `${r0.truthAb}/${r0.truthBa}`,
    "passes ab/ba": `${r0.passAb}/${r0.passBa}`,
    "count ratio": r0.ratio.toFixed(4),
    "bin accuracy mean": `${(mean * 100).toFixed(2)} %`,
    "bin accuracy worst": `${(worst * 100).toFixed(2)} %`,
    noise: r0.noise,
  };
}

// A day per scenario and seed through the wasm detector; accuracy per 15-minute bin and direction (a pass in
// the wrong direction costs 2). The table is the source of the figures in hw/bike-counter.md.
describe("bicycle detector accuracy on generated traffic", () => {
  const table: ReturnType<typeof row>[] = [];

  it.each(SCENARIOS)("$name", async (s) => {
    const results: Result[] = [];
    for (const seed of SEEDS) results.push((await runScenario(s, seed)).result);
    table.push(row(s.name, results));
    for (const r of results) expect(r.accuracy).toBeGreaterThanOrEqual(s.minAccuracy);
  });

  it("counts riders one at a time exactly, bin by bin", async () => {
    const { truth, seen } = await runScenario(SCENARIOS[0]!, 7);
    expect(seen).toEqual(truth);
  });

  it.each(LIMITS)("documented limit: $name", async (l) => {
    const results: Result[] = [];
    for (const seed of SEEDS) results.push((await runScenario({ ...l, minAccuracy: 0 }, seed)).result);
    table.push(row(`limit: ${l.name}`, results));
    for (const r of results) {
      expect(r.ratio).toBeGreaterThanOrEqual(l.ratio[0]);
      expect(r.ratio).toBeLessThanOrEqual(l.ratio[1]);
    }
  });

  it("prints the table", () => {
    console.log(`bicycle detector, seeds ${SEEDS.join(", ")} (one day each; counts of seed ${SEEDS[0]})`);
    console.table(table);
    expect(table.length).toBe(SCENARIOS.length + LIMITS.length);
  });
});

describe("noise only", () => {
  const perHour = 60;
  const days = [1, 2, 3, 4, 5];

  it("random spikes make few false passes: what chance coincidence across the channels predicts", async () => {
    let falsePasses = 0;
    for (const seed of days) {
      const { pulses } = generateBikeTraffic({
        seed,
        startMs: MONDAY_MS,
        durationMs: 86_400_000,
        rate: constantRate(0),
        noisePerHour: perHour,
      });
      const { passes, noise } = runDetector(await loadDetector(), pulses);
      falsePasses += passes.length;
      // Nearly every spike that formed no pass is noise: not the last ones (still pending), nor those that
      // came within the debounce time of another on the same channel, or fitted a counted bicycle.
      expect(noise).toBeGreaterThanOrEqual(0.99 * (pulses.length - 2 * passes.length));
      expect(noise).toBeLessThanOrEqual(pulses.length);
    }
    // A spike pairs with a spike on the other channel within [dtMin, dtMax] (72..720 ms at the defaults):
    // P ≈ rate × window per spike, both directions.
    const perDay = 2 * 24 * perHour * ((perHour / 3600) * ((720 - 72) / 1000));
    const measured = falsePasses / days.length;
    console.log(
      `noise only, ${perHour}/h per channel: ${measured} false passes/day (chance ${perDay.toFixed(1)})`,
    );
    expect(measured).toBeLessThanOrEqual(perDay * 1.25);
  });

  it("isolated spikes never count and are all reported as noise", async () => {
    const det = await loadDetector();
    const pulses = Array.from({ length: 200 }, (_, i) => ({ channel: (i % 2) as 0 | 1, tMs: i * 5000 }));
    const { passes, noise } = runDetector(det, pulses);
    expect(passes).toEqual([]);
    expect(noise).toBe(199); // the last one is still pending
  });
});

/** Every edge followed by a contact bounce 12 ms later. */
function withBounces(pulses: readonly Pulse[]): Pulse[] {
  return pulses.flatMap((p) => [p, { channel: p.channel, tMs: p.tMs + 12 }]).sort((x, y) => x.tMs - y.tMs);
}

// The thresholds must be able to fail: simple detectors that miss one of the requirements do.
describe("strawman detectors fail the thresholds", () => {
  const everyA: PassCounter = async (_c, pulses) => ({
    passes: pulses.filter((p) => p.channel === 0).map((p): Pass => ({ tMs: p.tMs, direction: "ab" })),
    noise: 0,
  });
  // Pairs A→B / B→A in the speed window but counts every wheel (no rear-wheel absorption).
  const everyWheel: PassCounter = async (c, pulses) => {
    const dtMin = Math.floor((c.spacingMm * 18) / (c.speedMaxKmh * 5));
    const dtMax = Math.ceil((c.spacingMm * 18) / (c.speedMinKmh * 5));
    const pending: (number | undefined)[] = [undefined, undefined];
    const passes: Pass[] = [];
    for (const p of pulses) {
      const other = pending[1 - p.channel];
      if (other !== undefined && p.tMs - other >= dtMin && p.tMs - other <= dtMax) {
        passes.push({ tMs: p.tMs, direction: p.channel === 1 ? "ab" : "ba" });
        pending[1 - p.channel] = undefined;
      } else {
        pending[p.channel] = p.tMs;
      }
    }
    return { passes, noise: 0 };
  };
  // The real detector with rear-wheel absorption but no debounce, fed bouncing contacts.
  const noDebounce: PassCounter = async (c, pulses) => {
    const det = await loadDetector({ ...c, debounceMs: 1 });
    return runDetector(det, withBounces(pulses));
  };

  it.each([
    ["every A pulse", everyA],
    ["every wheel", everyWheel],
    ["no debounce", noDebounce],
  ] as const)("%s", async (_name, counter) => {
    const s = SCENARIOS[0]!;
    const { result } = await runScenario(s, 1, counter);
    expect(result.accuracy).toBeLessThan(s.minAccuracy);
    expect(result.accuracy).toBeLessThan(0.9);
  });

  it("the real detector passes the same check with bouncing contacts and its default debounce", async () => {
    const bouncing: PassCounter = async (c, pulses) => {
      const det = await loadDetector(c);
      return runDetector(det, withBounces(pulses));
    };
    const { result } = await runScenario(SCENARIOS[0]!, 1, bouncing);
    expect(result.accuracy).toBe(1);
    expect(DEFAULT_CONFIG.debounceMs).toBeGreaterThan(12);
  });
});
