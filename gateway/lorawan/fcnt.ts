// 32-bit uplink frame counter reconstruction (LoRaWAN 1.0.x, §4.3.1.5 and §4.4). Pure: no I/O, no state.
// Only the low 16 bits of FCntUp travel on air; the MIC (and the encryption) cover all 32 bits, so the
// candidate that makes the MIC verify is the real counter. The policy is written down in ./README.md.

/** LoRaWAN 1.0.x MAX_FCNT_GAP: the largest jump a network server must accept without question. */
export const MAX_FCNT_GAP = 16384;

/**
 * Without state (new device, or the gateway's state was lost), the on-air value is tried first, then the
 * same low bits in the next 15 epochs of 65,536 frames: a device that has sent up to ~1 million frames
 * (ten years at one uplink every five minutes) is still recognised after a gateway lost its state.
 */
export const UNKNOWN_STATE_EPOCHS = 16;

const FCNT16_SPAN = 0x1_0000;
const FCNT32_MAX = 0xffff_ffff;

/** How a (MIC-verified) 32-bit counter relates to the last accepted one of the same device. */
export type FcntVerdict =
  /** No state for the device: accepted at the reconstructed value, which becomes the state. */
  | { kind: "first"; fcnt32: number }
  /** Greater than the last accepted value by at most MAX_FCNT_GAP; `missed` frames in between. */
  | { kind: "next"; fcnt32: number; missed: number }
  /** Greater than the last accepted value by more than MAX_FCNT_GAP: accepted, counted 'fcnt_gap'. */
  | { kind: "gap"; fcnt32: number; missed: number }
  /** Not greater than the last accepted value: a replay (or a device whose counter went back), rejected. */
  | { kind: "replay"; fcnt32: number; last: number };

/**
 * The 32-bit counters to try, in order, for a frame carrying `fcnt16` on air.
 *
 * - Known state `last`: the value with the same upper 16 bits as `last`, then the one with the upper
 *   16 bits incremented (a rollover of the on-air counter). Only the first can be ≤ `last` (a replay).
 * - No state (`last` undefined): the on-air value itself (upper bits 0), then the same low bits with upper
 *   bits 1 … UNKNOWN_STATE_EPOCHS − 1.
 * Values above 2^32 − 1 are never returned. Invalid input returns no candidates.
 */
export function fcnt32Candidates(last: number | undefined, fcnt16: number): number[] {
  if (!Number.isInteger(fcnt16) || fcnt16 < 0 || fcnt16 >= FCNT16_SPAN) return [];
  if (last === undefined) {
    return Array.from({ length: UNKNOWN_STATE_EPOCHS }, (_, epoch) => epoch * FCNT16_SPAN + fcnt16);
  }
  if (!Number.isInteger(last) || last < 0 || last > FCNT32_MAX) return [];
  const sameUpper = last - (last % FCNT16_SPAN) + fcnt16;
  const rolledOver = sameUpper + FCNT16_SPAN;
  return rolledOver <= FCNT32_MAX ? [sameUpper, rolledOver] : [sameUpper];
}

/** Applies the replay and gap policy to a counter whose MIC has verified. */
export function classifyFcnt(last: number | undefined, fcnt32: number): FcntVerdict {
  if (last === undefined) return { kind: "first", fcnt32 };
  if (fcnt32 <= last) return { kind: "replay", fcnt32, last };
  const missed = fcnt32 - last - 1;
  return fcnt32 - last > MAX_FCNT_GAP ? { kind: "gap", fcnt32, missed } : { kind: "next", fcnt32, missed };
}

/**
 * The upper 16 bits of a 32-bit counter as lora-packet's `FCntMSBytes` argument: 2 bytes, little-endian,
 * because they are appended after the on-air FCnt (LSB first) to form the spec's 4-byte little-endian
 * FCnt field of the B0 (MIC) and Ai (encryption) blocks. Verified against an independent AES-CMAC in
 * test/unit/gateway/lorawan/uplink-decoder.test.ts.
 */
export function fcntMsbBytes(fcnt32: number): Buffer {
  const upper = Math.floor(fcnt32 / FCNT16_SPAN) & 0xffff;
  return Buffer.from([upper & 0xff, upper >>> 8]);
}
