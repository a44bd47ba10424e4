// The committed vectors against cbor-x alone, the reference encoder and the reference decoder.
import { decode } from "cbor-x";
import { describe, expect, it } from "vitest";
import {
  applyConfig,
  CONFIG_KEYS,
  DEFAULT_CONFIG,
  decodeConfig,
  decodeUplink,
  encodeBike,
  encodeClimate,
  encodeConfig,
  encodeStatus,
  PayloadError,
} from "../../../shared/payload/index.ts";
import type { BikeBatch, ClimateBatch, ClimateInput, NodeStatus } from "../../../shared/payload/types.ts";
import { bytesOf, INVALID, VALID, type ValidVector } from "./helpers.ts";

function encode(v: ValidVector): Uint8Array {
  switch (v.fport) {
    case 1:
      return encodeClimate(v.input);
    case 2:
      return encodeBike(v.input);
    case 3:
      return encodeStatus(v.input);
    case 10:
      return encodeConfig(v.input);
  }
}

function decodeAny(fport: number, bytes: Uint8Array): unknown {
  return fport === 10 ? decodeConfig(bytes) : decodeUplink(fport, bytes);
}

/** PAYLOAD.md "Trend and residuals": trunc((v_last − v_first) / (p_last − p_first)), 0 below 2 values. */
function slopeOf(values: (number | null)[]): number {
  const valid = values.flatMap((v, p) => (v === null ? [] : [{ p, v }]));
  if (valid.length < 2) return 0;
  const first = valid[0]!;
  const last = valid.at(-1)!;
  return Math.trunc((last.v - first.v) / (last.p - first.p)) + 0; // + 0 turns -0 into 0
}

/** The CBOR structure PAYLOAD.md prescribes for an input, built without project code (residuals aside). */
function expectedClimateHead(input: ClimateInput): unknown[] {
  const mask = (values: (number | null)[]) =>
    values.reduce<number>((m, v, i) => m + (v === null ? 2 ** i : 0), 0);
  const first = (values: (number | null)[]) => values.find((v) => v !== null) ?? null;
  const tm = mask(input.temperatures);
  const hm = mask(input.humidities);
  const head = [1, input.temperatures.length, input.intervalMin, input.ageS, first(input.temperatures)];
  const slopes = [slopeOf(input.temperatures), slopeOf(input.humidities)];
  const tail = [input.batteryMv, ...(tm === 0 && hm === 0 ? [] : [tm, hm])];
  return [...head, first(input.humidities), ...slopes, "residuals", ...tail];
}

