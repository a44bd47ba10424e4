// Rice-coded residual block of the climate batch (shared/PAYLOAD.md "Trend and residuals", "Residual
// block"): per channel the zigzag-mapped residuals r_j = (v_j - v_(j-1)) - s * (p_j - p_(j-1)) between
// consecutive valid slots, with the canonical (smallest best) parameter k. The slopes s are set by
// payload.ts (CHANNEL_SLOPE) before.
import { slotValue } from "./climate";
import { MAJOR_BYTES, writeByte, writeHead } from "./cbor-writer";
import { NONE } from "./config";
import { CHANNEL_SLOPE } from "./payload";

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

/** Bit length of a channel's residuals in the `n` oldest slots with parameter `k`; written if `emit`. */
function channelBits(n: u32, channel: u32, k: u32, emit: bool): u32 {
  let slope = load<i32>(CHANNEL_SLOPE + (channel << 2));
  let bits: u32 = 0;
  let prev = NONE;
  let prevAt: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let value = slotValue(i, channel);
    if (value == NONE) continue;
    if (prev != NONE) {
      let residual = value - prev - slope * i32(i - prevAt);
      let zigzag = u32((residual << 1) ^ (residual >> 31));
      let ones = zigzag >> k;
      bits += ones + 1 + k;
      if (emit) {
        while (ones--) writeBit(1);
        writeBit(0);
        for (let b = k; b--; ) writeBit((zigzag >> b) & 1);
      }
    }
    prev = value;
    prevAt = i;
  }
  return bits;
}

/** The bit count of the residuals of the channel bestK looked at last, with its k. */
let bestBits: u32 = 0;

/**
 * The canonical k: the smallest that minimises the channel's bit count. That count is convex in k (each
 * step up saves one bit per ceil(q / 2) of the quotients q, which only shrink, and costs one bit per
 * residual), so the first k whose successor is no better is the answer.
 */
function bestK(n: u32, channel: u32): u32 {
  let k: u32 = 0;
  let bits = channelBits(n, channel, 0, false);
  while (k < K_MAX) {
    let next = channelBits(n, channel, k + 1, false);
    if (next >= bits) break;
    bits = next;
    k++;
  }
  bestBits = bits;
  return k;
}

/** Writes the residual block of the `n` oldest climate slots as a CBOR byte string. */
export function writeResiduals(n: u32): void {
  let kT = bestK(n, 0);
  let bits = bestBits;
  let kH = bestK(n, 1);
  writeHead(MAJOR_BYTES, 1 + ((bits + bestBits + 7) >> 3));
  writeByte((kT << 4) | kH);
  channelBits(n, 0, kT, true);
  channelBits(n, 1, kH, true);
  if (bitCount) writeByte(bitBuffer << (8 - bitCount));
  bitBuffer = 0;
  bitCount = 0;
}
