/**
 * Named constants of the node firmware's host ABI (hw/host-abi.md) and of the values it reports that the
 * payload contract defines (shared/PAYLOAD.md). The firmware (firmware/assembly/) uses the same numbers.
 */

import { CONFIG_RESULT } from "../../shared/payload/names.ts";

export const ABI_VERSION = 1;

/** Capacities of the module's static buffers. */
export const TX_CAPACITY = 242;
export const RX_CAPACITY = 64;
/** Pending climate samples and bicycle bins each module holds at most (hw/host-abi.md "Airtime"). */
export const BUFFER_ITEMS = 32;

/** FPorts (shared/PAYLOAD.md). */
export const FPort = {
  climate: 1,
  bike: 2,
  status: 3,
  config: 10,
} as const;

/** `sensor_read` channels and units. */
export const SensorChannel = {
  /** 0.01 °C */
  temperature: 0,
  /** 0.01 %RH */
  humidity: 1,
  /** mV */
  battery: 2,
} as const;

/** `sensor_read` return codes; anything else non-zero is an unspecified error. */
export const SensorError = {
  ok: 0,
  notFitted: 1,
  busError: 2,
  crcError: 3,
  busy: 4,
} as const;

/** `init` reset causes: 0..5 are resets (and reported in the status message), 6 is not. */
export const ResetCause = {
  powerOn: 0,
  brownOut: 1,
  watchdog: 2,
  software: 3,
  externalPin: 4,
  other: 5,
  /** RAM was lost in deep sleep; with a restored state the module carries on: no boot status, uptime runs on. */
  wakeFromDeepSleep: 6,
} as const;

/** Bits of `status()` and of the status message's `flags`. */
export const Flag = {
  temperatureError: 1 << 0,
  humidityError: 1 << 1,
  temperatureOutOfRange: 1 << 2,
  humidityOutOfRange: 1 << 3,
  temperatureStuck: 1 << 4,
  humidityStuck: 1 << 5,
  batteryInvalid: 1 << 6,
  stateInvalid: 1 << 7,
  dropped: 1 << 8,
  airtimeBudgetExhausted: 1 << 9,
  configRejected: 1 << 10,
  downlinkInvalid: 1 << 11,
  bikeNoise: 1 << 12,
  temperatureAlert: 1 << 13,
  radioInvalid: 1 << 14,
} as const;

/** `counter(id)` ids. A climate sample is one slot (temperature and humidity read together). */
export const Counter = {
  samplesTaken: 0,
  /** Samples with at least one channel rejected (error, range, stuck). */
  samplesRejected: 1,
  passesAB: 2,
  passesBA: 3,
  noisePulses: 4,
  uplinksSent: 5,
  /** Airtime used in the current budget day, ms. */
  airtimeMs: 6,
  /**
   * Samples and bins dropped (buffer full). Like every counter it lives in the persisted state and survives
   * resets; the status message reports the part since the last reset.
   */
  dropped: 7,
  downlinksRejected: 8,
  climatePending: 9,
  binsPending: 10,
} as const;

export const COUNTER_IDS = 11;

/** `downlink` results: the configuration result codes of shared/PAYLOAD.md, or `unknownPort`. */
export const ConfigResult = { ...CONFIG_RESULT, unknownPort: 255 } as const;

/** Configuration keys (shared/PAYLOAD.md, FPort 10). */
export const ConfigKey = {
  cfgId: 0,
  sensors: 1,
  climateIntervalMin: 2,
  climateLatencyS: 3,
  bikeLatencyS: 4,
  tOffset: 5,
  hOffset: 6,
  alertTHigh: 7,
  alertTLow: 8,
  statusIntervalS: 9,
  airtimeBudgetMs: 10,
  tubeSpacingMm: 11,
  speedMinKmh: 12,
  speedMaxKmh: 13,
  debounceMs: 14,
  stuckCount: 15,
  bikeBinS: 16,
} as const;

/** `log_event` codes. */
export const LogEvent = {
  sampleRejected: 1,
  configRejected: 2,
  uplinkBuilt: 3,
  dropped: 4,
  airtimeBudgetExhausted: 5,
  stateInvalid: 6,
} as const;

/** Degrees of hysteresis of the temperature alert, 0.01 °C (firmware/README.md). */
export const ALERT_HYSTERESIS = 50;
