// Writes shared/vectors/payload-vectors.json and invalid-vectors.json from the inputs declared below, with
// the reference encoder and decoder in shared/payload/. Run after changing either:
//   npx tsx scripts/generate-vectors.ts
// The firmware's encoder must reproduce every `hex` from its `input`; every decoder must reproduce
// `decoded`, and reject every invalid vector with a message containing `error` (and, on FPort 10, `code`).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  applyConfig,
  type BikeInput,
  CborWriter,
  type ClimateInput,
  type ConfigPatch,
  DEFAULT_CONFIG,
  decodeConfig,
  decodeUplink,
  encodeBike,
  encodeClimate,
  encodeConfig,
  encodeStatus,
  PayloadError,
  packFwVersion,
  type StatusInput,
} from "../shared/payload/index.ts";
import { encodeResidualBlock } from "../shared/payload/rice.ts";

const REPO = join(import.meta.dirname, "..");
const OUT = join(REPO, "shared/vectors");

type Valid =
  | { name: string; fport: 1; input: ClimateInput }
  | { name: string; fport: 2; input: BikeInput }
  | { name: string; fport: 3; input: StatusInput }
  | { name: string; fport: 10; input: ConfigPatch };

interface Invalid {
  name: string;
  fport: number;
  hex: string;
  /** A substring of the decoder's message. */
  error: string;
  /** FPort 10: the result code the node reports. */
  code?: number;
}

/** A trace that changes by `steps[i]` from one slot to the next. */
function walk(start: number, steps: readonly number[]): number[] {
  const out = [start];
  for (const s of steps) out.push(out[out.length - 1]! + s);
  return out;
}

function range<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

const hourlyT = walk(1850, [12, 9, 14, 8, 11, 7, 14, 7, 8, 11, 7, 8]);
const hourlyH = walk(6210, [-22, -18, -19, -11, -18, -21, -6, -15, -18, -12, -9, -11]);
const dayT = range(32, (i) => Math.round(2200 + 450 * Math.sin(i / 5) + ((i * 7) % 5) - 2));
const dayH = range(32, (i) => Math.round(5800 - 1200 * Math.sin(i / 5) + ((i * 11) % 7) - 3));
const withGaps = (values: readonly number[], gaps: readonly number[]): (number | null)[] =>
  values.map((v, i) => (gaps.includes(i) ? null : v));

const climate = (name: string, input: ClimateInput): Valid => ({ name, fport: 1, input });
const bike = (name: string, input: BikeInput): Valid => ({ name, fport: 2, input });
const status = (name: string, input: StatusInput): Valid => ({ name, fport: 3, input });
const config = (name: string, input: ConfigPatch): Valid => ({ name, fport: 10, input });

const statusBase: StatusInput = {
  fwVersion: packFwVersion(1, 0, 0),
  uptimeS: 5,
  resetCause: 0,
  batteryMv: 3300,
  flags: 0,
  cfgId: 0,
  cfgResult: 0,
  dropped: 0,
  noisePulses: 0,
};

