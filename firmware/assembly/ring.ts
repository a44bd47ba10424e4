// Ring buffer of pending items (climate samples, closed bicycle bins) inside the state region.
// Header: u32 head (index of the oldest item, unmasked), u32 count, u32 in flight (items in the uplink just
// built). Item, 12 bytes: u32 time (sample slot or bin start), i32 value, u32 spacing in s (climate interval
// or bin_s).
import { countDropped } from "./status";

export const RING_CAP: u32 = 32; // hw/host-abi.md "Airtime": 32 samples, 32 bins
export const RING_BYTES: u32 = 12 + RING_CAP * 12;

export function ringCount(ring: usize): u32 {
  return min(load<u32>(ring, 4), RING_CAP);
}

/** Address of item `i`, 0 = oldest. */
export function ringItem(ring: usize, i: u32): usize {
  return ring + 12 + ((load<u32>(ring) + i) & (RING_CAP - 1)) * 12;
}

export function itemTime(item: usize): u32 {
  return load<u32>(item);
}

export function itemValue(item: usize): i32 {
  return load<i32>(item, 4);
}

export function itemSpacing(item: usize): u32 {
  return load<u32>(item, 8);
}

/** Removes the `n` oldest items. */
export function ringPop(ring: usize, n: u32): void {
  let count = ringCount(ring);
  if (n > count) n = count;
  store<u32>(ring, load<u32>(ring) + n);
  store<u32>(ring, count - n, 4);
}

/** Appends an item; when full, the oldest is dropped (and counted) to make room. */
export function ringPush(ring: usize, time: u32, value: i32, spacing: u32): void {
  if (ringCount(ring) == RING_CAP) {
    ringPop(ring, 1);
    let inFlight = load<u32>(ring, 8);
    if (inFlight) store<u32>(ring, inFlight - 1, 8);
    countDropped();
  }
  let count = ringCount(ring);
  let item = ringItem(ring, count);
  store<u32>(item, time);
  store<i32>(item, value, 4);
  store<u32>(item, spacing, 8);
  store<u32>(ring, count + 1, 4);
}

/** Number of items from the oldest on that are consecutive in time (one batch can carry them). */
export function ringRunLength(ring: usize): u32 {
  let count = ringCount(ring);
  let n: u32 = 1;
  while (n < count) {
    let prev = ringItem(ring, n - 1);
    let item = ringItem(ring, n);
    if (itemSpacing(item) != itemSpacing(prev) || itemTime(item) != itemTime(prev) + itemSpacing(prev)) break;
    n++;
  }
  return min(n, count);
}

export function ringShiftTimes(ring: usize, delta: u32): void {
  let count = ringCount(ring);
  for (let i: u32 = 0; i < count; i++) {
    let item = ringItem(ring, i);
    store<u32>(item, itemTime(item) + delta);
  }
}

export function ringSetInFlight(ring: usize, n: u32): void {
  store<u32>(ring, n, 8);
}

/** The uplink just built was sent (its items are removed) or not (they stay). */
export function ringEndFlight(ring: usize, sent: bool): void {
  if (sent) ringPop(ring, load<u32>(ring, 8));
  store<u32>(ring, 0, 8);
}
