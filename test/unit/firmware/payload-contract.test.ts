// The firmware's uplinks against the reference codec of shared/payload: they decode, and the TypeScript
// encoder produces the same bytes from the same values (shared/PAYLOAD.md "Principles": canonical encoding).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FPort } from "../../../firmware/host/abi.ts";
import {
  applyConfig,
  DEFAULT_CONFIG,
  decodeUplink,
  encodeBike,
  encodeClimate,
  encodeStatus,
} from "../../../shared/payload/index.ts";
import {
  cborHead,
  cborInt,
  createNode,
  decodeBike,
  decodeClimate,
  decodeStatus,
  runUntil,
  T0,
  traffic,
} from "./helpers.ts";

describe("uplinks and the reference codec", () => {
  it("agree byte for byte over a varied day", async () => {
    const node = await createNode({
      sf: 9,
      maxPayload: 115,
      config: [
        [1, 3],
        [2, 2],
        [3, 7200],
        [15, 4],
      ],
    });
    node.sensors.model = (channel, now) => {
      const i = (now - T0) / 120;
      if (channel === 2) return { err: i % 11 === 0 ? 4 : 0, value: 3600 + (i % 50) };
      if (i % 17 === 5) return { err: 2, value: 0 };
      const value =
        channel === 0 ? 1500 + Math.round(400 * Math.sin(i / 40)) + (i % 3) : 6000 - ((i * 37) % 900);
      return { err: 0, value: i % 23 === 0 ? 20_000 : value };
    };
    runUntil(node, T0 + 86_400, { passes: traffic(T0 + 30, T0 + 86_400, 211) });
    const kinds = new Set(node.uplinks.map((u) => u.fport));
    expect(kinds).toEqual(new Set([FPort.climate, FPort.bike, FPort.status]));
    for (const u of node.uplinks) {
      expect(() => decodeUplink(u.fport, u.bytes)).not.toThrow();
      if (u.fport === FPort.climate) {
        const b = decodeClimate(u);
        const again = encodeClimate({
          intervalMin: b.intervalMin,
          ageS: b.ageS,
          batteryMv: b.batteryMv,
          temperatures: b.temperature,
          humidities: b.humidity,
        });
        expect(Buffer.from(u.bytes).toString("hex")).toBe(Buffer.from(again).toString("hex"));
      } else if (u.fport === FPort.bike) {
        const b = decodeBike(u);
        const again = encodeBike({
          binS: b.binS,
          ageS: b.ageS,
          bins: b.counts.map(([ab, ba]) => ({ ab, ba })),
        });
        expect(Buffer.from(u.bytes).toString("hex")).toBe(Buffer.from(again).toString("hex"));
      } else {
        expect(Buffer.from(u.bytes).toString("hex")).toBe(
          Buffer.from(encodeStatus(decodeStatus(u))).toString("hex"),
        );
      }
    }
  });

  it("agree on the result code and echoed cfg_id of any configuration downlink", async () => {
    const node = await createNode();
    const entry = fc.tuple(
      fc.oneof(fc.integer({ min: 0, max: 18 }), fc.integer({ min: 0, max: 2 ** 40 })),
      fc.oneof(
        fc.integer({ min: -5000, max: 700_000 }),
        fc.constant(null),
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      ),
    );
    const map = fc.array(entry, { maxLength: 12 }).map((entries) => {
      const out = cborHead(5, entries.length);
      for (const [k, v] of entries) out.push(...cborHead(0, k), ...cborInt(v));
      return Uint8Array.from(out);
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 70 }), map), (bytes) => {
        node.host.init(T0, 0);
        const reference = applyConfig(DEFAULT_CONFIG, bytes);
        expect(node.host.downlink(T0, FPort.config, bytes)).toBe(reference.result);
        const status = node.host.uplinkBuild(T0);
        expect(status && decodeStatus(status)).toMatchObject({
          cfgId: reference.cfgId,
          cfgResult: reference.result,
        });
      }),
      { numRuns: 3000 },
    );
  });
});
