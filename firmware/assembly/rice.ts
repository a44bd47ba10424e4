// Rice-coded residual block of the climate batch (shared/PAYLOAD.md "Residual block"): per channel the
// zigzag-mapped deltas between consecutive valid slots, with the canonical (smallest best) parameter k.
import { slotValue } from "./climate";
import { MAJOR_BYTES, writeByte, writeHead } from "./cbor-writer";
import { NONE } from "./config";

const K_MAX: u32 = 15;

let bitBuffer: u32 = 0;
let bitCount: u32 = 0;

function writeBit(bit: u32): void {
  bitBuffer = (bitBuffer << 1) | bit;
  if (++bitCount == 8) {
    writeByte(bitBuffer);
    bitBuffer = 0;
    bitCount = 0;
  }
}

/** Bit length of one channel's deltas over the `n` oldest slots with parameter `k`; writes them if `emit`. */
function channelBits(n: u32, channel: u32, k: u32, emit: bool): u32 {
  let bits: u32 = 0;
  let prev = NONE;
  for (let i: u32 = 0; i < n; i++) {
    let value = slotValue(i, channel);
    if (value == NONE) continue;
    if (prev != NONE) {
      let delta = value - prev;
      let zigzag = u32((delta << 1) ^ (delta >> 31));
      let ones = zigzag >> k;
      bits += ones + 1 + k;
      if (emit) {
        while (ones--) writeBit(1);
        writeBit(0);
        for (let b = k; b--; ) writeBit((zigzag >> b) & 1);
      }
    }
    prev = value;
  }
  return bits;
}

function bestK(n: u32, channel: u32): u32 {
  let best: u32 = 0;
  let bestBits = channelBits(n, channel, 0, false);
  for (let k: u32 = 1; k <= K_MAX; k++) {
    let bits = channelBits(n, channel, k, false);
    if (bits < bestBits) {
      best = k;
      bestBits = bits;
    }
  }
  return best;
}

/** Writes the residual block of the `n` oldest climate slots as a CBOR byte string. */
export function writeResiduals(n: u32): void {
  let kT = bestK(n, 0);
  let kH = bestK(n, 1);
  let bits = channelBits(n, 0, kT, false) + channelBits(n, 1, kH, false);
  writeHead(MAJOR_BYTES, 1 + ((bits + 7) >> 3));
  writeByte((kT << 4) | kH);
  channelBits(n, 0, kT, true);
  channelBits(n, 1, kH, true);
  if (bitCount) writeByte(bitBuffer << (8 - bitCount));
  bitBuffer = 0;
  bitCount = 0;
}