const VALID: Valid[] = [
  climate("climate-hourly-13", {
    intervalMin: 5,
    ageS: 2,
    batteryMv: 3012,
    temperatures: hourlyT,
    humidities: hourlyH,
  }),
  climate("climate-single-sample", {
    intervalMin: 5,
    ageS: 1,
    batteryMv: 3010,
    temperatures: [2137],
    humidities: [5512],
  }),
  climate("climate-32-samples", {
    intervalMin: 15,
    ageS: 17,
    batteryMv: 2950,
    temperatures: dayT,
    humidities: dayH,
  }),
  climate("climate-gaps-temperature", {
    intervalMin: 5,
    ageS: 3,
    batteryMv: 3012,
    temperatures: withGaps(hourlyT, [4, 5, 9]),
    humidities: hourlyH,
  }),
  climate("climate-gaps-humidity", {
    intervalMin: 5,
    ageS: 3,
    batteryMv: 3012,
    temperatures: hourlyT,
    humidities: withGaps(hourlyH, [0, 12]),
  }),
  climate("climate-gaps-both", {
    intervalMin: 5,
    ageS: 3,
    batteryMv: 3012,
    temperatures: withGaps(hourlyT, [0, 1, 7]),
    humidities: withGaps(hourlyH, [7, 8, 11]),
  }),
  climate("climate-all-missing", {
    intervalMin: 5,
    ageS: 0,
    batteryMv: 2900,
    temperatures: range(13, () => 0).map(() => null),
    humidities: range(13, () => 0).map(() => null),
  }),
  climate("climate-temperature-all-missing", {
    intervalMin: 10,
    ageS: 30,
    batteryMv: 3100,
    temperatures: [null, null, null, null, null, null],
    humidities: hourlyH.slice(0, 6),
  }),
  climate("climate-32-samples-newest-missing", {
    intervalMin: 15,
    ageS: 17,
    batteryMv: 2950,
    temperatures: withGaps(dayT, [31]),
    humidities: withGaps(dayH, [30, 31]),
  }),
  climate("climate-negative-temperatures", {
    intervalMin: 5,
    ageS: 4,
    batteryMv: 2710,
    temperatures: walk(35, [-12, -15, -9, -20, -11, -14, -8, -13, -10, -6, -12, -9]),
    humidities: walk(8720, [15, 22, 9, 31, 12, 18, 5, 24, 11, 9, 17, 6]),
  }),
  climate("climate-range-extremes", {
    intervalMin: 1,
    ageS: 0,
    batteryMv: 6000,
    temperatures: [-4000, 8500, -4000, 8500, -4000],
    humidities: [0, 10000, 0, 10000, 0],
  }),
  climate("climate-large-jumps", {
    intervalMin: 5,
    ageS: 9,
    batteryMv: 3000,
    temperatures: walk(2100, [3, -2, 2500, -2480, 1, 0, -4, 700, -5, 3, -702, 2]),
    humidities: walk(4000, [-5, 4, -3100, 3090, 2, 7, -1, 0, 4800, -4795, 3, 1]),
  }),
  climate("climate-constant", {
    intervalMin: 5,
    ageS: 2,
    batteryMv: 3300,
    temperatures: range(13, () => 2000),
    humidities: range(13, () => 5000),
  }),
  climate("climate-battery-null", {
    intervalMin: 5,
    ageS: 2,
    batteryMv: null,
    temperatures: hourlyT,
    humidities: hourlyH,
  }),
  climate("climate-limits-interval-age-battery", {
    intervalMin: 60,
    ageS: 4294967295,
    batteryMv: 0,
    temperatures: [-1, 0, 1, -24, 23, 24, -25],
    humidities: [0, 1, 23, 24, 255, 256, 10000],
  }),
  climate("climate-trend-up", {
    // a spring morning: warming by about 0.2 °C and drying by about 0.4 %RH per 5 minutes
    intervalMin: 5,
    ageS: 2,
    batteryMv: 3050,
    temperatures: walk(1420, [21, 19, 22, 20, 18, 23, 21, 20, 19, 22, 21, 20]),
    humidities: walk(7800, [-41, -38, -44, -40, -39, -42, -37, -43, -40, -41, -38, -42]),
  }),
  climate("climate-trend-down", {
    // an evening: cooling and getting more humid; both slopes are fractions truncated toward zero
    intervalMin: 5,
    ageS: 6,
    batteryMv: 3040,
    temperatures: walk(2630, [-17, -15, -18, -16, -14, -19, -15, -17, -16, -15, -18, -16]),
    humidities: walk(4410, [33, 29, 35, 31, 30, 34, 28, 33, 32, 30, 35, 31]),
  }),
  climate("climate-trend-gaps", {
    // the slope spans the gaps: first and last valid slots, and each residual subtracts slope × gap
    intervalMin: 5,
    ageS: 3,
    batteryMv: 3020,
    temperatures: withGaps(walk(1500, [24, 26, 25, 23, 27, 25, 24, 26, 25, 24, 26, 25]), [0, 5, 6, 12]),
    humidities: withGaps(walk(7200, [-30, -28, -33, -31, -29, -30, -32, -28, -31, -30, -29, -31]), [3, 4]),
  }),
  climate("climate-slope-truncation", {
    // temperature -7/3 truncates to -2 (not -3), humidity +7/3 to 2
    intervalMin: 5,
    ageS: 1,
    batteryMv: 3010,
    temperatures: [2100, 2098, 2095, 2093],
    humidities: [5000, 5003, 5005, 5007],
  }),
  climate("climate-slope-truncation-gaps", {
    // temperature -10/3 over slots 1..4 truncates to -3, humidity 13/2 over slots 0..2 to 6
    intervalMin: 10,
    ageS: 7,
    batteryMv: 3010,
    temperatures: [null, 1000, null, null, 990],
    humidities: [6000, null, 6013, null, null],
  }),
  climate("climate-slope-single-valid", {
    // one valid value per channel: slope 0, no residuals
    intervalMin: 5,
    ageS: 2,
    batteryMv: 3010,
    temperatures: [null, null, 2150, null],
    humidities: [null, 5500, null, null],
  }),
  climate("climate-slope-extremes", {
    // the largest slopes: the whole range in one slot
    intervalMin: 1,
    ageS: 0,
    batteryMv: 3300,
    temperatures: [-4000, 8500],
    humidities: [10000, 0],
  }),
  bike("bike-1-bin", { binS: 900, ageS: 12, bins: [{ ab: 3, ba: 5 }] }),
  bike("bike-8-bins", {
    binS: 900,
    ageS: 40,
    bins: [
      { ab: 0, ba: 1 },
      { ab: 4, ba: 2 },
      { ab: 12, ba: 9 },
      { ab: 23, ba: 31 },
      { ab: 17, ba: 25 },
      { ab: 8, ba: 6 },
      { ab: 0, ba: 0 },
      { ab: 2, ba: 0 },
    ],
  }),
  bike("bike-32-bins", {
    binS: 300,
    ageS: 3,
    bins: range(32, (i) => i).map((i) => ({ ab: (i * 7) % 30, ba: (i * 13) % 40 })),
  }),
  bike("bike-zero-traffic", { binS: 3600, ageS: 0, bins: range(4, () => 0).map(() => ({ ab: 0, ba: 0 })) }),
  bike("bike-big-counts", {
    binS: 1800,
    ageS: 300,
    bins: [
      { ab: 255, ba: 256 },
      { ab: 1234, ba: 65535 },
    ],
  }),
  status("status-boot", statusBase),
  status("status-all-flags", {
    ...statusBase,
    fwVersion: packFwVersion(1, 2, 3),
    uptimeS: 86400,
    flags: 0x7fff,
    cfgId: 7,
    dropped: 12,
    noisePulses: 3,
  }),
  status("status-config-rejected", {
    ...statusBase,
    uptimeS: 3605,
    resetCause: 3,
    flags: 1 << 10,
    cfgId: 42,
    cfgResult: 3,
  }),
  status("status-watchdog-battery-unknown", {
    ...statusBase,
    uptimeS: 12,
    resetCause: 2,
    batteryMv: null,
    flags: (1 << 6) | (1 << 7),
    cfgId: 65535,
    cfgResult: 8,
  }),
  status("status-flag-beyond-version-1", { ...statusBase, resetCause: 5, flags: 2 ** 20 + 2 ** 31 }),
  status("status-large-counters", {
    fwVersion: packFwVersion(255, 255, 255),
    uptimeS: 4294967295,
    resetCause: 4,
    batteryMv: 6000,
    flags: 0xffffffff,
    cfgId: 300,
    cfgResult: 0,
    dropped: 70000,
    noisePulses: 4294967295,
  }),
  config("config-full", {
    cfgId: 1,
    sensors: 3,
    climateIntervalMin: 5,
    climateLatencyS: 3600,
    bikeLatencyS: 7200,
    tOffset: -25,
    hOffset: 150,
    alertTHigh: 3500,
    alertTLow: -500,
    statusIntervalS: 86400,
    airtimeBudgetMs: 30000,
    tubeSpacingMm: 1000,
    speedMinKmh: 5,
    speedMaxKmh: 50,
    debounceMs: 30,
    stuckCount: 24,
    bikeBinS: 900,
  }),
  config("config-partial", { cfgId: 2, climateIntervalMin: 10, climateLatencyS: 7200 }),
  config("config-interval-limits", { cfgId: 6, climateIntervalMin: 60 }),
  config("config-interval-1-min", { cfgId: 7, climateIntervalMin: 1 }),
  config("config-cfg-id-only", { cfgId: 65535 }),
  config("config-alerts-off", { cfgId: 3, alertTHigh: null, alertTLow: null }),
  config("config-bikes-only", { cfgId: 4, sensors: 2, bikeBinS: 300, tubeSpacingMm: 800, speedMinKmh: 1 }),
  config("config-offsets-negative", { cfgId: 5, tOffset: -1000, hOffset: -2000, stuckCount: 0 }),
];

