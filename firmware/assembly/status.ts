// Status flags, diagnostic counters and log codes (shared/PAYLOAD.md "FPort 3", hw/host-abi.md "Exports").
import { logEvent } from "./host-imports";
import { ST_COUNTERS, ST_FLAGS } from "./state";

/** (major << 16) | (minor << 8) | patch */
export const FW_VERSION: u32 = (0 << 16) | (1 << 8) | 0;

export const FLAG_T_ERROR: u32 = 1 << 0; // << 1 for humidity, likewise for range and stuck
export const FLAG_T_RANGE: u32 = 1 << 2;
export const FLAG_T_STUCK: u32 = 1 << 4;
export const FLAG_BATTERY_INVALID: u32 = 1 << 6;
export const FLAG_STATE_INVALID: u32 = 1 << 7;
export const FLAG_DROPPED: u32 = 1 << 8;
export const FLAG_BUDGET: u32 = 1 << 9;
export const FLAG_CONFIG_REJECTED: u32 = 1 << 10;
export const FLAG_DOWNLINK_INVALID: u32 = 1 << 11;
export const FLAG_NOISE: u32 = 1 << 12;
export const FLAG_ALERT: u32 = 1 << 13;
export const FLAG_RADIO_INVALID: u32 = 1 << 14;

export const CNT_SAMPLES: u32 = 0;
export const CNT_REJECTED: u32 = 1;
export const CNT_PASS_AB: u32 = 2; // + 1 for B→A
export const CNT_NOISE: u32 = 4;
export const CNT_UPLINKS: u32 = 5;
export const CNT_AIRTIME_MS: u32 = 6;
export const CNT_DROPPED: u32 = 7;
export const CNT_DOWNLINKS_REJECTED: u32 = 8;
export const CNT_CLIMATE_PENDING: u32 = 9; // computed, not stored
export const CNT_BINS_PENDING: u32 = 10; // computed, not stored

export const LOG_SAMPLE_REJECTED: u32 = 1;
export const LOG_CONFIG_REJECTED: u32 = 2;
export const LOG_UPLINK_BUILT: u32 = 3;
export const LOG_DROPPED: u32 = 4;
export const LOG_BUDGET_EXHAUSTED: u32 = 5;
export const LOG_STATE_INVALID: u32 = 6;

export function flags(): u32 {
  return load<u32>(ST_FLAGS);
}

export function raise(flag: u32): void {
  store<u32>(ST_FLAGS, load<u32>(ST_FLAGS) | flag);
}

export function clearFlags(sent: u32): void {
  store<u32>(ST_FLAGS, load<u32>(ST_FLAGS) & ~sent);
}

export function counter(id: u32): u32 {
  return load<u32>(ST_COUNTERS + (id << 2));
}

export function count(id: u32, by: u32): void {
  let at = ST_COUNTERS + (id << 2);
  store<u32>(at, load<u32>(at) + by);
}

export function countDropped(): void {
  count(CNT_DROPPED, 1);
  raise(FLAG_DROPPED);
  logEvent(LOG_DROPPED, 1);
}
