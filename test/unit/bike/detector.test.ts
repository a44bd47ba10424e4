import { describe, expect, it } from "vitest";
import type { Direction, Pulse } from "../../../tools/sim/models/bike-traffic.ts";
import {
  DEFAULT_CONFIG,
  type DetectorConfig,
  loadDetector,
  PASS_AB,
  PASS_BA,
  PULSE_NONE,
  runDetector,
} from "./detector-wasm.ts";

interface Bike {
  direction: Direction;
  tMs: number;
  kmh: number;
  wheelbaseMm?: number;
  /** Axle positions behind the front wheel, mm (default: the wheelbase only). */
  axlesMm?: number[];
}

/** The pulses of bicycles over channels `spacingMm` apart, in time order. */
function pulsesOf(bikes: Bike[], spacingMm = 1000): Pulse[] {
  const out: Pulse[] = [];
  for (const b of bikes) {
    const first: 0 | 1 = b.direction === "ab" ? 0 : 1;
    const second: 0 | 1 = first === 0 ? 1 : 0;
    const msPerMm = 3.6 / b.kmh;
    for (const x of [0, ...(b.axlesMm ?? [b.wheelbaseMm ?? 1100])]) {
      out.push({ channel: first, tMs: Math.round(b.tMs + x * msPerMm) });
      out.push({ channel: second, tMs: Math.round(b.tMs + (x + spacingMm) * msPerMm) });
    }
  }
  return out.sort((p, q) => p.tMs - q.tMs);
}

async function feed(pulses: Pulse[], config: Partial<DetectorConfig> = {}) {
  const det = await loadDetector({ ...DEFAULT_CONFIG, ...config });
  const results = pulses.map((p) => det.pulse(p.channel, p.tMs));
  return { results, noise: det.takeNoise(), det };
}

const count = (results: number[], r: number) => results.filter((x) => x === r).length;

