// Climate sampling: clock-aligned slots, calibration, plausibility (sensor error, range, stuck), the
// temperature alert. Samples wait in the climate ring, T and H packed as two i16 (NONE = missing).
import { isBefore, secondsBetween } from "./clock";
import {
  K_ALERT_HIGH,
  K_ALERT_LOW,
  K_SENSORS,
  K_STUCK_COUNT,
  K_T_OFFSET,
  NONE,
  SENSOR_CLIMATE,
  cfg,
  climateIntervalS,
} from "./config";
import { logEvent, sensorRead } from "./host-imports";
import { itemValue, ringItem, ringPush } from "./ring";
import { ST_ALERT, ST_ALERT_SEND, ST_CLIMATE_RING, ST_NEXT_SAMPLE, ST_STUCK } from "./state";
import {
  CNT_REJECTED,
  CNT_SAMPLES,
  FLAG_ALERT,
  FLAG_BATTERY_INVALID,
  FLAG_T_ERROR,
  FLAG_T_RANGE,
  FLAG_T_STUCK,
  LOG_SAMPLE_REJECTED,
  count,
  raise,
} from "./status";

export const CHANNEL_BATTERY: u32 = 2;
const T_MIN: i32 = -4000;
const T_MAX: i32 = 8500;
const H_MAX: u32 = 10000;
const BATTERY_MAX: u32 = 6000;
/** Slots a late tick skipped are sent as missing, up to this many, so that the batch stays one run. */
const MAX_SKIPPED_SLOTS: u32 = 3;
const MISSING_SLOT: i32 = 0x80008000; // NONE in both halves

/** An alert ends when the temperature is back inside its threshold by this much (0.5 °C). */
export const ALERT_HYSTERESIS: i32 = 50;
const NO_HIGH: i32 = 0x7fff;

const SENSOR_OUT: usize = memory.data(4, 4);

/** Value of channel 0 (temperature) or 1 (humidity) of slot `i` (0 = oldest pending), or NONE. */
export function slotValue(i: u32, channel: u32): i32 {
  return (itemValue(ringItem(ST_CLIMATE_RING, i)) << ((channel ^ 1) << 4)) >> 16;
}

@inline
function reject(channel: u32, flag: u32): i32 {
  raise(flag << channel);
  logEvent(LOG_SAMPLE_REJECTED, channel);
  return NONE;
}

/** A calibrated, plausible reading of channel 0 or 1, or NONE (the reason goes to the status flags). */
function readClimate(channel: u32): i32 {
  if (sensorRead(channel, SENSOR_OUT)) return reject(channel, FLAG_T_ERROR);
  let raw = load<i32>(SENSOR_OUT);
  let stuck = ST_STUCK + (channel << 3);
  let repeats = raw == load<i32>(stuck) ? min<u32>(load<u32>(stuck, 4) + 1, 255) : 1;
  store<i32>(stuck, raw);
  store<u32>(stuck, repeats, 4);
  // The range applies to the calibrated value: that is what would be sent. One unsigned comparison
  // checks both ends (shared/PAYLOAD.md "Value ranges": temperature -4000..8500, humidity 0..10000).
  let value = raw + cfg(K_T_OFFSET + channel);
  let lowest = channel ? 0 : T_MIN;
  if (u32(value - lowest) > u32(channel ? H_MAX : T_MAX - T_MIN)) return reject(channel, FLAG_T_RANGE);
  let limit = u32(cfg(K_STUCK_COUNT));
  if (limit && repeats >= limit) return reject(channel, FLAG_T_STUCK);
  return value;
}

/** Battery voltage in mV, or NONE (flag 6). */
export function readBattery(): i32 {
  if (sensorRead(CHANNEL_BATTERY, SENSOR_OUT) || load<u32>(SENSOR_OUT) > BATTERY_MAX) {
    raise(FLAG_BATTERY_INVALID);
    return NONE;
  }
  return load<i32>(SENSOR_OUT);
}

/**
 * Temperature alert with hysteresis: starts at t ≥ alert_t_high or t ≤ alert_t_low, ends once t is back
 * inside by ALERT_HYSTERESIS. A new alert sends the pending batch at once (uplink.ts); flag 13 is raised at
 * every sample while the alert lasts.
 */
function updateAlert(t: i32): void {
  let active = load<u32>(ST_ALERT);
  if (t != NONE) {
    // An unset threshold is out of reach: NONE is far below every temperature, NO_HIGH far above.
    let high = cfg(K_ALERT_HIGH);
    if (high == NONE) high = NO_HIGH;
    let low = cfg(K_ALERT_LOW);
    if (!active && (t >= high || t <= low)) {
      active = 1;
      store<u32>(ST_ALERT_SEND, 1);
    } else if (t < high - ALERT_HYSTERESIS && t > low + ALERT_HYSTERESIS) {
      active = 0;
    }
    store<u32>(ST_ALERT, active);
  }
  if (active) raise(FLAG_ALERT);
}

/** Takes the sample of the current slot when it is due. Slots are multiples of climate_interval_min. */
@inline
export function climateTick(now: u32): void {
  if (!(cfg(K_SENSORS) & SENSOR_CLIMATE) || isBefore(now, load<u32>(ST_NEXT_SAMPLE))) return;
  let interval = climateIntervalS();
  let slot = now - (now % interval);
  let skipped = load<u32>(ST_NEXT_SAMPLE);
  if (secondsBetween(skipped, slot) <= MAX_SKIPPED_SLOTS * interval) {
    for (; isBefore(skipped, slot); skipped += interval) ringPush(ST_CLIMATE_RING, skipped, MISSING_SLOT, interval);
  }
  store<u32>(ST_NEXT_SAMPLE, slot + interval);
  let t = readClimate(0);
  let h = readClimate(1);
  count(CNT_SAMPLES, 1);
  if (t == NONE || h == NONE) count(CNT_REJECTED, 1);
  updateAlert(t);
  ringPush(ST_CLIMATE_RING, slot, (t & 0xffff) | (h << 16), interval);
}

/** The next sample is the first slot strictly after `now` (after a clock step or an interval change). */
export function climateReschedule(now: u32): void {
  let interval = climateIntervalS();
  store<u32>(ST_NEXT_SAMPLE, now - (now % interval) + interval);
}
