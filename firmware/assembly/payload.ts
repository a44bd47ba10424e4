// Encoders of the uplink messages of shared/PAYLOAD.md, version 1, into the uplink buffer. Each returns
// the length; the caller checks it against the radio's max payload before anything is sent.
import { MAJOR_ARRAY, writeHead, writeIntOrNull, writePos, writeStart, writeUint } from "./cbor-writer";
import { slotValue } from "./climate";
import { secondsBetween } from "./clock";
import { NONE } from "./config";
import { itemSpacing, itemTime, itemValue, ringItem } from "./ring";
import { writeResiduals } from "./rice";
import {
  ST_BIKE_RING,
  ST_BOOT_AT,
  ST_BOOT_DROPPED,
  ST_BOOT_NOISE,
  ST_CLIMATE_RING,
  ST_CONFIG_ID,
  ST_CONFIG_RESULT,
  ST_RESET_CAUSE,
} from "./state";
import { CNT_DROPPED, CNT_NOISE, FW_VERSION, counter, flags } from "./status";

export const PAYLOAD_VERSION: u32 = 1;
export const TX_CAPACITY: u32 = 242; // hw/host-abi.md; the largest possible message is about 210 bytes
/** Uplink buffer, with room to encode a message before its length is checked. */
export const TX: usize = memory.data(256, 4);

/** Starts a message in TX: the array head and the format version. */
function begin(elements: u32): void {
  writeStart(TX);
  writeHead(MAJOR_ARRAY, elements);
  writeUint(PAYLOAD_VERSION);
}

function written(): u32 {
  return u32(writePos() - TX);
}

/**
 * The t0, h0, t_slope, h_slope elements in message order (i32 each), set by scanChannel; rice.ts reads the
 * slopes (shared/PAYLOAD.md "Trend and residuals").
 */
export const CHANNEL_FIRST: usize = memory.data(16, 4);
export const CHANNEL_SLOPE: usize = CHANNEL_FIRST + 8;

/** Scans the `n` oldest slots of one channel for its first value and slope; returns its missing mask. */
function scanChannel(n: u32, channel: u32): u32 {
  let first = NONE;
  let firstAt: u32 = 0;
  let last: i32 = 0;
  let lastAt: u32 = 0;
  let missing: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let value = slotValue(i, channel);
    if (value == NONE) {
      missing |= 1 << i;
      continue;
    }
    if (first == NONE) {
      first = value;
      firstAt = i;
    }
    last = value;
    lastAt = i;
  }
  store<i32>(CHANNEL_FIRST + (channel << 2), first);
  // The mean change per slot between the first and the last valid slot, truncated toward zero.
  store<i32>(CHANNEL_SLOPE + (channel << 2), lastAt > firstAt ? (last - first) / i32(lastAt - firstAt) : 0);
  return missing;
}

/** FPort 1: the `n` oldest climate slots, all consecutive. */
@inline
export function encodeClimate(n: u32, now: u32, batteryMv: i32): u32 {
  let tMissing = scanChannel(n, 0);
  let hMissing = scanChannel(n, 1);
  let hasMasks = (tMissing | hMissing) != 0;
  begin(hasMasks ? 12 : 10);
  writeUint(n);
  writeUint(itemSpacing(ringItem(ST_CLIMATE_RING, 0)) / 60);
  writeUint(secondsBetween(itemTime(ringItem(ST_CLIMATE_RING, n - 1)), now));
  for (let at = CHANNEL_FIRST; at < CHANNEL_FIRST + 16; at += 4) writeIntOrNull(load<i32>(at));
  writeResiduals(n);
  writeIntOrNull(batteryMv);
  if (hasMasks) {
    writeUint(tMissing);
    writeUint(hMissing);
  }
  return written();
}

/** FPort 2: the `n` oldest closed bins, all consecutive. */
export function encodeBike(n: u32, now: u32): u32 {
  let newest = ringItem(ST_BIKE_RING, n - 1);
  begin(4);
  writeUint(itemSpacing(newest));
  writeUint(secondsBetween(itemTime(newest) + itemSpacing(newest), now));
  writeHead(MAJOR_ARRAY, n << 1);
  for (let i: u32 = 0; i < n; i++) {
    let counts = u32(itemValue(ringItem(ST_BIKE_RING, i)));
    writeUint(counts & 0xffff);
    writeUint(counts >> 16);
  }
  return written();
}

/** FPort 3: the node status. */
export function encodeStatus(now: u32, batteryMv: i32): u32 {
  begin(10);
  writeUint(FW_VERSION);
  writeUint(secondsBetween(load<u32>(ST_BOOT_AT), now));
  writeUint(load<u32>(ST_RESET_CAUSE));
  writeIntOrNull(batteryMv);
  writeUint(flags());
  writeUint(load<u32>(ST_CONFIG_ID));
  writeUint(load<u32>(ST_CONFIG_RESULT));
  // Since the last reset (shared/PAYLOAD.md); the counters themselves run on (hw/host-abi.md).
  writeUint(counter(CNT_DROPPED) - load<u32>(ST_BOOT_DROPPED));
  writeUint(counter(CNT_NOISE) - load<u32>(ST_BOOT_NOISE));
  return written();
}
