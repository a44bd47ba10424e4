// Configuration downlinks (shared/PAYLOAD.md "FPort 10"): validated whole, applied all or nothing, acknowledged.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigResult, Counter, Flag, FPort } from "../../../firmware/host/abi.ts";
import {
  type ConfigEntries,
  cborHead,
  climateUplinks,
  configInForce,
  createNode,
  decodeClimate,
  encodeConfig,
  runUntil,
  statusUplinks,
  T0,
} from "./helpers.ts";

const NULL = -32768; // how the state region stores "no value"
const DEFAULTS = [0, 1, 5, 3600, 7200, 0, 0, NULL, NULL, 86400, 30000, 1000, 5, 50, 30, 24, 900];

const bytes = (...b: number[]) => Uint8Array.from(b);
const config = (entries: ConfigEntries) => encodeConfig(entries);

describe("configuration downlink", () => {
  it("applies a valid partial configuration and acknowledges it in the next status", async () => {
    const node = await createNode();
    runUntil(node, T0 + 10);
    expect(
      node.host.downlink(
        T0 + 10,
        FPort.config,
        config([
          [0, 42],
          [2, 10],
          [7, 3500],
          [8, -1000],
        ]),
      ),
    ).toBe(0);
    expect(configInForce(node.host)).toEqual(
      DEFAULTS.map((v, k) => ({ 0: 42, 2: 10, 7: 3500, 8: -1000 })[k] ?? v),
    );
    runUntil(node, T0 + 12 * 3600);
    const ack = statusUplinks(node)[1];
    expect(ack).toMatchObject({ cfgId: 42, cfgResult: 0 });
    expect(node.uplinks.find((u) => u.fport === FPort.status && u.builtAt === T0 + 10)).toBeDefined();
    // The sample taken before the change goes alone (a batch has one interval), then the new interval.
    const intervals = climateUplinks(node).map((u) => decodeClimate(u).intervalMin);
    expect(intervals[0]).toBe(5);
    expect(new Set(intervals.slice(1))).toEqual(new Set([10]));
  });

  const rejections: [string, Uint8Array, number][] = [
    ["not a map", bytes(0x82, 0x00, 0x01), ConfigResult.malformed],
    ["an indefinite-length map", bytes(0xbf, 0x00, 0x01, 0xff), ConfigResult.malformed],
    ["empty", bytes(), ConfigResult.malformed],
    ["trailing bytes", bytes(...config([[0, 5]]), 0x00), ConfigResult.malformed],
    ["a text key", bytes(0xa1, 0x61, 0x61, 0x01), ConfigResult.malformed],
    ["a negative key", bytes(0xa2, 0x00, 0x01, 0x20, 0x01), ConfigResult.malformed],
    ["a reserved additional information", bytes(0xa1, 0x00, 0x1c), ConfigResult.malformed],
    [
      "an unknown key",
      config([
        [0, 5],
        [17, 1],
      ]),
      ConfigResult.unknownKey,
    ],
    [
      "a large unknown key",
      bytes(...cborHead(5, 2), 0x00, 0x05, ...cborHead(0, 2 ** 40), 0x01),
      ConfigResult.unknownKey,
    ],
    [
      "an interval below range",
      config([
        [0, 5],
        [2, 0],
      ]),
      ConfigResult.outOfRange,
    ],
    [
      "an interval above range",
      config([
        [0, 5],
        [2, 61],
      ]),
      ConfigResult.outOfRange,
    ],
    ["cfg_id 0", config([[0, 0]]), ConfigResult.outOfRange],
    ["cfg_id 65536", config([[0, 65536]]), ConfigResult.outOfRange],
    [
      "a bin length not dividing a day",
      config([
        [0, 5],
        [16, 700],
      ]),
      ConfigResult.outOfRange,
    ],
    [
      "stuck_count 2",
      config([
        [0, 5],
        [15, 2],
      ]),
      ConfigResult.outOfRange,
    ],
    ["a 64-bit value", bytes(0xa2, 0x00, 0x05, 0x02, ...cborHead(0, 2 ** 33 + 300)), ConfigResult.outOfRange],
    [
      "a huge negative value",
      bytes(0xa2, 0x00, 0x05, 0x05, ...cborHead(1, 2 ** 40)),
      ConfigResult.outOfRange,
    ],
    [
      "-32768 as an alert (not null)",
      config([
        [0, 5],
        [7, -32768],
      ]),
      ConfigResult.outOfRange,
    ],
    ["oversized", bytes(...config([[0, 5]]), ...new Array(63).fill(0)), ConfigResult.oversized],
    [
      "speed_min ≥ speed_max",
      config([
        [0, 5],
        [12, 30],
        [13, 30],
      ]),
      ConfigResult.inconsistent,
    ],
    [
      "alert low ≥ high",
      config([
        [0, 5],
        [7, 2000],
        [8, 2000],
      ]),
      ConfigResult.inconsistent,
    ],
    ["a text value", bytes(0xa2, 0x00, 0x05, 0x02, 0x61, 0x61), ConfigResult.wrongType],
    ["a float value", bytes(0xa2, 0x00, 0x05, 0x02, 0xf9, 0x3c, 0x00), ConfigResult.wrongType],
    ["a boolean value", bytes(0xa2, 0x00, 0x05, 0x02, 0xf5), ConfigResult.wrongType],
    [
      "null for a non-nullable key",
      config([
        [0, 5],
        [2, null],
      ]),
      ConfigResult.wrongType,
    ],
    ["no cfg_id", config([[2, 10]]), ConfigResult.cfgIdMissing],
    ["an empty map", bytes(0xa0), ConfigResult.cfgIdMissing],
    [
      "a duplicate key",
      config([
        [0, 5],
        [2, 10],
        [2, 10],
      ]),
      ConfigResult.duplicateKey,
    ],
  ];

  it.each(rejections)(
    "rejects %s, keeps the configuration and acknowledges the result",
    async (_, payload, code) => {
      const node = await createNode({
        config: [
          [0, 9],
          [2, 2],
        ],
      });
      runUntil(node, T0 + 10);
      const before = configInForce(node.host);
      const rejectedBefore = node.host.counter(Counter.downlinksRejected);
      expect(node.host.downlink(T0 + 20, FPort.config, payload)).toBe(code);
      expect(configInForce(node.host)).toEqual(before);
      expect(node.host.counter(Counter.downlinksRejected)).toBe(rejectedBefore + 1);
      expect(node.host.status() & Flag.configRejected).not.toBe(0);
      runUntil(node, T0 + 30);
      const ack = statusUplinks(node).at(-1);
      expect(ack?.cfgResult).toBe(code);
      expect((ack?.flags ?? 0) & Flag.configRejected).not.toBe(0);
      if (code === ConfigResult.oversized) expect((ack?.flags ?? 0) & Flag.downlinkInvalid).not.toBe(0);
    },
  );

  it("names the cfg_id of a rejected configuration when it could read one", async () => {
    const node = await createNode();
    expect(
      node.host.downlink(
        T0,
        FPort.config,
        config([
          [0, 77],
          [2, 61],
        ]),
      ),
    ).toBe(ConfigResult.outOfRange);
    runUntil(node, T0 + 1);
    expect(statusUplinks(node).at(-1)).toMatchObject({ cfgId: 77, cfgResult: ConfigResult.outOfRange });
  });

  it("rejects every truncation of a valid configuration as malformed", async () => {
    const node = await createNode();
    const full = config([
      [0, 300],
      [2, 10],
      [3, 7200],
      [5, -150],
      [7, 3500],
      [10, 600000],
    ]);
    const before = configInForce(node.host);
    for (let len = 0; len < full.length; len++) {
      expect(node.host.downlink(T0, FPort.config, full.subarray(0, len)), `length ${len}`).toBe(
        ConfigResult.malformed,
      );
    }
    expect(configInForce(node.host)).toEqual(before);
    expect(node.host.downlink(T0, FPort.config, full)).toBe(ConfigResult.applied);
  });

  it("reports a downlink on another port as invalid, with result 255", async () => {
    const node = await createNode();
    expect(node.host.downlink(T0, 11, config([[0, 5]]))).toBe(ConfigResult.unknownPort);
    expect(node.host.status() & Flag.downlinkInvalid).not.toBe(0);
  });

  it("never applies random bytes partially and never traps on them", async () => {
    const node = await createNode({ config: [[0, 3]] });
    const before = configInForce(node.host);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 200 }), (payload, extra) => {
        const result = node.host.downlink(T0, FPort.config, payload);
        expect([0, 1, 2, 3, 4, 5, 6, 7, 8]).toContain(result);
        if (payload.length > 64) expect(result).toBe(ConfigResult.oversized);
        if (result !== 0) expect(configInForce(node.host)).toEqual(before);
        else before.splice(0, 17, ...configInForce(node.host));
        node.host.tick(T0 + extra);
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts random valid configurations in any key order", async () => {
    const node = await createNode();
    const entry = fc.oneof(
      fc.tuple(fc.constant(2), fc.integer({ min: 1, max: 60 })),
      fc.tuple(fc.constant(3), fc.integer({ min: 60, max: 86400 })),
      fc.tuple(fc.constant(5), fc.integer({ min: -1000, max: 1000 })),
      fc.tuple(fc.constant(6), fc.integer({ min: -2000, max: 2000 })),
      fc.tuple(fc.constant(9), fc.integer({ min: 3600, max: 604800 })),
      fc.tuple(fc.constant(15), fc.constantFrom(0, 3, 100, 255)),
      fc.tuple(fc.constant(16), fc.constantFrom(300, 600, 900, 1200, 1800, 3600)),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(entry, { selector: ([k]) => k }),
        fc.integer({ min: 1, max: 65535 }),
        (entries, id) => {
          const all: ConfigEntries = [...entries, [0, id]];
          expect(node.host.downlink(T0, FPort.config, config(all))).toBe(0);
          const now = configInForce(node.host);
          for (const [k, v] of all) expect(now[k]).toBe(v);
        },
      ),
      { numRuns: 300 },
    );
  });
});
