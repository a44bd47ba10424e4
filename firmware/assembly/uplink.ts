// Which uplink to build and when (hw/host-abi.md "Call order", "Airtime"): a batch goes when it fills the
// radio's max payload, when its oldest item reaches the latency bound, or at once on a new alert; the
// status after boot, after each configuration and every status_interval_s. Everything within the daily
// airtime budget; nothing is removed until the host reports it sent.
import { airtimeMs } from "./airtime";
import { readBattery } from "./climate";
import { secondsBetween } from "./clock";
import { K_AIRTIME_BUDGET, K_CLIMATE_LATENCY, K_STATUS_INTERVAL, NONE, cfg } from "./config";
import { logEvent } from "./host-imports";
import { encodeBike, encodeClimate, encodeStatus } from "./payload";
import {
  RING_CAP,
  itemTime,
  ringCount,
  ringItem,
  ringEndFlight,
  ringRunLength,
  ringSetInFlight,
} from "./ring";
import {
  ST_ALERT_SEND,
  ST_BIKE_RING,
  ST_BUDGET_DAY,
  ST_CLIMATE_RING,
  ST_COUNTERS,
  ST_LAST_STATUS,
  ST_STATUS_WANTED,
} from "./state";
import {
  CNT_AIRTIME_MS,
  CNT_UPLINKS,
  FLAG_BUDGET,
  FLAG_RADIO_INVALID,
  LOG_BUDGET_EXHAUSTED,
  LOG_UPLINK_BUILT,
  clearFlags,
  count,
  counter,
  flags,
  raise,
} from "./status";

export const PORT_CLIMATE: u32 = 1;
export const PORT_BIKE: u32 = 2;
export const PORT_STATUS: u32 = 3;
const SECONDS_PER_DAY: u32 = 86400;
/** A battery reading as large as any valid one, to size a batch before deciding to send it. */
const BATTERY_WIDEST: i32 = 6000;

// Data rate in force (hw/host-abi.md radio_set). Until the host sets one: EU868 DR0.
let radioSf: u32 = 12;
let radioBwKhz: u32 = 125;
let radioMaxPayload: u32 = 51;

let builtPort: u32 = 0; // FPort of the uplink just built, 0 = none
let builtAirtimeMs: u32 = 0;
let builtFlags: u32 = 0; // the flags a status uplink reports, cleared once it is sent
let budgetBlocked: bool = false;

export function radioSet(sf: u32, bwKhz: u32, maxPayload: u32): u32 {
  if (sf - 7 > 5 || (bwKhz != 125 && bwKhz != 250 && bwKhz != 500) || maxPayload - 11 > 231) {
    raise(FLAG_RADIO_INVALID);
    return 1;
  }
  radioSf = sf;
  radioBwKhz = bwKhz;
  radioMaxPayload = maxPayload;
  return 0;
}

export function requestStatus(): void {
  store<u32>(ST_STATUS_WANTED, 1);
}

export function builtFPort(): u32 {
  return builtPort;
}

/** Starts a new budget day when `now` is in another one than the budget in force. */
export function budgetRoll(now: u32): void {
  let day = now / SECONDS_PER_DAY;
  if (day == load<u32>(ST_BUDGET_DAY)) return;
  store<u32>(ST_BUDGET_DAY, day);
  store<u32>(ST_COUNTERS + (CNT_AIRTIME_MS << 2), 0);
  budgetBlocked = false;
}

/** Accepts the uplink in TX if it fits the airtime budget. */
function accept(port: u32, len: u32): u32 {
  let ms = airtimeMs(len, radioSf, radioBwKhz);
  let used = counter(CNT_AIRTIME_MS);
  if (used + ms > u32(cfg(K_AIRTIME_BUDGET))) {
    raise(FLAG_BUDGET);
    logEvent(LOG_BUDGET_EXHAUSTED, used);
    budgetBlocked = true;
    return 0;
  }
  builtPort = port;
  builtAirtimeMs = ms;
  logEvent(LOG_UPLINK_BUILT, len);
  return len;
}

