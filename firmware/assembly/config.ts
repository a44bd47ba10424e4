// Node configuration: the keys, ranges and defaults of shared/PAYLOAD.md "FPort 10", stored by key in the
// state region. Downlinks are parsed by cbor-config-reader.ts into a scratch copy; apply() swaps it in.
import { detectorConfigure, detectorReset } from "./bike-detector";
import { binsRealign } from "./bike-bins";
import { climateReschedule } from "./climate";
import { ST_BIN_COUNTS, ST_CONFIG } from "./state";

export const K_CFG_ID: u32 = 0;
export const K_SENSORS: u32 = 1;
export const K_CLIMATE_INTERVAL: u32 = 2;
export const K_CLIMATE_LATENCY: u32 = 3;
export const K_BIKE_LATENCY: u32 = 4;
export const K_T_OFFSET: u32 = 5; // + 1: humidity offset
export const K_ALERT_HIGH: u32 = 7;
export const K_ALERT_LOW: u32 = 8;
export const K_STATUS_INTERVAL: u32 = 9;
export const K_AIRTIME_BUDGET: u32 = 10;
export const K_TUBE_SPACING: u32 = 11;
export const K_SPEED_MIN: u32 = 12;
export const K_SPEED_MAX: u32 = 13;
export const K_DEBOUNCE: u32 = 14;
export const K_STUCK_COUNT: u32 = 15;
export const K_BIKE_BIN: u32 = 16;
export const CONFIG_KEYS: u32 = 17;
/** A longer configuration is rejected as oversized (shared/PAYLOAD.md result 4); also the downlink buffer. */
export const CONFIG_MAX_BYTES: u32 = 64;

export const SENSOR_CLIMATE: i32 = 1;
export const SENSOR_BIKES: i32 = 2;

/** "No value": null in the configuration and in payloads, a missing sample. Outside every valid range. */
export const NONE: i32 = -32768;

/** Per key (<< 2): the maximum. */
const MAXIMUM: usize = memory.data<i32>([
  65535, 3, 60, 86400, 86400, 1000, 2000, 8500, 8500, 604800, 600000, 5000, 60, 100, 500, 255, 3600,
]);
/**
 * Per key (<< 2): the minimum and the default, as i16 (half the bytes of i32). The one default that does not
 * fit, status_interval_s, is set by configDefaults.
 */
const MINIMUM_DEFAULT: usize = memory.data<i16>([
  1, 0,
  0, 1,
  1, 5,
  60, 3600,
  300, 7200,
  -1000, 0,
  -2000, 0,
  -4000, i16(NONE),
  -4000, i16(NONE),
  3600, 0,
  1000, 30000,
  100, 1000,
  1, 5,
  5, 50,
  1, 30,
  0, 24,
  300, 900,
]);
const STATUS_INTERVAL_DEFAULT: i32 = 86400;

/** Where a downlink is validated before it is applied. */
export const CONFIG_SCRATCH: usize = memory.data(CONFIG_KEYS << 2, 4);

export function cfg(key: u32): i32 {
  return load<i32>(ST_CONFIG + (key << 2));
}

/** A period in seconds from the configuration, never 0 (so a garbage region cannot divide by zero). */
export function cfgPeriod(key: u32): u32 {
  return max<u32>(u32(cfg(key)), 1);
}

/** climate_interval_min in seconds: slots, ring spacing and schedules all work in seconds. */
export function climateIntervalS(): u32 {
  return max<u32>(u32(cfg(K_CLIMATE_INTERVAL)) * 60, 1);
}

function copyConfig(to: usize, from: usize): void {
  for (let k: u32 = 0; k < CONFIG_KEYS << 2; k += 4) store<i32>(to + k, load<i32>(from + k));
}

export function configDefaults(): void {
  for (let k: u32 = 0; k < CONFIG_KEYS << 2; k += 4) {
    store<i32>(ST_CONFIG + k, load<i16>(MINIMUM_DEFAULT + k, 2));
  }
  store<i32>(ST_CONFIG + (K_STATUS_INTERVAL << 2), STATUS_INTERVAL_DEFAULT);
}

/** CONFIG_SCRATCH becomes a copy of the configuration in force. */
export function scratchFromConfig(): void {
  copyConfig(CONFIG_SCRATCH, ST_CONFIG);
}

/** Whether `value` is allowed for `key` on its own (consistency between keys is checked later). */
export function inRange(key: u32, value: i32): bool {
  let at = key << 2;
  if (value == NONE) return key - K_ALERT_HIGH <= K_ALERT_LOW - K_ALERT_HIGH; // the alerts, 7 and 8
  if (value > load<i32>(MAXIMUM + at) || value < i32(load<i16>(MINIMUM_DEFAULT + at))) return false;
  if (key == K_STUCK_COUNT) return value == 0 || value >= 3;
  return key != K_BIKE_BIN || 86400 % value == 0;
}

/** Consistency rules between keys, checked on the scratch copy. */
export function scratchIsConsistent(): bool {
  let high = load<i32>(CONFIG_SCRATCH + (K_ALERT_HIGH << 2));
  let low = load<i32>(CONFIG_SCRATCH + (K_ALERT_LOW << 2));
  return (
    load<i32>(CONFIG_SCRATCH + (K_SPEED_MIN << 2)) < load<i32>(CONFIG_SCRATCH + (K_SPEED_MAX << 2)) &&
    (high == NONE || low < high)
  );
}

/** Hands the bicycle part of the configuration to the detector and forgets its pending pulses. */
export function configureDetector(): void {
  detectorConfigure(cfg(K_TUBE_SPACING), cfg(K_SPEED_MIN), cfg(K_SPEED_MAX), cfg(K_DEBOUNCE));
  detectorReset();
}

/** Makes the validated scratch copy the configuration in force, and realigns what depends on it. */
export function configApply(now: u32): void {
  let oldInterval = cfg(K_CLIMATE_INTERVAL);
  let oldBin = cfg(K_BIKE_BIN);
  let oldSensors = cfg(K_SENSORS);
  copyConfig(ST_CONFIG, CONFIG_SCRATCH);
  if (cfg(K_CLIMATE_INTERVAL) != oldInterval) climateReschedule(now);
  let bikesToggled = (cfg(K_SENSORS) ^ oldSensors) & SENSOR_BIKES;
  if (bikesToggled) store<u32>(ST_BIN_COUNTS, 0);
  if (bikesToggled || cfg(K_BIKE_BIN) != oldBin) binsRealign(now);
  configureDetector();
}
