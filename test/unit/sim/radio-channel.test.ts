import { describe, expect, it } from "vitest";
import { Random } from "../../../tools/sim/models/random.ts";
import {
  noiseFloorDbm,
  pathLossDb,
  RadioChannel,
  rangeM,
  SENSITIVITY_DBM,
  sensitivityDbm,
  snrDb,
} from "../../../tools/sim/radio-channel.ts";

describe("path loss and receiver", () => {
  it("log-distance: free space at 1 m, 30 dB per decade", () => {
    expect(pathLossDb(1)).toBeCloseTo(31.2, 9);
    expect(pathLossDb(0.2)).toBeCloseTo(31.2, 9);
    expect(pathLossDb(10) - pathLossDb(1)).toBeCloseTo(30, 9);
    expect(pathLossDb(1000)).toBeCloseTo(121.2, 9);
    expect(
      pathLossDb(1000, {
        referenceLossDb: 40,
        referenceDistanceM: 1,
        exponent: 2,
        shadowingSdDb: 0,
        fadingSdDb: 0,
      }),
    ).toBeCloseTo(100, 9);
  });

  it("sensitivity per SF (SX1276, 125 kHz), noise floor and SNR", () => {
    expect([7, 8, 9, 10, 11, 12].map(sensitivityDbm)).toEqual([-123, -126, -129, -132, -134.5, -137]);
    expect(() => sensitivityDbm(6)).toThrow(RangeError);
    expect(noiseFloorDbm(125)).toBeCloseTo(-117.03, 2);
    expect(snrDb(-120)).toBeCloseTo(-2.97, 2);
    expect(snrDb(-40)).toBe(13.5);
    // Each SF step reaches further.
    const ranges = Object.keys(SENSITIVITY_DBM).map((sf) => rangeM(Number(sf)));
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!).toBeGreaterThan(ranges[i - 1]!);
    expect(rangeM(7)).toBeGreaterThan(3000);
    expect(rangeM(7)).toBeLessThan(4000);
  });
});

describe("RadioChannel", () => {
  const sites = [
    { id: "near", position: { x: 0, y: 0 } },
    { id: "far", position: { x: 50_000, y: 0 } },
  ];

  it("a site hears a node in range, not one beyond; RSSI falls with distance", () => {
    const channel = new RadioChannel({ sites, model: { shadowingSdDb: 0, fadingSdDb: 0 } });
    channel.addNode("n", new Random(1));
    const heard = channel.transmit("n", { x: 500, y: 0 }, 7, 14, new Random(2));
    expect(heard.map((h) => h.siteIndex)).toEqual([0]);
    expect(heard[0]!.rssiDbm).toBeCloseTo(14 - pathLossDb(500), 9);
    expect(heard[0]!.snrDb).toBeCloseTo(snrDb(14 - pathLossDb(500)), 9);
    // At the edge of SF7 but within SF12.
    const edge = { x: rangeM(7) * 1.5, y: 0 };
    expect(channel.transmit("n", edge, 7, 14, new Random(3))).toEqual([]);
    expect(channel.transmit("n", edge, 12, 14, new Random(3))).toHaveLength(1);
  });

  it("loses frames at the given rate, independently per site, deterministically", () => {
    const both = [sites[0]!, { id: "b", position: { x: 100, y: 0 } }];
    const channel = new RadioChannel({ sites: both, loss: 0.1 });
    channel.addNode("n", new Random(1));
    const run = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 4000 }, () => channel.transmit("n", { x: 50, y: 0 }, 7, 14, random).length);
    };
    const counts = run(9);
    const lostPerSite = counts.reduce((sum, n) => sum + (2 - n), 0) / (2 * counts.length);
    expect(lostPerSite).toBeGreaterThan(0.08);
    expect(lostPerSite).toBeLessThan(0.12);
    const neither = counts.filter((n) => n === 0).length / counts.length;
    expect(neither).toBeLessThan(0.02); // ≈ 0.1²
    expect(run(9)).toEqual(counts);
    expect(() => new RadioChannel({ sites, loss: 1.5 })).toThrow(RangeError);
  });
});
