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

export const SENSOR_CLIMATE: i32 = 1;
export const SENSOR_BIKES: i32 = 2;

/** "No value": null in the configuration and in payloads, a missing sample. Outside every valid range. */
export const NONE: i32 = -32768;

/** Per key: minimum, maximum, default. */
const LIMITS: usize = memory.data<i32>([
  1, 65535, 0,
  0, 3, 1,
  30, 3600, 300,
  60, 86400, 3600,
  300, 86400, 7200,
  -1000, 1000, 0,
  -2000, 2000, 0,
  -4000, 8500, NONE,
  -4000, 8500, NONE,
  3600, 604800, 86400,
  1000, 600000, 30000,
  100, 5000, 1000,
  1, 60, 5,
  5, 100, 50,
  1, 500, 30,
  0, 255, 24,
  300, 3600, 900,
]);

/** Where a downlink is validated before it is applied. */
export const CONFIG_SCRATCH: usize = memory.data(CONFIG_KEYS << 2, 4);

export function cfg(key: u32): i32 {
  return load<i32>(ST_CONFIG + (key << 2));
}

/** A period in seconds from the configuration, never 0 (so a garbage region cannot divide by zero). */
export function cfgPeriod(key: u32): u32 {
  return max<u32>(u32(cfg(key)), 1);
}

export function configDefaults(): void {
  for (let k: u32 = 0; k < CONFIG_KEYS; k++) store<i32>(ST_CONFIG + (k << 2), load<i32>(LIMITS + k * 12, 8));
}

/** Whether `value` is allowed for `key` on its own (consistency between keys is checked later). */
export function inRange(key: u32, value: i32): bool {
  let at = LIMITS + key * 12;
  if (value == NONE) return key == K_ALERT_HIGH || key == K_ALERT_LOW;
  if (value < load<i32>(at) || value > load<i32>(at, 4)) return false;
  if (key == K_STUCK_COUNT) return value == 0 || value >= 3;
  return key != K_BIKE_BIN || 86400 % value == 0;
}

/** Consistency rules between keys, checked on the scratch copy. */
export function scratchIsConsistent(): bool {
  let high = load<i32>(CONFIG_SCRATCH + (K_ALERT_HIGH << 2));
  let low = load<i32>(CONFIG_SCRATCH + (K_ALERT_LOW << 2));
  return (
    load<i32>(CONFIG_SCRATCH + (K_SPEED_MIN << 2)) < load<i32>(CONFIG_SCRATCH + (K_SPEED_MAX << 2)) &&
    (high == NONE || low == NONE || low < high)
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
  for (let k: u32 = 0; k < CONFIG_KEYS; k++) {
    store<i32>(ST_CONFIG + (k << 2), load<i32>(CONFIG_SCRATCH + (k << 2)));
  }
  if (cfg(K_CLIMATE_INTERVAL) != oldInterval) climateReschedule(now);
  if ((cfg(K_SENSORS) ^ oldSensors) & SENSOR_BIKES) store<u32>(ST_BIN_COUNTS, 0);
  if (cfg(K_BIKE_BIN) != oldBin || (cfg(K_SENSORS) ^ oldSensors) & SENSOR_BIKES) binsRealign(now);
  configureDetector();
}
