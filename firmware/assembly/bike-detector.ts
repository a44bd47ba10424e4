// Bicycle pass detection from two pulse channels (A = 0, B = 1).
// Interface used by the rest of the firmware; the implementation is owned by this file alone.

/** The pulse completed nothing countable (pending, absorbed as a rear wheel, debounced, or noise). */
export const PULSE_NONE: i32 = 0;
/** The pulse completed a pass that crossed channel A first, then B. */
export const PASS_AB: i32 = 1;
/** The pulse completed a pass that crossed channel B first, then A. */
export const PASS_BA: i32 = 2;

/** Applies the bicycle part of the configuration (ranges already validated by the caller). */
export function detectorConfigure(spacingMm: u32, speedMinKmh: u32, speedMaxKmh: u32, debounceMs: u32): void {}

/** Forgets any pending pulses (after boot or reconfiguration). */
export function detectorReset(): void {}

/** Feeds one edge; `tMs` is a wrapping millisecond counter. Returns PASS_AB, PASS_BA or PULSE_NONE. */
export function detectorPulse(channel: u32, tMs: u32): i32 {
  return PULSE_NONE;
}

/** Pulses judged to be noise since the previous call; resets the count. */
export function detectorTakeNoise(): u32 {
  return 0;
}