function w(): CborWriter {
  return new CborWriter();
}

function hexOf(bytes: Uint8Array | readonly number[]): string {
  return Buffer.from(bytes).toString("hex");
}

/** A climate batch array with the given elements as raw CBOR pieces. */
function climateArray(elements: Array<(c: CborWriter) => void>): string {
  const c = w().array(elements.length);
  for (const e of elements) e(c);
  return hexOf(c.finish());
}

const int = (v: number) => (c: CborWriter) => void c.int(v);
const nil = (c: CborWriter) => void c.nil();
const bytes = (b: number[]) => (c: CborWriter) => void c.bytes(b);

/** [1, n, 5, 4, t0, h0, tSlope, hSlope, block, 3012, ...masks] */
function climateWith(
  n: number,
  t0: number | null,
  h0: number | null,
  block: number[],
  masks?: [number, number],
  slopes: [number, number] = [0, 0],
) {
  const els = [int(1), int(n), int(5), int(4), t0 === null ? nil : int(t0), h0 === null ? nil : int(h0)];
  els.push(int(slopes[0]), int(slopes[1]), bytes(block), int(3012));
  if (masks) els.push(int(masks[0]), int(masks[1]));
  return climateArray(els);
}

/** A residual block with the canonical k for the given residuals (whatever slope they go with). */
const block = (t: number[], h: number[]) => [...encodeResidualBlock(t, h)];

