// Uplink decoders of payload format version 1 (shared/PAYLOAD.md): bytes in, typed message out, or a
// PayloadError that names the first violation. Values come from cbor-x after scanUplink has checked the
// raw structure.
import { decode } from "cbor-x";
import { scanUplink } from "./cbor-scan.ts";
import { PayloadError } from "./errors.ts";
import { BATTERY, Fields, HUMIDITY, TEMPERATURE, U32_MAX } from "./fields.ts";
import { CONFIG_RESULTS, flagNames, formatFwVersion, RESET_CAUSES } from "./names.ts";
import { BitReader, unzigzag } from "./rice.ts";
import { canonicalSlope } from "./trend.ts";
import type {
  BikeBatch,
  ClimateBatch,
  ClimateSample,
  ConfigResultCode,
  DecodedUplink,
  NodeStatus,
} from "./types.ts";

interface UplinkKind {
  context: string;
  decode: (value: unknown, f: Fields) => DecodedUplink;
}

const UPLINKS: Record<number, UplinkKind> = {
  1: { context: "climate batch", decode: decodeClimate },
  2: { context: "bike batch", decode: decodeBike },
  3: { context: "node status", decode: decodeStatus },
};

/** Decodes the FRMPayload of an uplink on FPort 1, 2 or 3. Throws PayloadError. */
export function decodeUplink(fport: number, bytes: Uint8Array): DecodedUplink {
  const kind = UPLINKS[fport];
  if (kind === undefined) {
    throw new PayloadError(
      fport === 10
        ? "FPort 10 carries configuration downlinks, not uplinks"
        : `unknown FPort ${fport} (uplinks use 1 climate, 2 bike, 3 status)`,
    );
  }
  const f = new Fields(kind.context);
  const scan = scanUplink(bytes, f.fail);
  if (scan.version !== undefined) f.version(scan.version);
  if (scan.forbidden !== undefined) f.fail(scan.forbidden);
  return kind.decode(decode(bytes), f);
}

/**
 * The range of t_slope and h_slope: the span of the quantity, the largest change per slot a canonical slope
 * can express. Checking it up front keeps the reconstruction exact (no huge products).
 */
const T_SLOPE_MAX = TEMPERATURE.max - TEMPERATURE.min;
const H_SLOPE_MAX = HUMIDITY.max - HUMIDITY.min;

function decodeClimate(value: unknown, f: Fields): ClimateBatch {
  const a = f.message(value, [10, 12]);
  const n = f.int("n", a[1], 1, 32);
  const intervalMin = f.int("interval_min", a[2], 1, 60);
  const ageS = f.int("age_s", a[3], 0, U32_MAX);
  const t0 = f.intOrNull("t0", a[4], TEMPERATURE.min, TEMPERATURE.max);
  const h0 = f.intOrNull("h0", a[5], HUMIDITY.min, HUMIDITY.max);
  const tSlope = f.int("t_slope", a[6], -T_SLOPE_MAX, T_SLOPE_MAX);
  const hSlope = f.int("h_slope", a[7], -H_SLOPE_MAX, H_SLOPE_MAX);
  const block = f.bytes("residuals", a[8]);
  const batteryMv = f.intOrNull("battery_mV", a[9], BATTERY.min, BATTERY.max);
  let tMissing = 0;
  let hMissing = 0;
  if (a.length === 12) {
    tMissing = f.int("t_missing", a[10], 0, U32_MAX);
    hMissing = f.int("h_missing", a[11], 0, U32_MAX);
    if (tMissing === 0 && hMissing === 0) f.fail("t_missing and h_missing are both 0 and must be omitted");
  }
  const tSlots = validSlots(f, "t_missing", tMissing, n);
  const hSlots = validSlots(f, "h_missing", hMissing, n);
  checkFirst(f, "t0", "t_missing", "a temperature", t0, tSlots.length, n);
  checkFirst(f, "h0", "h_missing", "a humidity", h0, hSlots.length, n);

  if (block.length === 0) f.fail("residuals is empty, expected at least the byte of Rice parameters");
  const reader = new BitReader(block, 8);
  const t = readChannel(f, reader, block[0]! >> 4, TEMPERATURE_CHANNEL, t0, tSlope, tSlots, n);
  const h = readChannel(f, reader, block[0]! & 15, HUMIDITY_CHANNEL, h0, hSlope, hSlots, n);
  const end = Math.ceil(reader.position / 8);
  while (reader.position < end * 8) {
    if (reader.bit() !== 0) f.fail("nonzero padding bits at the end of the residual block");
  }
  if (block.length > end) f.fail(`residual block has ${extraBytes(block.length - end)} after the residuals`);

  const intervalS = 60 * intervalMin;
  const samples: ClimateSample[] = [];
  for (let i = 0; i < n; i++) {
    samples.push({
      index: i,
      secondsBeforeUplink: ageS + (n - 1 - i) * intervalS,
      temperatureC: t[i] === null ? null : t[i]! / 100,
      humidityPct: h[i] === null ? null : h[i]! / 100,
    });
  }
  return {
    kind: "climate",
    version: 1,
    intervalMin,
    intervalS,
    ageS,
    tSlope: tSlope / 100,
    hSlope: hSlope / 100,
    batteryMv,
    samples,
  };
}

