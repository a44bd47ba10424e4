// Max payload per data rate and the daily airtime budget (hw/host-abi.md "Airtime", radio_set).
import { describe, expect, it } from "vitest";
import { Counter, Flag, FPort } from "../../../firmware/host/abi.ts";
import { createClimateModel } from "../../../tools/sim/models/climate.ts";
import {
  climateUplinks,
  createNode,
  decodeBike,
  decodeClimate,
  runUntil,
  T0,
  type TestNode,
  timeOnAirMs,
  traffic,
} from "./helpers.ts";

const DAY = 86_400;

/** Realistic sensors: the simulator's climate model (SHT4x-class noise). */
function useClimateModel(node: TestNode, seed: number): void {
  const model = createClimateModel({ seed });
  node.sensors.model = (channel, now) => {
    const r = model.at(now);
    return { err: 0, value: [r.temperatureCenti, r.humidityCenti, r.batteryMv][channel] ?? 0 };
  };
}

describe("max payload", () => {
  const rates: [number, number][] = [
    [12, 51],
    [11, 51],
    [10, 51],
    [9, 115],
    [8, 222],
    [7, 222],
  ];

  it.each(rates)("SF%i: every uplink fits %i bytes and batches fill it", async (sf, maxPayload) => {
    const node = await createNode({
      sf,
      maxPayload,
      config: [
        [1, 3],
        [2, 1],
        [3, 86400],
        [4, 86400],
        [10, 600000],
        [16, 300],
      ],
    });
    useClimateModel(node, sf);
    runUntil(node, T0 + DAY / 2, { passes: traffic(T0 + 1, T0 + DAY / 2, 97) });
    expect(node.uplinks.length).toBeGreaterThan(3);
    for (const u of node.uplinks) expect(u.bytes.length).toBeLessThanOrEqual(maxPayload);
    // Full batches are sent before the buffer overflows: nothing is dropped.
    expect(node.host.counter(Counter.dropped)).toBe(0);
    const climate = climateUplinks(node).map(decodeClimate);
    const bikes = node.uplinks.filter((u) => u.fport === FPort.bike).map(decodeBike);
    expect(climate.length).toBeGreaterThan(1);
    expect(bikes.length).toBeGreaterThan(0);
    // Batches are as large as the payload allows (32 items at most).
    const biggest = Math.max(...climate.map((b) => b.n));
    expect(biggest).toBe(maxPayload >= 115 ? 32 : biggest);
    expect(biggest).toBeGreaterThan(maxPayload >= 115 ? 31 : 10);
  });

  it("rejects invalid radio parameters and keeps the previous ones", async () => {
    const node = await createNode({
      sf: 9,
      maxPayload: 115,
      config: [
        [2, 1],
        [3, 7200],
      ],
    });
    for (const [sf, bw, max] of [
      [6, 125, 51],
      [13, 125, 51],
      [9, 200, 51],
      [9, 125, 10],
      [9, 125, 243],
      [-1, -1, -1],
    ]) {
      expect(node.host.radioSet(sf ?? 0, bw ?? 0, max ?? 0)).toBe(1);
    }
    expect(node.host.status() & Flag.radioInvalid).not.toBe(0);
    useClimateModel(node, 1);
    runUntil(node, T0 + 3 * 3600);
    expect(Math.max(...node.uplinks.map((u) => u.bytes.length))).toBeGreaterThan(51);
  });
});

describe("airtime", () => {
  it("computes time on air like AN1200.13 (rounded up to ms)", async () => {
    for (const [sf, bw] of [
      [7, 125],
      [9, 125],
      [11, 125],
      [12, 125],
      [12, 250],
      [7, 500],
    ] as const) {
      const node = await createNode({ sf, bwKhz: bw, maxPayload: 51 });
      runUntil(node, T0);
      const status = node.uplinks[0]!;
      expect(node.host.counter(Counter.airtimeMs)).toBe(Math.ceil(timeOnAirMs(status.bytes.length, sf, bw)));
    }
  });

  it("keeps the climate workload under 30 s a day at SF11, status included", async () => {
    const node = await createNode({ now: T0, sf: 11, maxPayload: 51 });
    useClimateModel(node, 7);
    runUntil(node, T0 + 3 * DAY);
    const perDay = [0, 1, 2].map((d) =>
      node.uplinks
        .filter((u) => u.builtAt >= T0 + d * DAY && u.builtAt < T0 + (d + 1) * DAY)
        .reduce((ms, u) => ms + timeOnAirMs(u.bytes.length, 11, 125), 0),
    );
    const uplinksPerDay = node.uplinks.filter(
      (u) => u.builtAt >= T0 + DAY && u.builtAt < T0 + 2 * DAY,
    ).length;
    console.info(
      `SF11 climate day: ${perDay.map((ms) => (ms / 1000).toFixed(1)).join(" s, ")} s; ${uplinksPerDay} uplinks`,
    );
    for (const ms of perDay) expect(ms).toBeLessThanOrEqual(30_000);
    expect(node.host.status() & Flag.airtimeBudgetExhausted).toBe(0);
    expect(node.host.counter(Counter.dropped)).toBe(0);
  });

  it("respects a tiny budget over a day, then resumes on the next budget day", async () => {
    const node = await createNode({ sf: 12, maxPayload: 51, config: [[10, 5000]] });
    useClimateModel(node, 3);
    runUntil(node, T0 + DAY - 1);
    const sent = node.uplinks.reduce((ms, u) => ms + Math.ceil(timeOnAirMs(u.bytes.length, 12, 125)), 0);
    expect(sent).toBeLessThanOrEqual(5000);
    expect(node.host.counter(Counter.airtimeMs)).toBe(sent);
    expect(node.host.status() & Flag.airtimeBudgetExhausted).not.toBe(0);
    // Data waited, up to the buffer, then the oldest were dropped.
    expect(node.host.counter(Counter.climatePending)).toBe(32);
    expect(node.host.counter(Counter.dropped)).toBeGreaterThan(0);
    // While blocked, the node sleeps until the next sample, not in a busy loop.
    const before = node.uplinks.length;
    runUntil(node, T0 + DAY + 60);
    expect(node.uplinks.length).toBeGreaterThan(before);
    expect(node.uplinks[before]?.builtAt).toBe(T0 + DAY);
  });
});
