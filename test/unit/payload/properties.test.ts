// Property tests: random sensor traces (with and without a trend) round-trip exactly through encode -> decode
// (TS and ES5), the encoder's slopes and residuals match an independent reading of PAYLOAD.md, both decoders
// reject every non-canonical slope, accept any Rice parameter, and arbitrary bytes only ever fail with a
// PayloadError, the same one in both decoders.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CborWriter } from "../../../shared/payload/cbor-write.ts";
import {
  applyConfig,
  type BikeInput,
  type ClimateBatch,
  type ClimateInput,
  CONFIG_KEYS,
  type ConfigPatch,
  DEFAULT_CONFIG,
  decodeConfig,
  decodeUplink,
  encodeBike,
  encodeClimate,
  encodeConfig,
  encodeStatus,
  MAX_CONFIG_BYTES,
  PayloadError,
  type StatusInput,
} from "../../../shared/payload/index.ts";
import { BitWriter, canonicalRiceK, zigzag } from "../../../shared/payload/rice.ts";
import { bytesOf, codecOutcome, loadCodec, outcome, VALID } from "./helpers.ts";

const codec = loadCodec();
const U32 = 0xffffffff;

const clamp = (v: number, min: number, max: number) => Math.min(max, Math.max(min, v));

/**
 * A random walk in [min, max]: a steady trend (often none) plus mostly small steps, sometimes a jump
 * anywhere in the range.
 */
function trace(n: number, min: number, max: number): fc.Arbitrary<(number | null)[]> {
  const step = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: -30, max: 30 }) },
    { weight: 1, arbitrary: fc.integer({ min: min - max, max: max - min }) },
  );
  const drift = fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.integer({ min: -80, max: 80 }) },
  );
  const gap = fc.oneof(
    { weight: 5, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  );
  return fc
    .tuple(
      fc.integer({ min, max }),
      drift,
      fc.array(step, { minLength: n, maxLength: n }),
      fc.array(gap, { minLength: n, maxLength: n }),
      fc.boolean(),
    )
    .map(([start, trend, steps, gaps, useGaps]) => {
      let v = start;
      return steps.map((s, i) => {
        v = clamp(v + trend + s, min, max);
        return useGaps && gaps[i] ? null : v;
      });
    });
}

const climateInput: fc.Arbitrary<ClimateInput> = fc.integer({ min: 1, max: 32 }).chain((n) =>
  fc.record({
    intervalMin: fc.integer({ min: 1, max: 60 }),
    ageS: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: U32 })),
    batteryMv: fc.option(fc.integer({ min: 0, max: 6000 }), { nil: null }),
    temperatures: trace(n, -4000, 8500),
    humidities: trace(n, 0, 10000),
  }),
);

const bikeInput: fc.Arbitrary<BikeInput> = fc.record({
  binS: fc.constantFrom(
    ...[300, 360, 400, 450, 480, 540, 600, 720, 800, 900, 960, 1200, 1800, 2400, 2700, 3600],
  ),
  ageS: fc.integer({ min: 0, max: U32 }),
  bins: fc.array(
    fc.record({
      ab: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: U32 })),
      ba: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: U32 })),
    }),
    { minLength: 1, maxLength: 32 },
  ),
});

const statusInput: fc.Arbitrary<StatusInput> = fc.record({
  fwVersion: fc.integer({ min: 0, max: 0xffffff }),
  uptimeS: fc.integer({ min: 0, max: U32 }),
  resetCause: fc.integer({ min: 0, max: 5 }),
  batteryMv: fc.option(fc.integer({ min: 0, max: 6000 }), { nil: null }),
  flags: fc.integer({ min: 0, max: U32 }),
  cfgId: fc.integer({ min: 0, max: 65535 }),
  cfgResult: fc.integer({ min: 0, max: 8 }),
  dropped: fc.integer({ min: 0, max: U32 }),
  noisePulses: fc.integer({ min: 0, max: U32 }),
});