describe("payload vectors", () => {
  it("cover every message kind and the cases PAYLOAD.md names", () => {
    expect(VALID.length).toBeGreaterThanOrEqual(30);
    for (const fport of [1, 2, 3, 10]) expect(VALID.some((v) => v.fport === fport)).toBe(true);
    expect(new Set(VALID.map((v) => v.name)).size).toBe(VALID.length);
    expect(new Set(INVALID.map((v) => v.name)).size).toBe(INVALID.length);
  });

  it("cover trends up and down, slopes across gaps and truncation toward zero", () => {
    const climates = VALID.flatMap((v) => (v.fport === 1 ? [v.input] : []));
    const channels = climates.flatMap((c) => [c.temperatures, c.humidities]);
    const hasGap = (values: (number | null)[]) => {
      const valid = values.flatMap((v, p) => (v === null ? [] : [p]));
      return valid.some((p, j) => j > 0 && p - valid[j - 1]! > 1);
    };
    /** (v_last − v_first) / (p_last − p_first) is negative and not an integer: trunc and floor differ. */
    const truncatesNegative = (values: (number | null)[]) => {
      const valid = values.flatMap((v, p) => (v === null ? [] : [{ p, v }]));
      if (valid.length < 2) return false;
      const q = (valid.at(-1)!.v - valid[0]!.v) / (valid.at(-1)!.p - valid[0]!.p);
      return q < 0 && Math.trunc(q) !== Math.floor(q);
    };
    expect(channels.some((c) => slopeOf(c) > 0)).toBe(true);
    expect(channels.some((c) => slopeOf(c) < 0)).toBe(true);
    expect(channels.some((c) => slopeOf(c) !== 0 && hasGap(c))).toBe(true);
    expect(channels.some((c) => truncatesNegative(c))).toBe(true);
    expect(channels.some((c) => truncatesNegative(c) && hasGap(c))).toBe(true);
    expect(climates.some((c) => c.intervalMin === 1)).toBe(true);
    expect(climates.some((c) => c.intervalMin === 60)).toBe(true);
  });

  describe.each(VALID.map((v) => [v.name, v] as const))("%s", (_name, v) => {
    const bytes = bytesOf(v.hex);

    it("is one standard CBOR item that cbor-x reads with the prescribed structure", () => {
      const raw = decode(bytes);
      if (v.fport === 1) {
        expect(Array.isArray(raw)).toBe(true);
        const expected = expectedClimateHead(v.input);
        expect(raw.length).toBe(expected.length);
        expected.forEach((e, i) => {
          if (e === "residuals") expect(raw[i]).toBeInstanceOf(Uint8Array);
          else expect(raw[i]).toBe(e);
        });
      } else if (v.fport === 2) {
        expect(raw).toEqual([1, v.input.binS, v.input.ageS, v.input.bins.flatMap((b) => [b.ab, b.ba])]);
      } else if (v.fport === 3) {
        const s = v.input;
        expect(raw).toEqual([
          1,
          s.fwVersion,
          s.uptimeS,
          s.resetCause,
          s.batteryMv,
          s.flags,
          s.cfgId,
          s.cfgResult,
          s.dropped,
          s.noisePulses,
        ]);
      } else {
        const expected: Record<string, number | null> = {};
        for (const k of CONFIG_KEYS) {
          const value = v.input[k.field];
          if (value !== undefined) expected[k.key] = value;
        }
        expect(raw).toEqual(expected);
        expect(Object.keys(raw).map(Number)).toEqual(Object.keys(expected).map(Number));
      }
    });

    it("is what the reference encoder writes for its input", () => {
      expect(Buffer.from(encode(v)).toString("hex")).toBe(v.hex);
    });

    it("decodes to the committed JSON", () => {
      expect(JSON.parse(JSON.stringify(decodeAny(v.fport, bytes)))).toEqual(v.decoded);
    });

    it("decodes every value at full resolution", () => {
      const decoded = decodeAny(v.fport, bytes);
      if (v.fport === 1) {
        const c = decoded as ClimateBatch;
        expect(
          c.samples.map((s) => (s.temperatureC === null ? null : Math.round(s.temperatureC * 100))),
        ).toEqual(v.input.temperatures);
        expect(
          c.samples.map((s) => (s.humidityPct === null ? null : Math.round(s.humidityPct * 100))),
        ).toEqual(v.input.humidities);
        // The numbers are the nearest doubles to the centi-values, so they print as two decimals at most.
        for (const s of c.samples) {
          if (s.temperatureC !== null) expect(s.temperatureC).toBe(Math.round(s.temperatureC * 100) / 100);
        }
        expect(c.batteryMv).toBe(v.input.batteryMv);
        const n = v.input.temperatures.length;
        expect(c.samples[n - 1]!.secondsBeforeUplink).toBe(v.input.ageS);
        expect(c.samples[0]!.secondsBeforeUplink).toBe(v.input.ageS + (n - 1) * 60 * v.input.intervalMin);
        expect([c.intervalMin, c.intervalS]).toEqual([v.input.intervalMin, 60 * v.input.intervalMin]);
        expect([c.tSlope * 100, c.hSlope * 100].map(Math.round)).toEqual([
          slopeOf(v.input.temperatures),
          slopeOf(v.input.humidities),
        ]);
      } else if (v.fport === 2) {
        const b = decoded as BikeBatch;
        expect(b.bins.map(({ ab, ba }) => ({ ab, ba }))).toEqual(v.input.bins);
        expect(b.bins.at(-1)!.endSecondsBeforeUplink).toBe(v.input.ageS);
        for (const bin of b.bins)
          expect(bin.startSecondsBeforeUplink - bin.endSecondsBeforeUplink).toBe(v.input.binS);
      } else if (v.fport === 3) {
        const s = decoded as NodeStatus;
        const fw = v.input.fwVersion;
        expect(s.fwVersion).toBe(`${fw >> 16}.${(fw >> 8) & 255}.${fw & 255}`);
        expect([s.uptimeS, s.batteryMv, s.flags, s.cfgId, s.cfgResult, s.dropped, s.noisePulses]).toEqual([
          v.input.uptimeS,
          v.input.batteryMv,
          v.input.flags,
          v.input.cfgId,
          v.input.cfgResult,
          v.input.dropped,
          v.input.noisePulses,
        ]);
      } else {
        expect(decoded).toEqual({ kind: "config", values: v.input });
      }
    });
  });

  it("configuration vectors apply on the defaults", () => {
    for (const v of VALID) {
      if (v.fport !== 10) continue;
      const applied = applyConfig(DEFAULT_CONFIG, bytesOf(v.hex));
      expect(applied.result, v.name).toBe(0);
      expect(applied.config).toEqual({ ...DEFAULT_CONFIG, ...v.input });
      expect(applied.cfgId).toBe(v.input.cfgId);
    }
  });
});

describe("invalid vectors", () => {
  it.each(INVALID.map((v) => [v.name, v] as const))("%s is rejected", (_name, v) => {
    const bytes = bytesOf(v.hex);
    let caught: unknown;
    try {
      decodeAny(v.fport, bytes);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PayloadError);
    const err = caught as PayloadError;
    expect(err.message).toContain(v.error);
    expect(err.message).not.toContain("\n");
    if (v.fport === 10) {
      expect(err.code).toBe(v.code);
      const applied = applyConfig(DEFAULT_CONFIG, bytes);
      expect([applied.result, applied.cfgId, applied.config]).toEqual([v.code, v.cfgId, DEFAULT_CONFIG]);
    }
  });
});
