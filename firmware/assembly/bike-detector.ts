// Bicycle pass detection from two pulse channels (A = 0, B = 1).
// Interface used by the rest of the firmware; the implementation is owned by this file alone.
// Algorithm and its accuracy limits: hw/bike-counter.md.

/** The pulse completed nothing countable (pending, absorbed as a rear wheel, debounced, or noise). */
export const PULSE_NONE: i32 = 0;
/** The pulse completed a pass that crossed channel A first, then B. */
export const PASS_AB: i32 = 1;
/** The pulse completed a pass that crossed channel B first, then A. */
export const PASS_BA: i32 = 2;

// Wheelbases (mm) that make a later axle the rear wheel of a counted front wheel: up to mid-tail cargo bikes
// (1700 mm); a rider following 1 m behind a rear wheel is >= 1950 mm behind the front wheel and counts on its
// own. The lower bound is below any bicycle (kids' bikes ~650 mm) because a front paired across a missed
// pulse (front wheel at A, rear wheel at B) overestimates the crossing time, hence the wheelbase window.
const WB_MIN: u64 = 450;
const WB_MAX: u64 = 1700;
// A rear wheel crosses at the speed of its front wheel: same crossing time within a quarter plus this.
const TOL_MS: u32 = 8;
// Pulses down to speed_min / SLOW are recognised as a rider too slow to count.
const SLOW: u32 = 4;

// Pending (unpaired) pulses per channel, oldest first: Q_LEN u32 times at PENDING + ch * Q_LEN * 4.
const Q_LEN: u32 = 8;
const PENDING = memory.data(64);
// Per channel (<< 2): number of pending pulses; time of the last accepted (debounced) pulse.
const FILL = memory.data(8);
const LAST = memory.data(8);
// Per channel (<< 2): time of the last pulse that expired unpaired; `stale` has a bit per channel set.
const STALE = memory.data(8);
// Per direction (PASS_AB or PASS_BA, << 3) the last two counted wheel crossings, newest at +0: time at the
// first channel, crossing time, and OPEN = 1 while the rear wheel has not been seen. Offset 0 means none.
const FRONT_T = memory.data(24);
const FRONT_DT = memory.data(24);
const OPEN = memory.data(24);

let spacing: u32 = 1000;
let dtMin: u32 = 72; // ms for a wheel to go from one channel to the other at speed_max
let dtMax: u32 = 720; // ... at speed_min
let debounce: u32 = 30;
let seen: u32 = 0; // bit per channel: LAST holds a time
let stale: u32 = 0;
let noise: u32 = 0;

/** Applies the bicycle part of the configuration (ranges already validated by the caller). */
export function detectorConfigure(spacingMm: u32, speedMinKmh: u32, speedMaxKmh: u32, debounceMs: u32): void {
  // dt = spacing / speed = spacing_mm * 3600 / (speed_kmh * 1000) ms; divisors kept non-zero.
  const lo = (speedMinKmh > 0 ? speedMinKmh : 1) * 5;
  const hi = (speedMaxKmh > 0 ? speedMaxKmh : 1) * 5;
  const min = (spacingMm * 18) / hi;
  spacing = spacingMm;
  dtMin = min > 0 ? min : 1;
  dtMax = (spacingMm * 18 + lo - 1) / lo;
  debounce = debounceMs;
}

/** Forgets any pending pulses (after boot or reconfiguration). */
export function detectorReset(): void {
  store<u64>(FILL, 0);
  store<u64>(OPEN + 8, 0);
  store<u64>(OPEN + 16, 0);
  seen = 0;
  stale = 0;
}

