// Canonical encoders of payload format version 1 (shared/PAYLOAD.md) from the integers the firmware
// holds. The firmware's encoder must produce the same bytes; shared/vectors/payload-vectors.json pins them.
// Uplink encoders refuse inputs that a decoder would reject, so they never emit an invalid uplink.
import { CborWriter } from "./cbor-write.ts";
import { CONFIG_KEYS } from "./config-keys.ts";
import { PayloadError } from "./errors.ts";
import { BATTERY, FORMAT_VERSION, formatInt, HUMIDITY, TEMPERATURE, U32_MAX } from "./fields.ts";
import { CONFIG_RESULTS, RESET_CAUSES } from "./names.ts";
import { encodeResidualBlock } from "./rice.ts";
import { canonicalSlope, residuals } from "./trend.ts";
import type { BikeInput, ClimateInput, ConfigPatch, StatusInput } from "./types.ts";

class InputCheck {
  constructor(private readonly context: string) {}

  fail(message: string): never {
    throw new PayloadError(`${this.context}: ${message}`);
  }

  int(name: string, v: number, min: number, max: number): number {
    if (!Number.isInteger(v)) this.fail(`${name} must be an integer, got ${v}`);
    if (v < min || v > max) this.fail(`${name} is ${formatInt(v)}, outside ${min}..${max}`);
    return v;
  }

  intOrNull(name: string, v: number | null, min: number, max: number): number | null {
    return v === null ? null : this.int(name, v, min, max);
  }
}

export function encodeClimate(input: ClimateInput): Uint8Array {
  const c = new InputCheck("climate input");
  const n = input.temperatures.length;
  if (input.humidities.length !== n) {
    c.fail(`${n} temperatures but ${input.humidities.length} humidities; one of each per slot`);
  }
  c.int("number of slots", n, 1, 32);
  c.int("intervalMin", input.intervalMin, 1, 60);
  c.int("ageS", input.ageS, 0, U32_MAX);
  c.intOrNull("batteryMv", input.batteryMv, BATTERY.min, BATTERY.max);
  const t = channel(c, "temperatures", input.temperatures, TEMPERATURE);
  const h = channel(c, "humidities", input.humidities, HUMIDITY);

  const masks = t.missing !== 0 || h.missing !== 0;
  const w = new CborWriter().array(masks ? 12 : 10);
  w.int(FORMAT_VERSION).int(n).int(input.intervalMin).int(input.ageS);
  w.intOrNull(t.first).intOrNull(h.first);
  w.int(t.slope).int(h.slope);
  w.bytes(encodeResidualBlock(t.residuals, h.residuals));
  w.intOrNull(input.batteryMv);
  if (masks) w.int(t.missing).int(h.missing);
  return w.finish();
}

interface Channel {
  first: number | null;
  slope: number;
  residuals: number[];
  missing: number;
}

function channel(
  c: InputCheck,
  name: string,
  values: readonly (number | null)[],
  range: { min: number; max: number },
): Channel {
  const slots: number[] = [];
  const valid: number[] = [];
  let missing = 0;
  values.forEach((v, i) => {
    if (v === null) {
      missing += 2 ** i;
      return;
    }
    valid.push(c.int(`${name}[${i}]`, v, range.min, range.max));
    slots.push(i);
  });
  const slope = canonicalSlope(slots, valid);
  return { first: valid[0] ?? null, slope, residuals: residuals(slots, valid, slope), missing };
}

export function encodeBike(input: BikeInput): Uint8Array {
  const c = new InputCheck("bike input");
  c.int("binS", input.binS, 300, 3600);
  if (86400 % input.binS !== 0) c.fail(`binS is ${input.binS}, which does not divide 86400`);
  c.int("ageS", input.ageS, 0, U32_MAX);
  c.int("number of bins", input.bins.length, 1, 32);
  const w = new CborWriter().array(4).int(FORMAT_VERSION).int(input.binS).int(input.ageS);
  w.array(input.bins.length * 2);
  input.bins.forEach((bin, i) => {
    w.int(c.int(`bins[${i}].ab`, bin.ab, 0, U32_MAX));
    w.int(c.int(`bins[${i}].ba`, bin.ba, 0, U32_MAX));
  });
  return w.finish();
}

export function encodeStatus(input: StatusInput): Uint8Array {
  const c = new InputCheck("status input");
  const w = new CborWriter().array(10).int(FORMAT_VERSION);
  w.int(c.int("fwVersion", input.fwVersion, 0, 0xffffff));
  w.int(c.int("uptimeS", input.uptimeS, 0, U32_MAX));
  w.int(c.int("resetCause", input.resetCause, 0, RESET_CAUSES.length - 1));
  w.intOrNull(c.intOrNull("batteryMv", input.batteryMv, BATTERY.min, BATTERY.max));
  w.int(c.int("flags", input.flags, 0, U32_MAX));
  w.int(c.int("cfgId", input.cfgId, 0, 0xffff));
  w.int(c.int("cfgResult", input.cfgResult, 0, CONFIG_RESULTS.length - 1));
  w.int(c.int("dropped", input.dropped, 0, U32_MAX));
  w.int(c.int("noisePulses", input.noisePulses, 0, U32_MAX));
  return w.finish();
}

/** (major << 16) | (minor << 8) | patch, each 0..255. */
export function packFwVersion(major: number, minor: number, patch: number): number {
  const c = new InputCheck("firmware version");
  return (
    c.int("major", major, 0, 255) * 65536 +
    c.int("minor", minor, 0, 255) * 256 +
    c.int("patch", patch, 0, 255)
  );
}

/**
 * A configuration downlink (FPort 10) with the fields present in `patch`, keys ascending. Values are not
 * range-checked, so that tests can send what a node must reject; validate with decodeConfig first when
 * that is not the point.
 */
export function encodeConfig(patch: ConfigPatch): Uint8Array {
  const c = new InputCheck("configuration input");
  const present = CONFIG_KEYS.filter((k) => patch[k.field] !== undefined);
  const known = new Set<string>(CONFIG_KEYS.map((k) => k.field));
  for (const name of Object.keys(patch)) {
    if (!known.has(name)) c.fail(`unknown field ${name}`);
  }
  const w = new CborWriter().map(present.length);
  for (const k of present) {
    const v = patch[k.field]!;
    if (v !== null && !Number.isSafeInteger(v)) c.fail(`${k.field} must be an integer or null, got ${v}`);
    w.int(k.key).intOrNull(v);
  }
  return w.finish();
}
