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

function written(): u32 {
  return u32(writePos() - TX);
}

/** FPort 1: the `n` oldest climate slots, all consecutive. */
export function encodeClimate(n: u32, now: u32, batteryMv: i32): u32 {
  let tMissing: u32 = 0;
  let hMissing: u32 = 0;
  let t0 = NONE;
  let h0 = NONE;
  for (let i = n; i--; ) {
    let t = slotValue(i, 0);
    let h = slotValue(i, 1);
    tMissing = (tMissing << 1) | u32(t == NONE);
    hMissing = (hMissing << 1) | u32(h == NONE);
    if (t != NONE) t0 = t;
    if (h != NONE) h0 = h;
  }
  let hasMasks = (tMissing | hMissing) != 0;
  writeStart(TX);
  writeHead(MAJOR_ARRAY, hasMasks ? 10 : 8);
  writeUint(PAYLOAD_VERSION);
  writeUint(n);
  let oldest = ringItem(ST_CLIMATE_RING, 0);
  writeUint(itemSpacing(oldest));
  writeUint(secondsBetween(itemTime(ringItem(ST_CLIMATE_RING, n - 1)), now));
  writeIntOrNull(t0);
  writeIntOrNull(h0);
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
  writeStart(TX);
  writeHead(MAJOR_ARRAY, 4);
  writeUint(PAYLOAD_VERSION);
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
  writeStart(TX);
  writeHead(MAJOR_ARRAY, 10);
  writeUint(PAYLOAD_VERSION);
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