/** Feeds one edge; `tMs` is a wrapping millisecond counter. Returns PASS_AB, PASS_BA or PULSE_NONE. */
export function detectorPulse(channel: u32, tMs: u32): i32 {
  if (channel > 1) {
    noise++;
    return PULSE_NONE;
  }
  // Contact bounce: ignore edges within `debounce` of the last accepted one on this channel.
  const last = LAST + (channel << 2);
  if ((seen & (1 << channel)) != 0 && tMs - load<u32>(last) < debounce) return PULSE_NONE;
  seen |= 1 << channel;
  store<u32>(last, tMs);
  expire(0, tMs);
  expire(1, tMs);

  // Pair with the oldest pending pulse of the other channel that is at least dtMin old (at most dtMax after
  // expire): oldest first keeps the order of the wheels between the channels when spacing > wheelbase.
  const other = channel ^ 1;
  const dir = other == 0 ? PASS_AB : PASS_BA;
  let i: u32 = 0;
  while (i < fill(other)) {
    const t0 = pendingAt(other, i);
    const dt = tMs - t0;
    if (dt < dtMin) break; // the rest are younger
    const f = rearOf(dir, t0);
    if (f != 0) {
      // Where the rear wheel of a counted front was due: it must cross at the front wheel's speed.
      const fdt = load<u32>(FRONT_DT + f);
      const tol = (fdt >> 2) + TOL_MS;
      if (dt + tol < fdt) {
        i++; // too early: this pulse is someone else's, the partner may still come
        continue;
      }
      remove(other, i);
      store<u32>(OPEN + f, 0);
      if (dt <= fdt + tol) return PULSE_NONE; // the rear wheel
      continue; // too late: the rear wheel's partner was missed
    }
    remove(other, i);
    return counted(dir, channel, t0, dt, tMs);
  }
  // A pulse expired on the other channel shortly before: this is its partner, too slow for the window (a
  // pushed bike). Dropped, lest it pair with the next wheel into a fast pass in the wrong direction.
  if ((stale & (1 << other)) != 0 && tMs - load<u32>(STALE + (other << 2)) <= dtMax * SLOW) {
    stale &= ~(1 << other);
    noise++;
    return PULSE_NONE;
  }
  if (fill(channel) == Q_LEN) {
    remove(channel, 0);
    noise++;
  }
  const n = fill(channel);
  store<u32>(PENDING + ((channel * Q_LEN + n) << 2), tMs);
  store<u32>(FILL + (channel << 2), n + 1);
  return PULSE_NONE;
}

/** Pulses judged to be noise since the previous call; resets the count. */
export function detectorTakeNoise(): u32 {
  const n = noise;
  noise = 0;
  return n;
}

// A new front wheel crossed from the other channel (at t0) to `channel` (now, dt later).
@inline
function counted(dir: i32, channel: u32, t0: u32, dt: u32, now: u32): i32 {
  const d = <u32>dir << 3;
  store<u32>(FRONT_T + d + 4, load<u32>(FRONT_T + d));
  store<u32>(FRONT_DT + d + 4, load<u32>(FRONT_DT + d));
  store<u32>(OPEN + d + 4, load<u32>(OPEN + d));
  store<u32>(FRONT_T + d, t0);
  store<u32>(FRONT_DT + d, dt);
  store<u32>(OPEN + d, 1);
  // A pending pulse on this channel less than a wheelbase ago is this bicycle's front wheel whose first
  // pulse was missed (we paired its rear wheel): drop it before it pairs with someone else.
  const reach = WB_MAX * <u64>dt;
  let n = fill(channel);
  while (n > 0 && <u64>(now - pendingAt(channel, n - 1)) * <u64>spacing <= reach) n--;
  store<u32>(FILL + (channel << 2), n);
  return dir;
}

// The open front in `dir` (its offset, else 0) whose rear wheel may have reached the first channel at t:
// a wheelbase after the front wheel, at the front wheel's speed.
function rearOf(dir: i32, t: u32): u32 {
  for (let f = (<u32>dir << 3); f < (<u32>dir << 3) + 8; f += 4) {
    if (load<u32>(OPEN + f) == 0) continue;
    const fdt = load<u32>(FRONT_DT + f);
    const apart = <u64>(t - load<u32>(FRONT_T + f)) * <u64>spacing;
    if (apart >= WB_MIN * <u64>fdt && apart <= WB_MAX * <u64>fdt) return f;
  }
  return 0;
}

// Pending pulses older than dtMax can no longer pair: noise.
function expire(channel: u32, now: u32): void {
  while (fill(channel) > 0 && now - pendingAt(channel, 0) > dtMax) {
    store<u32>(STALE + (channel << 2), pendingAt(channel, 0));
    stale |= 1 << channel;
    remove(channel, 0);
    noise++;
  }
}

function fill(channel: u32): u32 {
  return load<u32>(FILL + (channel << 2));
}

function pendingAt(channel: u32, i: u32): u32 {
  return load<u32>(PENDING + ((channel * Q_LEN + i) << 2));
}

function remove(channel: u32, i: u32): void {
  const n = fill(channel) - 1;
  for (let j = i; j < n; j++) {
    store<u32>(PENDING + ((channel * Q_LEN + j) << 2), pendingAt(channel, j + 1));
  }
  store<u32>(FILL + (channel << 2), n);
}
