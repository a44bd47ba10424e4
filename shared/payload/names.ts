// Names for the enumerations of PAYLOAD.md, FPort 3 and FPort 10.
import type { ConfigResultName, ResetCause } from "./types.ts";

export const RESET_CAUSES: readonly ResetCause[] = [
  "power-on",
  "brown-out",
  "watchdog",
  "software",
  "external-pin",
  "other",
];

/** Status flag names by bit. */
export const FLAG_NAMES: readonly string[] = [
  "temperature-sensor-error",
  "humidity-sensor-error",
  "temperature-out-of-range",
  "humidity-out-of-range",
  "temperature-stuck",
  "humidity-stuck",
  "battery-invalid",
  "state-invalid-at-boot",
  "data-dropped",
  "airtime-exhausted",
  "config-rejected",
  "downlink-rejected",
  "bike-noise",
  "temperature-alert",
  "radio-invalid",
];

/** Configuration result names by code. */
export const CONFIG_RESULTS: readonly ConfigResultName[] = [
  "applied",
  "malformed",
  "unknown-key",
  "out-of-range",
  "oversized",
  "inconsistent",
  "wrong-type",
  "cfg-id-missing",
  "duplicate-key",
];

export const CONFIG_RESULT = {
  applied: 0,
  malformed: 1,
  unknownKey: 2,
  outOfRange: 3,
  oversized: 4,
  inconsistent: 5,
  wrongType: 6,
  cfgIdMissing: 7,
  duplicateKey: 8,
} as const;

export function flagNames(flags: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (Math.floor(flags / 2 ** bit) % 2 === 1) names.push(FLAG_NAMES[bit] ?? `bit-${bit}`);
  }
  return names;
}

export function formatFwVersion(packed: number): string {
  return `${packed >> 16}.${(packed >> 8) & 0xff}.${packed & 0xff}`;
}