describe("one bicycle", () => {
  it("A→B counts once, on the front wheel's B pulse (spacing < wheelbase: A B A B)", async () => {
    const pulses = pulsesOf([{ direction: "ab", tMs: 1000, kmh: 20 }]);
    expect(pulses.map((p) => p.channel)).toEqual([0, 1, 0, 1]);
    const { results, noise } = await feed(pulses);
    expect(results).toEqual([PULSE_NONE, PASS_AB, PULSE_NONE, PULSE_NONE]);
    expect(noise).toBe(0);
  });

  it("B→A counts once as PASS_BA", async () => {
    const { results } = await feed(pulsesOf([{ direction: "ba", tMs: 1000, kmh: 20 }]));
    expect(results).toEqual([PULSE_NONE, PASS_BA, PULSE_NONE, PULSE_NONE]);
  });

  it("spacing wider than the wheelbase (A A B B) counts once, on the first B", async () => {
    const pulses = pulsesOf([{ direction: "ab", tMs: 1000, kmh: 20 }], 1500);
    expect(pulses.map((p) => p.channel)).toEqual([0, 0, 1, 1]);
    const { results } = await feed(pulses, { spacingMm: 1500 });
    expect(results).toEqual([PULSE_NONE, PULSE_NONE, PASS_AB, PULSE_NONE]);
  });

  it.each([0, 1])(
    "spacing equal to the wheelbase (rear A and front B at once, B first = %i)",
    async (bFirst) => {
      const t = 1000 + Math.round((1100 * 3.6) / 20);
      const middle: Pulse[] = bFirst
        ? [
            { channel: 1, tMs: t },
            { channel: 0, tMs: t },
          ]
        : [
            { channel: 0, tMs: t },
            { channel: 1, tMs: t },
          ];
      const pulses: Pulse[] = [{ channel: 0, tMs: 1000 }, ...middle, { channel: 1, tMs: 2 * t - 1000 }];
      const { results } = await feed(pulses, { spacingMm: 1100 });
      expect(count(results, PASS_AB)).toBe(1);
      expect(count(results, PASS_BA)).toBe(0);
    },
  );

  describe.each([
    [1000, "A B A B", [0, 1, 2, 3]],
    [1500, "A A B B", [0, 1, 2, 3]],
    [500, "A B A B, short", [1, 2, 3]],
  ])("one missed pulse still counts the rider once (spacing %i mm, %s)", (spacingMm, _order, missing) => {
    const cases = [];
    for (const direction of ["ab", "ba"] as const) {
      for (const kmh of [8, 12, 20, 30, 45])
        for (const missed of missing) cases.push({ direction, kmh, missed });
    }
    it.each(cases)("$direction at $kmh km/h, pulse $missed missed", async ({ direction, kmh, missed }) => {
      const pulses = pulsesOf([{ direction, tMs: 5000, kmh }], spacingMm).filter((_, i) => i !== missed);
      const { results } = await feed(pulses, { spacingMm });
      expect(count(results, direction === "ab" ? PASS_AB : PASS_BA)).toBe(1);
      expect(count(results, direction === "ab" ? PASS_BA : PASS_AB)).toBe(0);
    });
  });

  it("spacing < wheelbase / 2: a missed first pulse turns the rider around (documented limit)", async () => {
    // B(front) then A(rear) (W − S)/v later looks exactly like the two front pulses of a B→A rider.
    const pulses = pulsesOf([{ direction: "ab", tMs: 5000, kmh: 20 }], 500).slice(1);
    const { results } = await feed(pulses, { spacingMm: 500 });
    expect(count(results, PASS_BA)).toBe(1);
    expect(count(results, PASS_AB)).toBe(0);
  });

  it("a rider faster than speed_max is still counted when front-at-A and rear-at-B fit the window", async () => {
    const { results } = await feed(pulsesOf([{ direction: "ab", tMs: 1000, kmh: 60 }]));
    expect(count(results, PASS_AB)).toBe(1);
  });

  it.each([4, 3, 2])(
    "a bike pushed at %i km/h (below speed_min 5) is not counted, in any direction",
    async (kmh) => {
      const { results, noise } = await feed([
        ...pulsesOf([{ direction: "ab", tMs: 1000, kmh }]),
        { channel: 0, tMs: 60_000 }, // a later pulse lets the last ones expire
      ]);
      expect(results.every((r) => r === PULSE_NONE)).toBe(true);
      expect(noise).toBe(4);
    },
  );

  it("a cargo bike longer than 1.7 m counts twice (documented limit)", async () => {
    const { results } = await feed(pulsesOf([{ direction: "ab", tMs: 1000, kmh: 18, wheelbaseMm: 2000 }]));
    expect(count(results, PASS_AB)).toBe(2);
  });

  it("a bike with a trailer (third axle 1.4 m behind the rear wheel) counts twice (documented limit)", async () => {
    const { results } = await feed(
      pulsesOf([{ direction: "ab", tMs: 1000, kmh: 18, axlesMm: [1100, 2500] }]),
    );
    expect(count(results, PASS_AB)).toBe(2);
  });
});

describe("several bicycles", () => {
  it.each([1000, 2000, 3000])(
    "riders following %i mm behind a rear wheel count separately",
    async (gapMm) => {
      const kmh = 20;
      const headMs = ((1100 + gapMm) * 3.6) / kmh;
      const bikes = [0, 1, 2, 3].map((k) => ({ direction: "ab" as const, tMs: 1000 + k * headMs, kmh }));
      for (const spacingMm of [1000, 1500]) {
        const { results } = await feed(pulsesOf(bikes, spacingMm), { spacingMm });
        expect(count(results, PASS_AB)).toBe(4);
        expect(count(results, PASS_BA)).toBe(0);
      }
    },
  );

  it("riders in opposite directions, one after the other", async () => {
    const bikes: Bike[] = [
      { direction: "ab", tMs: 1000, kmh: 20 },
      { direction: "ba", tMs: 2500, kmh: 15 },
      { direction: "ab", tMs: 4000, kmh: 25 },
      { direction: "ba", tMs: 4900, kmh: 22 },
    ];
    const { results } = await feed(pulsesOf(bikes));
    expect(count(results, PASS_AB)).toBe(2);
    expect(count(results, PASS_BA)).toBe(2);
  });

  it("a rider whose rear wheel was missed does not absorb the next rider", async () => {
    const pulses = [
      ...pulsesOf([{ direction: "ab", tMs: 1000, kmh: 20 }]).slice(0, 2),
      ...pulsesOf([{ direction: "ab", tMs: 1500, kmh: 20 }]),
    ].sort((p, q) => p.tMs - q.tMs);
    const { results } = await feed(pulses);
    expect(count(results, PASS_AB)).toBe(2);
  });
});

