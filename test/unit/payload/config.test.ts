// Configuration downlinks: the order of checks of PAYLOAD.md "Checking a configuration", the cfg_id echo,
// and all-or-nothing application.
import { describe, expect, it } from "vitest";
import {
  applyConfig,
  CborWriter,
  DEFAULT_CONFIG,
  decodeConfig,
  encodeConfig,
  type NodeConfig,
} from "../../../shared/payload/index.ts";

function map(pairs: Array<[number, number | null]>): Uint8Array {
  const w = new CborWriter().map(pairs.length);
  for (const [k, v] of pairs) w.int(k).intOrNull(v);
  return w.finish();
}

function result(bytes: Uint8Array, current: NodeConfig = DEFAULT_CONFIG) {
  const a = applyConfig(current, bytes);
  return [a.result, a.cfgId];
}

describe("applyConfig", () => {
  it("applies a valid downlink over the configuration in force", () => {
    const first = applyConfig(DEFAULT_CONFIG, encodeConfig({ cfgId: 9, climateIntervalMin: 10 }));
    expect(first).toMatchObject({ result: 0, resultName: "applied", message: null, cfgId: 9 });
    const second = applyConfig(first.config, encodeConfig({ cfgId: 10, alertTHigh: 3000 }));
    expect(second.config).toEqual({ ...DEFAULT_CONFIG, cfgId: 10, climateIntervalMin: 10, alertTHigh: 3000 });
  });

  it("checks consistency against the configuration in force, which decodeConfig cannot know", () => {
    const bytes = encodeConfig({ cfgId: 3, speedMinKmh: 60 });
    expect(decodeConfig(bytes).values).toEqual({ cfgId: 3, speedMinKmh: 60 });
    const applied = applyConfig(DEFAULT_CONFIG, bytes);
    expect(applied).toMatchObject({
      result: 5,
      resultName: "inconsistent",
      cfgId: 3,
      config: DEFAULT_CONFIG,
    });
    expect(applied.message).toBe("configuration: speed_min_kmh 60 is not below speed_max_kmh 50");
    const low = applyConfig(
      { ...DEFAULT_CONFIG, alertTHigh: 1000 },
      encodeConfig({ cfgId: 4, alertTLow: 1000 }),
    );
    expect(low.result).toBe(5);
  });

  it("changes nothing when any entry fails", () => {
    const bytes = map([
      [0, 5],
      [2, 600],
      [3, 10],
    ]);
    expect(applyConfig(DEFAULT_CONFIG, bytes)).toMatchObject({ result: 3, config: DEFAULT_CONFIG });
  });

  it("reports structural faults before remembered ones, in byte order", () => {
    // unknown key first, then a text value: the text value stops the pass (6), the unknown key was only remembered
    const text = new CborWriter().map(3).int(0).int(1).int(99).int(1).int(2).raw([0x61, 0x78]).finish();
    expect(result(text)).toEqual([6, 1]);
    // out of range first, then a duplicate key
    expect(
      result(
        map([
          [0, 2],
          [2, 10],
          [0, 3],
        ]),
      ),
    ).toEqual([8, 2]);
    // a remembered fault outranks a missing cfg_id, a missing cfg_id outranks inconsistency
    expect(result(map([[99, 1]]))).toEqual([2, 0]);
    expect(result(map([[12, 60]]))).toEqual([7, 0]);
  });

  it("echoes key 0 only if it was read, valid, before the first failure", () => {
    expect(
      result(
        map([
          [0, 7],
          [99, 1],
        ]),
      ),
    ).toEqual([2, 7]);
    expect(
      result(
        map([
          [99, 1],
          [0, 7],
        ]),
      ),
    ).toEqual([2, 0]);
    expect(result(Uint8Array.from([...map([[0, 8]]), 0]))).toEqual([1, 8]);
    expect(result(Uint8Array.from([0xa2, 0x00, 0x08, 0x02]))).toEqual([1, 8]);
    expect(result(map([[0, 0]]))).toEqual([3, 0]);
    expect(result(map([[0, null]]))).toEqual([6, 0]);
  });

  it("treats a repeated key as a duplicate whatever the key", () => {
    expect(
      result(
        map([
          [0, 1],
          [40, 1],
          [40, 2],
        ]),
      ),
    ).toEqual([8, 1]);
    expect(
      result(
        map([
          [0, 1],
          [20, 1],
          [20, 2],
        ]),
      ),
    ).toEqual([8, 1]);
  });

  it("accepts integer heads longer than needed and keys in any order", () => {
    const bytes = Uint8Array.from([0xa2, 0x02, 0x1a, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x19, 0x00, 0x05]);
    expect(applyConfig(DEFAULT_CONFIG, bytes)).toMatchObject({ result: 0, cfgId: 5 });
    expect(applyConfig(DEFAULT_CONFIG, bytes).config.climateIntervalMin).toBe(10);
  });

  it("allows null only for the alert thresholds", () => {
    expect(
      result(
        map([
          [0, 1],
          [7, null],
          [8, null],
        ]),
      ),
    ).toEqual([0, 1]);
    for (const key of [1, 2, 5, 16])
      expect(
        result(
          map([
            [0, 1],
            [key, null],
          ]),
        ),
      ).toEqual([6, 1]);
  });

  it("holds the extra range rules of stuck_count and bike_bin_s", () => {
    for (const v of [0, 3, 255])
      expect(
        result(
          map([
            [0, 1],
            [15, v],
          ]),
        )[0],
      ).toBe(0);
    for (const v of [1, 2, 256])
      expect(
        result(
          map([
            [0, 1],
            [15, v],
          ]),
        )[0],
      ).toBe(3);
    for (const v of [300, 450, 900, 3600])
      expect(
        result(
          map([
            [0, 1],
            [16, v],
          ]),
        )[0],
      ).toBe(0);
    for (const v of [299, 700, 1000, 3601])
      expect(
        result(
          map([
            [0, 1],
            [16, v],
          ]),
        )[0],
      ).toBe(3);
  });

  it("writes keys in ascending order whatever the order of the fields", () => {
    const a = encodeConfig({ bikeBinS: 900, cfgId: 1, sensors: 3 });
    expect(Buffer.from(a).toString("hex")).toBe("a300010103101903" + "84");
    expect(() => encodeConfig({ cfgId: 1, nope: 1 } as never)).toThrow("unknown field nope");
  });
});
