// shared/codec/ttn-codec.js: plain ES5, loadable as a network server loads it, and in step with the
// reference decoder on every vector.
import { transformSync } from "esbuild";
import { describe, expect, it } from "vitest";
import { decodeConfig, decodeUplink, encodeConfig } from "../../../shared/payload/index.ts";
import { bytesOf, CODEC_SOURCE, codecOutcome, INVALID, loadCodec, outcome, VALID } from "./helpers.ts";

const codec = loadCodec();

function viaCodec(fport: number, hex: string) {
  const bytes = [...bytesOf(hex)];
  const input = { bytes, fPort: fport };
  return codecOutcome(fport === 10 ? codec.decodeDownlink(input) : codec.decodeUplink(input));
}

function viaTs(fport: number, hex: string) {
  const bytes = bytesOf(hex);
  return outcome(() => (fport === 10 ? decodeConfig(bytes) : decodeUplink(fport, bytes)));
}

describe("ttn-codec.js is ES5", () => {
  it("has no syntax that needs a later edition", () => {
    // esbuild refuses to lower let/const, classes, for-of, destructuring and default parameters to ES5.
    expect(() => transformSync(CODEC_SOURCE, { target: "es5", loader: "js" })).not.toThrow();
    const code = CODEC_SOURCE.replace(/\/\/.*$/gm, "").replace(/"(?:[^"\\]|\\.)*"/g, '""');
    const forbidden = [
      /=>/,
      /`/,
      /\.\.\./,
      /\*\*/,
      /\b(let|const|class|of|async|await|yield|import|export)\b/,
      /\b(Uint8Array|Int32Array|ArrayBuffer|DataView|Map|Set|WeakMap|Symbol|Promise|Proxy|Reflect|BigInt)\b/,
      /\.(includes|fill|find|findIndex|startsWith|endsWith|repeat|padStart|padEnd|assign|entries|values)\(/,
      /\b(Number\.isInteger|Number\.isSafeInteger|Math\.trunc|Array\.from|Array\.of|Object\.values)\b/,
    ];
    for (const pattern of forbidden) expect(code, String(pattern)).not.toMatch(pattern);
  });

  it("defines the Payload Codec API functions as globals", () => {
    expect(CODEC_SOURCE).toMatch(/^function decodeUplink\(input\) \{$/m);
    expect(CODEC_SOURCE).toMatch(/^function decodeDownlink\(input\) \{$/m);
    expect(CODEC_SOURCE).toMatch(/^function encodeDownlink\(input\) \{$/m);
  });
});

describe("ttn-codec.js decodes like shared/payload", () => {
  it.each(VALID.map((v) => [v.name, v] as const))("%s", (_name, v) => {
    const result = viaCodec(v.fport, v.hex);
    expect(result).toEqual({ data: v.decoded });
    const full = v.fport === 10 ? codec.decodeDownlink : codec.decodeUplink;
    expect(full({ bytes: [...bytesOf(v.hex)], fPort: v.fport })).toMatchObject({ warnings: [], errors: [] });
  });

  it.each(INVALID.map((v) => [v.name, v] as const))("rejects %s with the same message", (_name, v) => {
    const result = viaCodec(v.fport, v.hex);
    expect(result).toEqual(viaTs(v.fport, v.hex));
    expect("error" in result && result.error).toContain(v.error);
  });

  it("rejects ports that carry no uplink, and uplink ports as downlinks", () => {
    for (const fport of [0, 4, 10, 224]) expect(viaCodec(fport, "80")).toEqual(viaTs(fport, "80"));
    expect(codec.decodeDownlink({ bytes: [0xa0], fPort: 1 }).errors[0]).toContain("configuration uses 10");
    expect(codec.decodeUplink({ fPort: 1 } as never).errors[0]).toBe("input.bytes is missing");
  });

  it("accepts longer integer heads than needed, like cbor-x", () => {
    // status-boot with fw_version in an 8-byte head and battery_mV in a 4-byte head
    const hex = "8a011b000000000001000005001a00000ce40000000000";
    expect(viaTs(3, hex)).toEqual({ data: VALID.find((v) => v.name === "status-boot")!.decoded });
    expect(viaCodec(3, hex)).toEqual(viaTs(3, hex));
    // climate-slope-truncation with t_slope -2 in a 4-byte head and h_slope 2 in an 8-byte head
    const climate = "8a01040501190834191388" + "3a00000001" + "1b0000000000000002" + "43004c00190bc2";
    const decoded = VALID.find((v) => v.name === "climate-slope-truncation")!.decoded;
    expect(viaTs(1, climate)).toEqual({ data: decoded });
    expect(viaCodec(1, climate)).toEqual(viaTs(1, climate));
  });
});

describe("ttn-codec.js encodeDownlink", () => {
  it("writes the canonical bytes of every configuration vector", () => {
    for (const v of VALID) {
      if (v.fport !== 10) continue;
      const result = codec.encodeDownlink({ data: v.input });
      expect(result).toEqual({ bytes: [...bytesOf(v.hex)], fPort: 10, warnings: [], errors: [] });
      expect(codec.encodeDownlink({ data: { kind: "config", values: v.input } }).bytes).toEqual(result.bytes);
    }
  });

  it("refuses a configuration the node would reject", () => {
    expect(codec.encodeDownlink({ data: { cfgId: 1, climateIntervalMin: 0 } }).errors).toEqual([
      "configuration: key 2 (climate_interval_min) is 0, outside 1..60",
    ]);
    expect(codec.encodeDownlink({ data: { cfgId: 1, climateIntervalMin: 300 } }).errors).toEqual([
      "configuration: key 2 (climate_interval_min) is 300, outside 1..60",
    ]);
    expect(codec.encodeDownlink({ data: { cfgId: 1, climateIntervalS: 300 } }).errors).toEqual([
      "configuration input: unknown field climateIntervalS",
    ]);
    expect(codec.encodeDownlink({ data: { cfgId: 1, interval: 300 } }).errors).toEqual([
      "configuration input: unknown field interval",
    ]);
    expect(codec.encodeDownlink({ data: { cfgId: 1.5 } }).errors[0]).toContain("must be an integer or null");
    expect(codec.encodeDownlink({ data: { climateIntervalMin: 5 } }).errors).toEqual([
      "configuration: cfg_id (key 0) is missing",
    ]);
    expect([...encodeConfig({ climateIntervalMin: 5 })]).toEqual([0xa1, 0x02, 0x05]);
  });
});