function configHex(pairs: Array<[number, number | null]>): string {
  const c = w().map(pairs.length);
  for (const [k, v] of pairs) c.int(k).intOrNull(v);
  return hexOf(c.finish());
}

const INVALID: Invalid[] = [
  { name: "empty", fport: 1, hex: "", error: "climate batch: empty payload" },
  { name: "unknown-fport", fport: 4, hex: "80", error: "unknown FPort 4" },
  { name: "truncated-array", fport: 1, hex: "88010d", error: "the CBOR item is truncated" },
  { name: "truncated-integer", fport: 3, hex: "8a01190100", error: "the CBOR item is truncated" },
  {
    name: "trailing-byte",
    fport: 2,
    hex: "840119038400820102" + "00",
    error: "1 trailing byte after the CBOR item",
  },
  { name: "tag", fport: 2, hex: "c1840119038400820102", error: "CBOR tag at byte 0" },
  { name: "indefinite-array", fport: 2, hex: "9f0119038400820102ff", error: "indefinite length at byte 0" },
  { name: "reserved-initial-byte", fport: 3, hex: "811c", error: "invalid CBOR initial byte 0x1c at byte 1" },
  { name: "break-byte", fport: 3, hex: "ff", error: "invalid CBOR initial byte 0xff at byte 0" },
  { name: "float-element", fport: 2, hex: "8401f95e2000820102", error: "a floating-point number at byte 2" },
  { name: "text-element", fport: 2, hex: "84016339303000820102", error: "a text string at byte 2" },
  { name: "map-element", fport: 2, hex: "8401a000820102", error: "a map at byte 2" },
  { name: "boolean-element", fport: 2, hex: "8401f500820102", error: "a boolean at byte 2" },
  {
    name: "nesting-too-deep",
    fport: 2,
    hex: `${"81".repeat(17)}00`,
    error: "CBOR nesting deeper than 16 levels at byte 16",
  },
  { name: "not-an-array", fport: 1, hex: "01", error: "climate batch: expected an array, got 1" },
  { name: "empty-array", fport: 1, hex: "80", error: "the array is empty" },
  { name: "version-2", fport: 1, hex: "820200", error: "unknown format version 2" },
  { name: "version-2-with-float", fport: 1, hex: "8202f93c00", error: "unknown format version 2" },
  { name: "version-null", fport: 3, hex: "81f6", error: "version must be an integer, got null" },
  {
    name: "climate-9-elements",
    fport: 1,
    hex: climateArray(range(9, () => int(1))),
    error: "expected 10 or 12 elements, got 9",
  },
  {
    name: "climate-11-elements",
    fport: 1,
    hex: climateArray(range(11, () => int(1))),
    error: "expected 10 or 12 elements, got 11",
  },
  {
    // climate-hourly-13 as the first draft of version 1 encoded it (interval_s, no slopes)
    name: "climate-old-8-elements",
    fport: 1,
    hex: "88010d19012c0219073a1918425444a22b2099d63a099d06bc7965c7a576e39e1940190bc4",
    error: "expected 10 or 12 elements, got 8",
  },
  {
    // climate-gaps-temperature in the first draft: 10 elements with masks, interval_s 300 where interval_min is
    name: "climate-old-10-elements",
    fport: 1,
    hex: "8a010d19012c0319073a1918425244a22b392c766741af1e5971e95db8e78650190bc419023000",
    error: "interval_min is 300, outside 1..60",
  },
  {
    // a first-draft 10-element array whose interval_s (30) passes as interval_min: the block is where t_slope is
    name: "climate-old-10-elements-interval-30",
    fport: 1,
    hex: climateArray([
      int(1),
      int(3),
      int(30),
      int(0),
      int(2000),
      int(5000),
      bytes([0, 0]),
      int(3012),
      int(2),
      int(0),
    ]),
    error: "t_slope must be an integer, got a byte string",
  },
  { name: "climate-n-0", fport: 1, hex: climateWith(0, null, null, [0]), error: "n is 0, outside 1..32" },
  { name: "climate-n-33", fport: 1, hex: climateWith(33, 0, 0, [0]), error: "n is 33, outside 1..32" },
  {
    name: "climate-interval-min-0",
    fport: 1,
    hex: climateArray([int(1), int(1), int(0), int(0), int(0), int(0), int(0), int(0), bytes([0]), nil]),
    error: "interval_min is 0, outside 1..60",
  },
  {
    name: "climate-interval-min-61",
    fport: 1,
    hex: climateArray([int(1), int(1), int(61), int(0), int(0), int(0), int(0), int(0), bytes([0]), nil]),
    error: "interval_min is 61, outside 1..60",
  },
  {
    name: "climate-age-huge",
    fport: 1,
    hex: "8a010105" + "1bffffffffffffffff" + "0000" + "0000" + "4100" + "f6",
    error: "age_s is 2^53 or more, outside 0..4294967295",
  },
  {
    name: "climate-t0-too-hot",
    fport: 1,
    hex: climateWith(1, 8501, 0, [0]),
    error: "t0 is 8501, outside -4000..8500",
  },
  {
    name: "climate-h0-negative",
    fport: 1,
    hex: climateWith(1, 0, -1, [0]),
    error: "h0 is -1, outside 0..10000",
  },
  {
    name: "climate-t-slope-null",
    fport: 1,
    hex: climateArray([int(1), int(1), int(5), int(0), int(0), int(0), nil, int(0), bytes([0]), nil]),
    error: "t_slope must be an integer, got null",
  },
  {
    name: "climate-t-slope-too-large",
    fport: 1,
    hex: climateWith(2, 2000, 5000, block([0], [0]), undefined, [12501, 0]),
    error: "t_slope is 12501, outside -12500..12500",
  },
  {
    name: "climate-h-slope-too-small",
    fport: 1,
    hex: climateWith(2, 2000, 5000, block([0], [0]), undefined, [0, -10001]),
    error: "h_slope is -10001, outside -10000..10000",
  },
  {
    name: "climate-h-slope-huge-negative",
    fport: 1,
    hex: "8a010105" + "00" + "19079d" + "00" + "00" + "3bfffffffffffffff0" + "4100" + "f6",
    error: "h_slope is -2^53 or less, outside -10000..10000",
  },
  {
    name: "climate-battery-too-high",
    fport: 1,
    hex: climateArray([
      int(1),
      int(1),
      int(5),
      int(0),
      int(0),
      int(0),
      int(0),
      int(0),
      bytes([0]),
      int(6001),
    ]),
    error: "battery_mV is 6001, outside 0..6000",
  },
  {
    name: "climate-residuals-not-bytes",
    fport: 1,
    hex: climateArray([int(1), int(1), int(5), int(0), int(0), int(0), int(0), int(0), int(0), nil]),
    error: "residuals must be a byte string, got 0",
  },
  { name: "climate-residuals-empty", fport: 1, hex: climateWith(1, 0, 0, []), error: "residuals is empty" },
  {
    name: "climate-residuals-end-in-temperature",
    fport: 1,
    hex: climateWith(12, 2000, 5000, [0x00, 0x01]),
    error: "climate batch: residual block ends after 7 of 11 temperature residuals",
  },
  {
    name: "climate-residuals-end-in-humidity",
    fport: 1,
    hex: climateWith(3, 2000, 5000, [0x00, 0x3f]),
    error: "residual block ends after 0 of 2 humidity residuals",
  },
  {
    name: "climate-nonzero-padding",
    fport: 1,
    hex: climateWith(2, 2000, 5000, [0x00, 0x04]),
    error: "nonzero padding bits at the end of the residual block",
  },
  {
    name: "climate-extra-byte",
    fport: 1,
    hex: climateWith(2, 2000, 5000, [0x00, 0x00, 0x00]),
    error: "residual block has 1 extra byte after the residuals",
  },
  {
    name: "climate-residual-out-of-range",
    fport: 1,
    hex: climateWith(2, 8500, 5000, [0x00, 0xc0]),
    error: "temperature of slot 1 is 8501, outside -4000..8500",
  },
  {
    name: "climate-humidity-residual-out-of-range",
    fport: 1,
    hex: climateWith(2, 2000, 0, [0x00, 0x40]),
    error: "humidity of slot 1 is -1, outside 0..10000",
  },
  {
    // a slope that is not canonical can push a value out of range; the range is checked first
    name: "climate-slope-out-of-range-first",
    fport: 1,
    hex: climateWith(2, 8000, 5000, block([0], [0]), undefined, [600, 0]),
    error: "temperature of slot 1 is 8600, outside -4000..8500",
  },
  {
    // 2000, 2003, 2006 sent with slope 4 and residuals -1, -1
    name: "climate-t-slope-not-canonical",
    fport: 1,
    hex: climateWith(3, 2000, 5000, block([-1, -1], [0, 0]), undefined, [4, 0]),
    error: "climate batch: t_slope is 4, expected 3 (trunc of mean change per slot)",
  },
  {
    // 2000, 2002, 2003, 2005: 5/3 truncates to 1; rounding gives 2
    name: "climate-t-slope-rounded",
    fport: 1,
    hex: climateWith(4, 2000, 5000, block([0, -1, 0], [0, 0, 0]), undefined, [2, 0]),
    error: "t_slope is 2, expected 1 (trunc of mean change per slot)",
  },
  {
    // 5000, 4998, 4993: -7/2 truncates toward zero to -3; floor division gives -4
    name: "climate-h-slope-floored",
    fport: 1,
    hex: climateWith(3, 2000, 5000, block([0, 0], [2, -1]), undefined, [0, -4]),
    error: "h_slope is -4, expected -3 (trunc of mean change per slot)",
  },
  {
    // temperature 1000 at slot 1 and 990 at slot 4: -10/3 truncates to -3 across the gap; floor gives -4
    name: "climate-t-slope-floored-across-gap",
    fport: 1,
    hex: climateWith(5, 1000, 6000, block([2], [0, 0, 0, 0]), [0b01101, 0], [-4, 0]),
    error: "t_slope is -4, expected -3 (trunc of mean change per slot)",
  },
  {
    // the slope between the first two valid values instead of first and last
    name: "climate-h-slope-not-first-to-last",
    fport: 1,
    hex: climateWith(3, 2000, 5000, block([0, 0], [0, 8]), undefined, [0, 10]),
    error: "h_slope is 10, expected 14 (trunc of mean change per slot)",
  },
  {
    name: "climate-t-slope-single-value",
    fport: 1,
    hex: climateWith(1, 2000, 5000, [0x00], undefined, [1, 0]),
    error: "t_slope is 1, expected 0 (fewer than 2 valid temperature values)",
  },
  {
    name: "climate-h-slope-all-missing",
    fport: 1,
    hex: climateWith(2, 2000, null, block([0], []), [0, 3], [0, -1]),
    error: "h_slope is -1, expected 0 (fewer than 2 valid humidity values)",
  },
  {
    name: "climate-masks-both-zero",
    fport: 1,
    hex: climateWith(2, 2000, 5000, [0x00, 0x00], [0, 0]),
    error: "t_missing and h_missing are both 0 and must be omitted",
  },
  {
    name: "climate-mask-beyond-n",
    fport: 1,
    hex: climateWith(2, 2000, 5000, [0x00, 0x00], [4, 0]),
    error: "t_missing has bits set beyond slot 1",
  },
  {
    name: "climate-t0-null-with-valid-slots",
    fport: 1,
    hex: climateWith(2, null, 5000, [0x00, 0x00]),
    error: "t0 is null but t_missing leaves 2 of 2 slots with a temperature",
  },
  {
    name: "climate-t0-set-all-missing",
    fport: 1,
    hex: climateWith(2, 2000, 5000, [0x00, 0x00], [3, 0]),
    error: "t0 is set but t_missing marks all 2 slots missing",
  },
  {
    name: "climate-h0-null-with-valid-slots",
    fport: 1,
    hex: climateWith(2, 2000, null, [0x00, 0x00], [1, 0]),
    error: "h0 is null but h_missing leaves 2 of 2 slots with a humidity",
  },
  {
    name: "bike-5-elements",
    fport: 2,
    hex: hexOf(w().array(5).int(1).int(900).int(0).array(2).int(1).int(2).int(0).finish()),
    error: "bike batch: expected 4 elements, got 5",
  },
  { name: "bike-bin-200", fport: 2, hex: "840118c800820102", error: "bin_s is 200, outside 300..3600" },
  {
    name: "bike-bin-700",
    fport: 2,
    hex: "84011902bc00820102",
    error: "bin_s is 700, which does not divide 86400",
  },
  { name: "bike-counts-odd", fport: 2, hex: "840119038400830102" + "03", error: "counts has 3 elements" },
  { name: "bike-counts-empty", fport: 2, hex: "840119038400" + "80", error: "counts has 0 elements" },
  {
    name: "bike-counts-66",
    fport: 2,
    hex: `8401190384009842${"00".repeat(66)}`,
    error: "counts has 66 elements, expected 2*n with n = 1..32",
  },
  {
    name: "bike-count-negative",
    fport: 2,
    hex: "84011903840082" + "0120",
    error: "counts[1] is -1, outside",
  },
  { name: "bike-counts-not-array", fport: 2, hex: "84011903840000", error: "counts must be an array, got 0" },
  {
    name: "status-9-elements",
    fport: 3,
    hex: hexOf(w().array(9).int(1).int(65536).int(5).int(0).int(3300).int(0).int(0).int(0).int(0).finish()),
    error: "node status: expected 10 elements, got 9",
  },
  {
    name: "status-reset-cause-6",
    fport: 3,
    hex: hexOf(
      w().array(10).int(1).int(65536).int(5).int(6).int(3300).int(0).int(0).int(0).int(0).int(0).finish(),
    ),
    error: "reset_cause is 6, outside 0..5",
  },
  {
    name: "status-cfg-result-9",
    fport: 3,
    hex: hexOf(
      w().array(10).int(1).int(65536).int(5).int(0).int(3300).int(0).int(1).int(9).int(0).int(0).finish(),
    ),
    error: "cfg_result is 9, outside 0..8",
  },
  {
    name: "status-fw-version-too-large",
    fport: 3,
    hex: hexOf(
      w()
        .array(10)
        .int(1)
        .int(2 ** 24)
        .int(5)
        .int(0)
        .int(3300)
        .int(0)
        .int(0)
        .int(0)
        .int(0)
        .int(0)
        .finish(),
    ),
    error: "fw_version is 16777216, outside 0..16777215",
  },
  {
    name: "status-battery-bytes",
    fport: 3,
    hex: hexOf(
      w().array(10).int(1).int(1).int(5).int(0).bytes([1]).int(0).int(0).int(0).int(0).int(0).finish(),
    ),
    error: "battery_mV must be an integer or null, got a byte string",
  },
  {
    name: "config-oversized",
    fport: 10,
    hex: configHex([[0, 25], ...range(20, (i) => [5, 1000 - i] as [number, number])]),
    error: "more than the 64 a node accepts",
    code: 4,
  },
  { name: "config-empty", fport: 10, hex: "", error: "configuration: empty payload", code: 1 },
  {
    name: "config-garbage-byte",
    fport: 10,
    hex: "ff",
    error: "invalid or indefinite-length CBOR head 0xff",
    code: 1,
  },
  { name: "config-array", fport: 10, hex: "8100", error: "expected a map, got an array", code: 1 },
  { name: "config-truncated", fport: 10, hex: "a2000101", error: "the CBOR item is truncated", code: 1 },
  {
    name: "config-trailing-byte",
    fport: 10,
    hex: `${configHex([[0, 21]])}00`,
    error: "1 trailing byte after the map",
    code: 1,
  },
  {
    name: "config-indefinite-map",
    fport: 10,
    hex: "bf0001ff",
    error: "indefinite-length CBOR head 0xbf",
    code: 1,
  },
  {
    name: "config-text-key",
    fport: 10,
    hex: "a2000161610a",
    error: "the key at byte 3 is a text string",
    code: 1,
  },
  {
    name: "config-negative-key",
    fport: 10,
    hex: "a200012001",
    error: "the key at byte 3 is an integer, not an unsigned",
    code: 1,
  },
  {
    name: "config-unknown-key",
    fport: 10,
    hex: configHex([
      [0, 22],
      [99, 1],
    ]),
    error: "key 99 is unknown",
    code: 2,
  },
  {
    name: "config-key-17",
    fport: 10,
    hex: configHex([
      [0, 22],
      [17, 1],
    ]),
    error: "key 17 is unknown",
    code: 2,
  },
  {
    name: "config-interval-too-short",
    fport: 10,
    hex: configHex([
      [0, 23],
      [2, 0],
    ]),
    error: "key 2 (climate_interval_min) is 0, outside 1..60",
    code: 3,
  },
  {
    name: "config-interval-too-long",
    fport: 10,
    hex: configHex([
      [0, 23],
      [2, 61],
    ]),
    error: "key 2 (climate_interval_min) is 61, outside 1..60",
    code: 3,
  },
  {
    // a value in seconds, as the first draft of key 2 had it
    name: "config-interval-in-seconds",
    fport: 10,
    hex: configHex([
      [0, 23],
      [2, 300],
    ]),
    error: "key 2 (climate_interval_min) is 300, outside 1..60",
    code: 3,
  },
  {
    name: "config-bin-not-dividing-a-day",
    fport: 10,
    hex: configHex([
      [0, 24],
      [16, 700],
    ]),
    error: "key 16 (bike_bin_s) is 700, outside 300..3600 dividing 86400",
    code: 3,
  },
  {
    name: "config-stuck-count-2",
    fport: 10,
    hex: configHex([
      [0, 24],
      [15, 2],
    ]),
    error: "key 15 (stuck_count) is 2, outside 0, 3..255",
    code: 3,
  },
  {
    name: "config-cfg-id-0",
    fport: 10,
    hex: configHex([[0, 0]]),
    error: "key 0 (cfg_id) is 0, outside 1..65535",
    code: 3,
  },
  {
    name: "config-speeds-inconsistent",
    fport: 10,
    hex: configHex([
      [0, 26],
      [12, 40],
      [13, 20],
    ]),
    error: "speed_min_kmh 40 is not below speed_max_kmh 20",
    code: 5,
  },
  {
    name: "config-alerts-inconsistent",
    fport: 10,
    hex: configHex([
      [0, 26],
      [7, 2000],
      [8, 2000],
    ]),
    error: "alert_t_low 2000 is not below alert_t_high 2000",
    code: 5,
  },
  {
    name: "config-text-value",
    fport: 10,
    hex: "a200181b0263333030",
    error: "key 2 (climate_interval_min) must be an integer or null, got a text string",
    code: 6,
  },
  {
    name: "config-float-value",
    fport: 10,
    hex: "a200181c02f95e20",
    error: "got a floating-point number",
    code: 6,
  },
  {
    name: "config-null-interval",
    fport: 10,
    hex: configHex([
      [0, 27],
      [2, null],
    ]),
    error: "key 2 (climate_interval_min) must be an integer, got null",
    code: 6,
  },
  {
    name: "config-cfg-id-missing",
    fport: 10,
    hex: configHex([[2, 5]]),
    error: "cfg_id (key 0) is missing",
    code: 7,
  },
  { name: "config-empty-map", fport: 10, hex: "a0", error: "cfg_id (key 0) is missing", code: 7 },
  {
    name: "config-duplicate-key",
    fport: 10,
    hex: "a300181e0205020a",
    error: "key 2 (climate_interval_min) appears twice",
    code: 8,
  },
  {
    name: "config-duplicate-before-unknown",
    fport: 10,
    hex: configHex([
      [0, 30],
      [40, 1],
      [40, 2],
    ]),
    error: "key 40 appears twice",
    code: 8,
  },
  {
    name: "config-wrong-type-before-trailing-byte",
    fport: 10,
    hex: "a200181f02617800",
    error: "key 2 (climate_interval_min) must be an integer or null, got a text string",
    code: 6,
  },
  {
    name: "config-trailing-byte-after-unknown-key",
    fport: 10,
    hex: `${configHex([
      [0, 31],
      [99, 1],
    ])}00`,
    error: "1 trailing byte after the map",
    code: 1,
  },
];

