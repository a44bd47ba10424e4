// Start-up, clock steps and the wake-up schedule (hw/host-abi.md init, clock_set, tick).
import { binsRealign, binsResume, binsTick } from "./bike-bins";
import { isBefore, secondsBetween } from "./clock";
import { climateReschedule, climateTick } from "./climate";
import {
  K_BIKE_BIN,
  K_SENSORS,
  SENSOR_BIKES,
  SENSOR_CLIMATE,
  cfg,
  cfgPeriod,
  climateIntervalS,
  configDefaults,
  configureDetector,
} from "./config";
import { logEvent } from "./host-imports";
import { ringSetInFlight, ringShiftTimes } from "./ring";
import {
  ST_BIKE_RING,
  ST_BIN_START,
  ST_BOOT_AT,
  ST_BOOT_DROPPED,
  ST_BOOT_NOISE,
  ST_CLIMATE_RING,
  ST_CONFIG_ID,
  ST_CONFIG_RESULT,
  ST_LAST_NOW,
  ST_LAST_STATUS,
  ST_NEXT_SAMPLE,
  ST_RESET_CAUSE,
  stateClear,
  stateIsValid,
} from "./state";
import { CNT_DROPPED, CNT_NOISE, FLAG_STATE_INVALID, LOG_STATE_INVALID, counter, flags, raise } from "./status";
import { budgetRoll, isBudgetBlocked, requestStatus, uplinkDueIn } from "./uplink";

const SECONDS_PER_DAY: u32 = 86400;
const MAX_WAKE_S: u32 = 86400;
/** How soon to look again at an uplink that is due but was not sent (radio busy or duty cycle). */
const RETRY_S: u32 = 60;

/** hw/host-abi.md "Reset causes": 0..5 are resets, 6 a wake from deep sleep that keeps going. */
const RESET_OTHER: u32 = 5;
const WAKE_FROM_DEEP_SLEEP: u32 = 6;

/** A fresh state: default configuration, nothing pending, schedules aligned to `now`. */
function stateDefaults(now: u32): void {
  stateClear();
  configDefaults();
  let interval = climateIntervalS();
  store<u32>(ST_NEXT_SAMPLE, ((now + interval - 1) / interval) * interval);
  binsRealign(now);
  store<u32>(ST_LAST_STATUS, now);
  // The last time seen and the budget day are set by the touch(now) that follows in nodeInit.
}

/** Every call that carries the host's clock passes it here first. */
export function touch(now: u32): void {
  store<u32>(ST_LAST_NOW, now);
  budgetRoll(now);
}

/** The host's clock stepped: every held time moves with it, schedules realign to the new clock. */
export function clockStep(now: u32): void {
  let delta = now - load<u32>(ST_LAST_NOW);
  ringShiftTimes(ST_CLIMATE_RING, delta);
  ringShiftTimes(ST_BIKE_RING, delta);
  store<u32>(ST_LAST_STATUS, load<u32>(ST_LAST_STATUS) + delta);
  store<u32>(ST_BOOT_AT, load<u32>(ST_BOOT_AT) + delta);
  climateReschedule(now);
  binsRealign(now);
  touch(now);
}

/**
 * hw/host-abi.md init. A restored state whose clock is ahead of `now` came from before a reset that
 * restarted the host's clock (no RTC): its times are moved as if the reset took no time. A wake from deep
 * sleep with a valid state carries on; anything else is a reset: uptime from zero, a status uplink, and
 * the status's cfg_id, dropped and noise_pulses count from here.
 */
@inline
export function nodeInit(now: u32, resetCause: u32, restored: bool): u32 {
  let valid = restored && stateIsValid();
  if (valid) {
    if (isBefore(now, load<u32>(ST_LAST_NOW))) clockStep(now);
  } else {
    stateDefaults(now);
    if (restored) {
      raise(FLAG_STATE_INVALID);
      logEvent(LOG_STATE_INVALID, 0);
    }
  }
  ringSetInFlight(ST_CLIMATE_RING, 0);
  ringSetInFlight(ST_BIKE_RING, 0);
  touch(now);
  if (!valid || resetCause != WAKE_FROM_DEEP_SLEEP) {
    if (valid) binsResume(now);
    store<u32>(ST_BOOT_AT, now);
    store<u32>(ST_RESET_CAUSE, min(resetCause, RESET_OTHER));
    store<u32>(ST_CONFIG_ID, 0);
    store<u32>(ST_CONFIG_RESULT, 0);
    store<u32>(ST_BOOT_DROPPED, counter(CNT_DROPPED));
    store<u32>(ST_BOOT_NOISE, counter(CNT_NOISE));
    requestStatus();
  }
  configureDetector();
  return flags();
}

/** hw/host-abi.md tick: samples and bins what is due, returns the seconds until the next tick. */
@inline
export function nodeTick(now: u32): u32 {
  touch(now);
  climateTick(now);
  binsTick(now);
  let wake = MAX_WAKE_S;
  let sensors = cfg(K_SENSORS);
  if (sensors & SENSOR_CLIMATE) wake = min(wake, secondsBetween(now, load<u32>(ST_NEXT_SAMPLE)));
  if (sensors & SENSOR_BIKES) {
    wake = min(wake, secondsBetween(now, load<u32>(ST_BIN_START) + cfgPeriod(K_BIKE_BIN)));
  }
  let due = uplinkDueIn(now);
  if (!due) due = isBudgetBlocked() ? SECONDS_PER_DAY - (now % SECONDS_PER_DAY) : RETRY_S;
  return max<u32>(min(wake, due), 1);
}