describe("pulses", () => {
  it("debounce: edges within debounce_ms of the last accepted edge on a channel are ignored, not noise", async () => {
    const pulses = pulsesOf([{ direction: "ab", tMs: 1000, kmh: 20 }])
      .flatMap((p) => [p, { channel: p.channel, tMs: p.tMs + 5 }, { channel: p.channel, tMs: p.tMs + 25 }])
      .sort((p, q) => p.tMs - q.tMs);
    const { results, noise } = await feed(pulses);
    expect(count(results, PASS_AB)).toBe(1);
    expect(noise).toBe(0);
  });

  it("debounce is per channel", async () => {
    // B 10 ms after A is no bounce, just a wheel too fast to pair: A stays pending and pairs later.
    const { results } = await feed([
      { channel: 0, tMs: 0 },
      { channel: 1, tMs: 10 },
      { channel: 1, tMs: 200 },
    ]);
    expect(results).toEqual([PULSE_NONE, PULSE_NONE, PASS_AB]);
  });

  it("single spikes are noise, reported once they expire", async () => {
    const det = await loadDetector();
    expect(det.pulse(0, 1000)).toBe(PULSE_NONE);
    expect(det.takeNoise()).toBe(0);
    expect(det.pulse(1, 5000)).toBe(PULSE_NONE);
    expect(det.takeNoise()).toBe(1);
    expect(det.takeNoise()).toBe(0);
  });

  it("pulses on channels other than A and B are noise", async () => {
    const det = await loadDetector();
    expect(det.pulse(2, 100)).toBe(PULSE_NONE);
    expect(det.pulse(0xffffffff, 200)).toBe(PULSE_NONE);
    expect(det.takeNoise()).toBe(2);
  });

  it("a pass across the wrap of the millisecond counter counts once", async () => {
    const pulses = pulsesOf([{ direction: "ba", tMs: 2 ** 32 - 150, kmh: 20 }]).map((p) => ({
      channel: p.channel,
      tMs: p.tMs >>> 0,
    }));
    expect(pulses[0]!.tMs).toBeGreaterThan(pulses[3]!.tMs);
    const { results } = await feed(pulses);
    expect(results).toEqual([PULSE_NONE, PASS_BA, PULSE_NONE, PULSE_NONE]);
  });

  it("reset forgets pending pulses", async () => {
    const det = await loadDetector();
    det.pulse(0, 1000);
    det.reset();
    expect(det.pulse(1, 1180)).toBe(PULSE_NONE);
  });

  it("the speed window follows the configuration", async () => {
    // 1 m at 20 km/h takes 180 ms: inside 5..50 km/h, outside 25..50 km/h.
    const pair: Pulse[] = [
      { channel: 0, tMs: 1000 },
      { channel: 1, tMs: 1180 },
    ];
    expect((await feed(pair)).results[1]).toBe(PASS_AB);
    expect((await feed(pair, { speedMinKmh: 25 })).results[1]).toBe(PULSE_NONE);
    expect((await feed(pair, { spacingMm: 500, speedMinKmh: 12 })).results[1]).toBe(PULSE_NONE);
  });

  it("never traps on configurations outside the validated ranges", async () => {
    const configs: [number, number, number, number][] = [
      [0, 0, 0, 0],
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [1000, 50, 5, 30],
      [100, 1, 100, 500],
    ];
    for (const [spacing, lo, hi, debounce] of configs) {
      const det = await loadDetector(DEFAULT_CONFIG);
      det.configure(spacing, lo, hi, debounce);
      const { passes } = runDetector(det, pulsesOf([{ direction: "ab", tMs: 1000, kmh: 20 }]));
      expect(passes.length).toBeLessThanOrEqual(2);
    }
  });
});