function encodeBatch(port: u32, n: u32, now: u32, batteryMv: i32): u32 {
  return port == PORT_CLIMATE ? encodeClimate(n, now, batteryMv) : encodeBike(n, now);
}

function ringOf(port: u32): usize {
  return port == PORT_CLIMATE ? ST_CLIMATE_RING : ST_BIKE_RING;
}

/** Seconds until the batch of `port` is due by its latency bound, counted from its oldest item. */
function batchDueIn(port: u32, now: u32): u32 {
  let ring = ringOf(port);
  if (!ringCount(ring)) return SECONDS_PER_DAY;
  // climate_latency_s and bike_latency_s are the keys right after the ports' numbers.
  let latency = cfg(port + (K_CLIMATE_LATENCY - PORT_CLIMATE));
  return secondsBetween(now, itemTime(ringItem(ring, 0)) + latency);
}

/** Builds the batch of `port` if it is due: as many consecutive items as the max payload holds. */
function buildBatch(port: u32, now: u32, urgent: bool): u32 {
  let ring = ringOf(port);
  let pending = ringCount(ring);
  if (!pending) return 0;
  let n = ringRunLength(ring);
  let due = urgent || pending == RING_CAP || !batchDueIn(port, now);
  if (!due && encodeBatch(port, n, now, BATTERY_WIDEST) <= radioMaxPayload) return 0;
  let batteryMv = port == PORT_CLIMATE ? readBattery() : NONE;
  let len: u32;
  while ((len = encodeBatch(port, n, now, batteryMv)) > radioMaxPayload) {
    if (n == 1) return 0;
    n--;
  }
  len = accept(port, len);
  if (len) ringSetInFlight(ring, n);
  return len;
}

function statusDueIn(now: u32): u32 {
  return secondsBetween(now, load<u32>(ST_LAST_STATUS) + u32(cfg(K_STATUS_INTERVAL)));
}

function buildStatus(now: u32): u32 {
  if (!load<u32>(ST_STATUS_WANTED) && statusDueIn(now)) return 0;
  let len = encodeStatus(now, readBattery());
  if (len > radioMaxPayload) return 0;
  builtFlags = flags();
  return accept(PORT_STATUS, len);
}

/** hw/host-abi.md uplink_build: a new alert first, then the status, then climate, then bicycles. */
export function uplinkBuild(now: u32): u32 {
  builtPort = 0;
  let len: u32 = 0;
  if (load<u32>(ST_ALERT_SEND)) len = buildBatch(PORT_CLIMATE, now, true);
  if (!len) len = buildStatus(now);
  if (!len) len = buildBatch(PORT_CLIMATE, now, false);
  if (!len) len = buildBatch(PORT_BIKE, now, false);
  return len;
}

export function uplinkDone(now: u32, sent: bool): void {
  let port = builtPort;
  builtPort = 0;
  if (!port) return;
  if (port != PORT_STATUS) ringEndFlight(ringOf(port), sent);
  if (!sent) return;
  count(CNT_UPLINKS, 1);
  count(CNT_AIRTIME_MS, builtAirtimeMs);
  if (port == PORT_STATUS) {
    store<u32>(ST_STATUS_WANTED, 0);
    store<u32>(ST_LAST_STATUS, now);
    clearFlags(builtFlags);
  } else if (port == PORT_CLIMATE && !ringCount(ST_CLIMATE_RING)) {
    // The alert sample may not have fitted into this batch: the rest goes at once too.
    store<u32>(ST_ALERT_SEND, 0);
  }
}

/** Seconds from `now` until an uplink is due; 0 if one is due already. */
export function uplinkDueIn(now: u32): u32 {
  if (load<u32>(ST_STATUS_WANTED) || load<u32>(ST_ALERT_SEND)) return 0;
  return min(statusDueIn(now), min(batchDueIn(PORT_CLIMATE, now), batchDueIn(PORT_BIKE, now)));
}

/** Whether the airtime budget refused an uplink today. */
export function isBudgetBlocked(): bool {
  return budgetBlocked;
}