function decodeAny(fport: number, data: Uint8Array): unknown {
  return fport === 10 ? decodeConfig(data) : decodeUplink(fport, data);
}

function encodeValid(v: Valid): Uint8Array {
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

const valid = VALID.map((v) => {
  const data = encodeValid(v);
  return {
    name: v.name,
    fport: v.fport,
    input: v.input,
    hex: hexOf(data),
    decoded: decodeAny(v.fport, data),
  };
});

const invalid = INVALID.map((v) => {
  let message: string | undefined;
  let code: number | undefined;
  try {
    decodeAny(v.fport, Buffer.from(v.hex, "hex"));
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    message = err.message;
    code = err.code;
  }
  if (message === undefined) throw new Error(`invalid vector ${v.name} decodes`);
  if (!message.includes(v.error))
    throw new Error(`invalid vector ${v.name}: "${message}" lacks "${v.error}"`);
  if (v.code !== code) throw new Error(`invalid vector ${v.name}: code ${code}, declared ${v.code}`);
  if (v.fport !== 10) return { name: v.name, fport: v.fport, hex: v.hex, error: v.error };
  const echo = applyConfig(DEFAULT_CONFIG, Buffer.from(v.hex, "hex")).cfgId;
  return { name: v.name, fport: v.fport, hex: v.hex, error: v.error, code, cfgId: echo };
});

const header = {
  spec: "shared/PAYLOAD.md, format version 1",
  generator: "scripts/generate-vectors.ts (do not edit by hand)",
};
const files = [join(OUT, "payload-vectors.json"), join(OUT, "invalid-vectors.json")];
writeFileSync(files[0]!, `${JSON.stringify({ ...header, vectors: valid }, null, 2)}\n`);
writeFileSync(files[1]!, `${JSON.stringify({ ...header, vectors: invalid }, null, 2)}\n`);
// The repository's formatter has the last word on layout, so that `biome check` stays clean.
const biome = spawnSync(join(REPO, "node_modules/.bin/biome"), ["format", "--write", ...files], {
  stdio: "inherit",
});
if (biome.status !== 0) throw new Error("biome format failed");
console.log(`${valid.length} valid and ${invalid.length} invalid vectors written to ${OUT}`);