/** Valid configuration patches: every key in range, consistent, cfg_id present. */
const configPatch: fc.Arbitrary<ConfigPatch> = fc
  .tuple(
    fc.integer({ min: 1, max: 65535 }),
    fc.subarray(CONFIG_KEYS.slice(1) as (typeof CONFIG_KEYS)[number][]),
    fc.array(fc.nat(), { minLength: 17, maxLength: 17 }),
  )
  .map(([cfgId, keys, seeds]) => {
    const patch: Record<string, number | null> = { cfgId };
    for (const k of keys) {
      let v = k.min + (seeds[k.key]! % (k.max - k.min + 1));
      while (k.allowed !== undefined && !k.allowed(v)) v -= 1;
      patch[k.field] = k.nullable && seeds[k.key]! % 5 === 0 ? null : v;
    }
    const p = patch as ConfigPatch;
    if (p.speedMinKmh !== undefined && p.speedMaxKmh !== undefined && p.speedMinKmh >= p.speedMaxKmh) {
      p.speedMinKmh = p.speedMaxKmh - 1;
    }
    if (typeof p.alertTLow === "number" && typeof p.alertTHigh === "number" && p.alertTLow >= p.alertTHigh) {
      p.alertTLow = p.alertTHigh === -4000 ? null : p.alertTHigh - 1;
    }
    return p;
  });

function centi(x: number | null): number | null {
  return x === null ? null : Math.round(x * 100);
}

function codecData(fport: number, bytes: Uint8Array): unknown {
  const input = { bytes: [...bytes], fPort: fport };
  return codecOutcome(fport === 10 ? codec.decodeDownlink(input) : codec.decodeUplink(input));
}

