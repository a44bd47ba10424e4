// Bicycle counts per direction in clock-aligned bins of bike_bin_s (shared/PAYLOAD.md "FPort 2"). The open
// bin lives in the state region; closed bins, empty ones included, wait in the bike ring.
import { PASS_AB, PULSE_NONE, detectorPulse, detectorTakeNoise } from "./bike-detector";
import { secondsBetween } from "./clock";
import { K_BIKE_BIN, K_SENSORS, SENSOR_BIKES, cfg, cfgPeriod } from "./config";
import { RING_CAP, ringPush } from "./ring";
import { ST_BIKE_RING, ST_BIN_COUNTS, ST_BIN_START } from "./state";
import { CNT_NOISE, CNT_PASS_AB, FLAG_NOISE, count, raise } from "./status";

const COUNT_MAX: u32 = 0xffff;

function closeOpenBin(binS: u32): void {
  ringPush(ST_BIKE_RING, load<u32>(ST_BIN_START), load<i32>(ST_BIN_COUNTS), binS);
  store<u32>(ST_BIN_COUNTS, 0);
}

/** The open bin becomes the aligned bin that contains `now`, keeping its counts. */
export function binsRealign(now: u32): void {
  let binS = cfgPeriod(K_BIKE_BIN);
  store<u32>(ST_BIN_START, now - (now % binS));
}

/** Closes every bin that ended by `now`. After 32 silent bins it restarts aligned at `now`. */
export function binsTick(now: u32): void {
  if (!(cfg(K_SENSORS) & SENSOR_BIKES)) return;
  let binS = cfgPeriod(K_BIKE_BIN);
  let closed: u32 = 0;
  while (secondsBetween(load<u32>(ST_BIN_START), now) >= binS) {
    closeOpenBin(binS);
    store<u32>(ST_BIN_START, load<u32>(ST_BIN_START) + binS);
    if (++closed == RING_CAP) binsRealign(now);
  }
}

/** After a reboot: the bin open before it is closed if it ended; the time the node was off is not filled. */
export function binsResume(now: u32): void {
  if (!(cfg(K_SENSORS) & SENSOR_BIKES)) return;
  let binS = cfgPeriod(K_BIKE_BIN);
  if (secondsBetween(load<u32>(ST_BIN_START), now) < binS) return;
  closeOpenBin(binS);
  binsRealign(now);
}

function countNoise(pulses: u32): void {
  if (!pulses) return;
  count(CNT_NOISE, pulses);
  raise(FLAG_NOISE);
}

/** An edge on bicycle channel 0 (A) or 1 (B); edges on other channels are noise. */
export function binsPulse(channel: u32, tMs: u32, now: u32): void {
  if (channel > 1) return countNoise(1);
  if (!(cfg(K_SENSORS) & SENSOR_BIKES)) return;
  binsTick(now);
  // PASS_AB or PASS_BA: direction 0 or 1, the A→B count in the low half of the open bin's counts.
  let pass = detectorPulse(channel, tMs);
  if (pass != PULSE_NONE) {
    let shift = u32(pass - PASS_AB) << 4;
    let counts = load<u32>(ST_BIN_COUNTS);
    if (((counts >> shift) & COUNT_MAX) < COUNT_MAX) store<u32>(ST_BIN_COUNTS, counts + (1 << shift));
    count(CNT_PASS_AB + u32(pass - PASS_AB), 1);
  }
  countNoise(detectorTakeNoise());
}