function extraBytes(count: number): string {
  return count === 1 ? "1 extra byte" : `${count} extra bytes`;
}

/** Indices of the slots whose bit in `mask` is clear. */
function validSlots(f: Fields, name: string, mask: number, n: number): number[] {
  if (mask > 2 ** n - 1) f.fail(`${name} has bits set beyond slot ${n - 1}`);
  const slots: number[] = [];
  for (let i = 0; i < n; i++) if (Math.floor(mask / 2 ** i) % 2 === 0) slots.push(i);
  return slots;
}

function checkFirst(
  f: Fields,
  name: string,
  maskName: string,
  what: string,
  first: number | null,
  valid: number,
  n: number,
): void {
  if (first === null && valid > 0) {
    f.fail(`${name} is null but ${maskName} leaves ${valid} of ${n} slots with ${what}`);
  }
  if (first !== null && valid === 0) f.fail(`${name} is set but ${maskName} marks all ${n} slots missing`);
}

interface ChannelSpec {
  name: string;
  slopeName: string;
  min: number;
  max: number;
}

const TEMPERATURE_CHANNEL: ChannelSpec = { name: "temperature", slopeName: "t_slope", ...TEMPERATURE };
const HUMIDITY_CHANNEL: ChannelSpec = { name: "humidity", slopeName: "h_slope", ...HUMIDITY };

/**
 * Reads one channel's residuals and rebuilds its values, v_j = v_(j−1) + s × (p_j − p_(j−1)) + r_j, each
 * checked against the quantity's range; then checks that the slope sent is the canonical one.
 */
function readChannel(
  f: Fields,
  reader: BitReader,
  k: number,
  c: ChannelSpec,
  first: number | null,
  slope: number,
  slots: readonly number[],
  n: number,
): (number | null)[] {
  const values: (number | null)[] = new Array(n).fill(null);
  const valid: number[] = [];
  if (first !== null) {
    let v = first;
    values[slots[0]!] = v;
    valid.push(v);
    for (let j = 1; j < slots.length; j++) {
      const z = reader.rice(k);
      if (z === undefined) {
        f.fail(`residual block ends after ${j - 1} of ${slots.length - 1} ${c.name} residuals`);
      }
      v += slope * (slots[j]! - slots[j - 1]!) + unzigzag(z!);
      if (v < c.min || v > c.max) f.fail(`${c.name} of slot ${slots[j]} is ${v}, outside ${c.min}..${c.max}`);
      values[slots[j]!] = v;
      valid.push(v);
    }
  }
  const canonical = canonicalSlope(slots, valid);
  if (slope !== canonical) {
    const why = valid.length >= 2 ? "trunc of mean change per slot" : `fewer than 2 valid ${c.name} values`;
    f.fail(`${c.slopeName} is ${slope}, expected ${canonical} (${why})`);
  }
  return values;
}

function decodeBike(value: unknown, f: Fields): BikeBatch {
  const a = f.message(value, [4]);
  const binS = f.int("bin_s", a[1], 300, 3600);
  if (86400 % binS !== 0) f.fail(`bin_s is ${binS}, which does not divide 86400`);
  const ageS = f.int("age_s", a[2], 0, U32_MAX);
  const counts = f.array("counts", a[3]);
  if (counts.length < 2 || counts.length > 64 || counts.length % 2 !== 0) {
    f.fail(`counts has ${counts.length} elements, expected 2*n with n = 1..32`);
  }
  const n = counts.length / 2;
  const bins = [];
  for (let i = 0; i < n; i++) {
    const ab = f.int(`counts[${2 * i}]`, counts[2 * i], 0, U32_MAX);
    const ba = f.int(`counts[${2 * i + 1}]`, counts[2 * i + 1], 0, U32_MAX);
    bins.push({
      index: i,
      startSecondsBeforeUplink: ageS + (n - i) * binS,
      endSecondsBeforeUplink: ageS + (n - 1 - i) * binS,
      ab,
      ba,
    });
  }
  return { kind: "bike", version: 1, binS, ageS, bins };
}

function decodeStatus(value: unknown, f: Fields): NodeStatus {
  const a = f.message(value, [10]);
  const fw = f.int("fw_version", a[1], 0, 0xffffff);
  const uptimeS = f.int("uptime_s", a[2], 0, U32_MAX);
  const reset = f.int("reset_cause", a[3], 0, RESET_CAUSES.length - 1);
  const batteryMv = f.intOrNull("battery_mV", a[4], BATTERY.min, BATTERY.max);
  const flags = f.int("flags", a[5], 0, U32_MAX);
  const cfgId = f.int("cfg_id", a[6], 0, 0xffff);
  const cfgResult = f.int("cfg_result", a[7], 0, CONFIG_RESULTS.length - 1) as ConfigResultCode;
  const dropped = f.int("dropped", a[8], 0, U32_MAX);
  const noisePulses = f.int("noise_pulses", a[9], 0, U32_MAX);
  return {
    kind: "status",
    version: 1,
    fwVersion: formatFwVersion(fw),
    uptimeS,
    resetCause: RESET_CAUSES[reset]!,
    batteryMv,
    flags,
    flagNames: flagNames(flags),
    cfgId,
    cfgResult,
    cfgResultName: CONFIG_RESULTS[cfgResult]!,
    dropped,
    noisePulses,
  };
}
