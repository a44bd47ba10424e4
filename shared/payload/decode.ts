// Uplink decoders of payload format version 1 (shared/PAYLOAD.md): bytes in, typed message out, or a
// PayloadError that names the first violation. Values come from cbor-x after scanUplink has checked the
// raw structure.
import { decode } from "cbor-x";
import { scanUplink } from "./cbor-scan.ts";
import { PayloadError } from "./errors.ts";
import { BATTERY, Fields, HUMIDITY, TEMPERATURE, U32_MAX } from "./fields.ts";
import { CONFIG_RESULTS, flagNames, formatFwVersion, RESET_CAUSES } from "./names.ts";
import { BitReader, unzigzag } from "./rice.ts";
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

function decodeClimate(value: unknown, f: Fields): ClimateBatch {
  const a = f.message(value, [8, 10]);
  const n = f.int("n", a[1], 1, 32);
  const intervalS = f.int("interval_s", a[2], 30, 3600);
  const ageS = f.int("age_s", a[3], 0, U32_MAX);
  const t0 = f.intOrNull("t0", a[4], TEMPERATURE.min, TEMPERATURE.max);
  const h0 = f.intOrNull("h0", a[5], HUMIDITY.min, HUMIDITY.max);
  const block = f.bytes("residuals", a[6]);
  const batteryMv = f.intOrNull("battery_mV", a[7], BATTERY.min, BATTERY.max);
  let tMissing = 0;
  let hMissing = 0;
  if (a.length === 10) {
    tMissing = f.int("t_missing", a[8], 0, U32_MAX);
    hMissing = f.int("h_missing", a[9], 0, U32_MAX);
    if (tMissing === 0 && hMissing === 0) f.fail("t_missing and h_missing are both 0 and must be omitted");
  }
  const tSlots = validSlots(f, "t_missing", tMissing, n);
  const hSlots = validSlots(f, "h_missing", hMissing, n);
  checkFirst(f, "t0", "t_missing", "a temperature", t0, tSlots.length, n);
  checkFirst(f, "h0", "h_missing", "a humidity", h0, hSlots.length, n);

  if (block.length === 0) f.fail("residuals is empty, expected at least the byte of Rice parameters");
  const reader = new BitReader(block, 8);
  const t = readChannel(f, reader, block[0]! >> 4, "temperature", t0, tSlots, n, TEMPERATURE);
  const h = readChannel(f, reader, block[0]! & 15, "humidity", h0, hSlots, n, HUMIDITY);
  const end = Math.ceil(reader.position / 8);
  while (reader.position < end * 8) {
    if (reader.bit() !== 0) f.fail("nonzero padding bits at the end of the residual block");
  }
  if (block.length > end) f.fail(`residual block has ${extraBytes(block.length - end)} after the deltas`);

  const samples: ClimateSample[] = [];
  for (let i = 0; i < n; i++) {
    samples.push({
      index: i,
      secondsBeforeUplink: ageS + (n - 1 - i) * intervalS,
      temperatureC: t[i] === null ? null : t[i]! / 100,
      humidityPct: h[i] === null ? null : h[i]! / 100,
    });
  }
  return { kind: "climate", version: 1, intervalS, ageS, batteryMv, samples };
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

function readChannel(
  f: Fields,
  reader: BitReader,
  k: number,
  name: string,
  first: number | null,
  slots: readonly number[],
  n: number,
  range: { min: number; max: number },
): (number | null)[] {
  const values: (number | null)[] = new Array(n).fill(null);
  if (first === null) return values;
  let v = first;
  values[slots[0]!] = v;
  for (let j = 1; j < slots.length; j++) {
    const z = reader.rice(k);
    if (z === undefined) f.fail(`residual block ends after ${j - 1} of ${slots.length - 1} ${name} deltas`);
    v += unzigzag(z!);
    if (v < range.min || v > range.max) {
      f.fail(`${name} of slot ${slots[j]} is ${v}, outside ${range.min}..${range.max}`);
    }
    values[slots[j]!] = v;
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