describe("round trips", () => {
  it("climate traces: every sample exact, ES5 codec identical", () => {
    fc.assert(
      fc.property(climateInput, (input) => {
        const bytes = encodeClimate(input);
        const decoded = decodeUplink(1, bytes) as ClimateBatch;
        expect(decoded.samples.map((s) => centi(s.temperatureC))).toEqual(input.temperatures);
        expect(decoded.samples.map((s) => centi(s.humidityPct))).toEqual(input.humidities);
        expect([decoded.intervalMin, decoded.intervalS, decoded.ageS, decoded.batteryMv]).toEqual([
          input.intervalMin,
          60 * input.intervalMin,
          input.ageS,
          input.batteryMv,
        ]);
        expect([decoded.tSlope, decoded.hSlope]).toEqual([
          slopeOf(input.temperatures) / 100,
          slopeOf(input.humidities) / 100,
        ]);
        expect(codecData(1, bytes)).toEqual(outcome(() => decoded));
      }),
      { numRuns: 400 },
    );
  });

  it("bike batches, status messages and configurations", () => {
    fc.assert(
      fc.property(bikeInput, (input) => {
        const bytes = encodeBike(input);
        const decoded = decodeUplink(2, bytes);
        expect(decoded.kind === "bike" && decoded.bins.map(({ ab, ba }) => ({ ab, ba }))).toEqual(input.bins);
        expect(codecData(2, bytes)).toEqual(outcome(() => decoded));
      }),
    );
    fc.assert(
      fc.property(statusInput, (input) => {
        const bytes = encodeStatus(input);
        const decoded = decodeUplink(3, bytes);
        expect(decoded.kind === "status" && [decoded.flags, decoded.uptimeS, decoded.cfgId]).toEqual([
          input.flags,
          input.uptimeS,
          input.cfgId,
        ]);
        expect(codecData(3, bytes)).toEqual(outcome(() => decoded));
      }),
    );
    fc.assert(
      fc.property(configPatch, (patch) => {
        const bytes = encodeConfig(patch);
        if (bytes.length > MAX_CONFIG_BYTES) {
          // A full configuration with long values can exceed what a node accepts in one downlink.
          expect(() => decodeConfig(bytes)).toThrow(expect.objectContaining({ code: 4 }));
          expect(codec.encodeDownlink({ data: patch }).errors[0]).toContain("more than the 64");
          return;
        }
        expect(decodeConfig(bytes)).toEqual({ kind: "config", values: patch });
        const merged = { ...DEFAULT_CONFIG, ...patch };
        const low = merged.alertTLow;
        const high = merged.alertTHigh;
        const consistent =
          merged.speedMinKmh < merged.speedMaxKmh && (low === null || high === null || low < high);
        const applied = applyConfig(DEFAULT_CONFIG, bytes);
        expect(applied.result).toBe(consistent ? 0 : 5);
        expect(applied.config).toEqual(consistent ? merged : DEFAULT_CONFIG);
        expect(applied.cfgId).toBe(patch.cfgId);
        expect(codecData(10, bytes)).toEqual({ data: { kind: "config", values: patch } });
        expect(codec.encodeDownlink({ data: patch }).bytes).toEqual([...bytes]);
      }),
    );
  });

  it("a decoder accepts any Rice parameter, not only the canonical one", () => {
    fc.assert(
      fc.property(
        climateInput,
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 15 }),
        (input, kt, kh) => {
          const bytes = climateWith(input, { kt, kh });
          const expected = outcome(() => decodeUplink(1, encodeClimate(input)));
          expect(outcome(() => decodeUplink(1, bytes))).toEqual(expected);
          expect(codecData(1, bytes)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** PAYLOAD.md "Trend and residuals", written independently of shared/payload/trend.ts. */
function validOf(values: (number | null)[]): { p: number; v: number }[] {
  return values.flatMap((v, p) => (v === null ? [] : [{ p, v }]));
}

function slopeOf(values: (number | null)[]): number {
  const valid = validOf(values);
  if (valid.length < 2) return 0;
  const first = valid[0]!;
  const last = valid.at(-1)!;
  return Math.trunc((last.v - first.v) / (last.p - first.p)) + 0; // + 0 turns -0 into 0
}

function residualsOf(values: (number | null)[], s: number): number[] {
  const valid = validOf(values);
  return valid.slice(1).map((x, j) => x.v - valid[j]!.v - s * (x.p - valid[j]!.p));
}

/**
 * The canonical message of `input` with the given slopes and Rice parameters instead of the canonical
 * ones; the residuals follow the slopes, so the values the block carries stay the same.
 */
function climateWith(
  input: ClimateInput,
  o: { tSlope?: number; hSlope?: number; kt?: number; kh?: number },
): Uint8Array {
  const ts = o.tSlope ?? slopeOf(input.temperatures);
  const hs = o.hSlope ?? slopeOf(input.humidities);
  const tz = residualsOf(input.temperatures, ts).map(zigzag);
  const hz = residualsOf(input.humidities, hs).map(zigzag);
  const kt = o.kt ?? canonicalRiceK(tz);
  const kh = o.kh ?? canonicalRiceK(hz);
  const w = new BitWriter();
  for (const z of tz) w.rice(z, kt);
  for (const z of hz) w.rice(z, kh);
  const block = [(kt << 4) | kh, ...w.finish()];
  const canonical = decodeCborArray(encodeClimate(input));
  const c = new CborWriter().array(canonical.length);
  for (const [i, e] of canonical.entries()) {
    if (i === 6) c.int(ts);
    else if (i === 7) c.int(hs);
    else if (i === 8) c.bytes(block);
    else c.raw(e);
  }
  return c.finish();
}

describe("trend", () => {
  it("the canonical message is the one built from the independent slope and residuals", () => {
    fc.assert(
      fc.property(climateInput, (input) => {
        expect([...climateWith(input, {})]).toEqual([...encodeClimate(input)]);
      }),
      { numRuns: 300 },
    );
  });

  it("a slope other than the canonical one is rejected by both decoders, even when the values fit", () => {
    const channel = fc.constantFrom("t", "h");
    const offset = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -20000, max: 20000 }));
    fc.assert(
      fc.property(climateInput, channel, offset, (input, which, delta) => {
        fc.pre(delta !== 0);
        const values = which === "t" ? input.temperatures : input.humidities;
        const name = which === "t" ? "t_slope" : "h_slope";
        const max = which === "t" ? 12500 : 10000;
        const canonical = slopeOf(values);
        const sent = canonical + delta;
        const bytes = climateWith(input, which === "t" ? { tSlope: sent } : { hSlope: sent });
        const result = outcome(() => decodeUplink(1, bytes));
        expect(codecData(1, bytes)).toEqual(result);
        expect("error" in result).toBe(true);
        const message = (result as { error: string }).error;
        if (sent < -max || sent > max) {
          expect(message).toBe(`climate batch: ${name} is ${sent}, outside ${-max}..${max}`);
        } else {
          const why =
            validOf(values).length >= 2
              ? "trunc of mean change per slot"
              : `fewer than 2 valid ${which === "t" ? "temperature" : "humidity"} values`;
          expect(message).toBe(`climate batch: ${name} is ${sent}, expected ${canonical} (${why})`);
        }
      }),
      { numRuns: 400 },
    );
  });
});

/** Splits a canonical top-level array of scalars and one byte string into the raw bytes of each element. */
function decodeCborArray(bytes: Uint8Array): number[][] {
  const items: number[][] = [];
  let pos = 1;
  while (pos < bytes.length) {
    const start = pos;
    const ib = bytes[pos]!;
    const ai = ib & 31;
    let arg = ai;
    pos += 1;
    if (ai >= 24) {
      const size = 1 << (ai - 24);
      arg = 0;
      for (let i = 0; i < size; i++) arg = arg * 256 + bytes[pos + i]!;
      pos += size;
    }
    if (ib >> 5 === 2) pos += arg;
    items.push([...bytes.subarray(start, pos)]);
  }
  return items;
}

describe("hostile input", () => {
  const same = (fport: number, bytes: Uint8Array) => {
    let thrown: unknown;
    let ts: unknown;
    try {
      ts = fport === 10 ? decodeConfig(bytes) : decodeUplink(fport, bytes);
    } catch (err) {
      thrown = err;
    }
    if (thrown !== undefined) {
      expect(thrown).toBeInstanceOf(PayloadError);
      expect((thrown as Error).message).not.toContain("\n");
      expect(codecData(fport, bytes)).toEqual({ error: (thrown as Error).message });
    } else {
      expect(codecData(fport, bytes)).toEqual({ data: JSON.parse(JSON.stringify(ts)) });
    }
  };

  it("random bytes fail only with a PayloadError, the same in both decoders", () => {
    fc.assert(fc.property(fc.constantFrom(1, 2, 3, 10), fc.uint8Array({ maxLength: 80 }), same), {
      numRuns: 2000,
    });
  });

  it("random CBOR-shaped bytes and mutated vectors behave the same in both decoders", () => {
    const heads = fc.array(
      fc.oneof(
        fc.constantFrom(0x80, 0x81, 0x82, 0x84, 0x88, 0x8a, 0x40, 0x41, 0x42, 0xf6, 0xa1, 0xa2, 0x9f, 0xff),
        fc.constantFrom(0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x20, 0x38, 0x39, 0xc1, 0xf9, 0x60, 0x61),
        fc.integer({ min: 0, max: 255 }),
      ),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 10), heads, (fport, b) => same(fport, Uint8Array.from(b))),
      {
        numRuns: 2000,
      },
    );
    const mutated = fc
      .tuple(
        fc.constantFrom(...VALID),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom("set", "xor-bit", "cut", "append"),
      )
      .map(([v, at, value, how]) => {
        const b = [...bytesOf(v.hex)];
        const i = at % Math.max(b.length, 1);
        if (how === "set") b[i] = value;
        else if (how === "xor-bit") b[i] = b[i]! ^ (1 << (value & 7));
        else if (how === "cut") b.length = i;
        else b.push(value);
        return [v.fport, Uint8Array.from(b)] as const;
      });
    fc.assert(
      fc.property(mutated, ([fport, b]) => same(fport, b)),
      { numRuns: 3000 },
    );
  });

  it("deeply nested input is refused before it reaches a recursive decoder", () => {
    const bytes = Uint8Array.from([...new Array(10000).fill(0x81), 0x00]);
    expect(() => decodeUplink(2, bytes)).toThrow(/nesting deeper than 16 levels/);
    same(2, bytes);
  });
});
