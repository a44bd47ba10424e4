// Bicycle counts per direction in clock-aligned bins (shared/PAYLOAD.md "FPort 2"). The pass detection itself
// belongs to firmware/assembly/bike-detector.ts; these passes are single clean wheel crossings far apart.
import { describe, expect, it } from "vitest";
import { Counter, Flag, FPort } from "../../../firmware/host/abi.ts";
import { createNode, decodeBike, type Pass, runUntil, statusUplinks, T0 } from "./helpers.ts";

const BIKES_ONLY: [number, number][] = [[1, 2]];

describe("bicycle bins", () => {
  it("counts per direction in 15-minute bins aligned to the clock, empty bins included", async () => {
    const node = await createNode({ now: T0 + 100, config: BIKES_ONLY });
    const passes: Pass[] = [
      { atS: T0 + 200, first: 0 },
      { atS: T0 + 260, first: 0 },
      { atS: T0 + 899, first: 1 },
      { atS: T0 + 900, first: 1 },
      { atS: T0 + 2800, first: 0 },
    ];
    runUntil(node, T0 + 3 * 3600, { passes });
    const uplinks = node.uplinks.filter((u) => u.fport === FPort.bike);
    expect(uplinks.length).toBeGreaterThanOrEqual(1);
    const first = decodeBike(uplinks[0]!);
    expect(first.binS).toBe(900);
    expect(first.starts[0]).toBe(T0);
    expect(first.counts.slice(0, 4)).toEqual([
      [2, 1],
      [0, 1],
      [0, 0],
      [1, 0],
    ]);
    // Latency: the oldest bin's start is at most bike_latency_s (2 h) before the uplink.
    for (const u of uplinks) {
      const batch = decodeBike(u);
      expect(u.builtAt - (batch.starts[0] ?? 0)).toBe(7200);
      expect(batch.counts).toHaveLength(8);
    }
    expect(node.host.counter(Counter.passesAB)).toBe(3);
    expect(node.host.counter(Counter.passesBA)).toBe(2);
  });

  it("sends consecutive bins once each, in order", async () => {
    const node = await createNode({ config: [...BIKES_ONLY, [16, 300], [4, 3600]] });
    runUntil(node, T0 + 12 * 3600);
    const starts = node.uplinks.filter((u) => u.fport === FPort.bike).flatMap((u) => decodeBike(u).starts);
    expect(starts).toEqual(starts.map((_, i) => T0 + i * 300));
    expect(starts.length).toBeGreaterThan(100);
  });

  it("counts edges on other channels as noise and reports them", async () => {
    const node = await createNode({ config: BIKES_ONLY });
    node.host.pulse(2, 0, T0);
    node.host.pulse(7, 10, T0);
    expect(node.host.counter(Counter.noisePulses)).toBeGreaterThanOrEqual(2);
    expect(node.host.status() & Flag.bikeNoise).not.toBe(0);
    runUntil(node, T0 + 1);
    expect(statusUplinks(node).at(-1)?.noisePulses).toBe(node.host.counter(Counter.noisePulses));
  });

  it("ignores the bicycle channels when bicycles are not enabled", async () => {
    const node = await createNode();
    runUntil(node, T0 + 3 * 3600, { passes: [{ atS: T0 + 10, first: 0 }] });
    expect(node.host.counter(Counter.passesAB)).toBe(0);
    expect(node.uplinks.some((u) => u.fport === FPort.bike)).toBe(false);
  });
});
