// Zigzag mapping and Rice codes of the climate residual block (PAYLOAD.md, "Residual block"), which carries
// the residuals left after trend removal (trend.ts). A value z with parameter k is q = z >> k one-bits,
// a zero-bit, then the k low bits of z, MSB first.

export const MAX_RICE_K = 15;

export function zigzag(d: number): number {
  return d >= 0 ? 2 * d : -2 * d - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Bits that `values` (zigzagged) take with parameter k. */
export function riceBits(values: readonly number[], k: number): number {
  let bits = 0;
  for (const z of values) bits += Math.floor(z / 2 ** k) + 1 + k;
  return bits;
}

/** The canonical parameter: the smallest k in 0..15 with the fewest bits (0 when there are no values). */
export function canonicalRiceK(values: readonly number[]): number {
  let best = 0;
  let bestBits = riceBits(values, 0);
  for (let k = 1; k <= MAX_RICE_K; k++) {
    const bits = riceBits(values, k);
    if (bits < bestBits) {
      best = k;
      bestBits = bits;
    }
  }
  return best;
}

/** MSB-first bit stream; the last byte is padded with zero bits. */
export class BitWriter {
  private readonly out: number[] = [];
  private current = 0;
  private used = 0;

  bit(b: number): void {
    this.current = (this.current << 1) | b;
    this.used += 1;
    if (this.used === 8) {
      this.out.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }

  rice(z: number, k: number): void {
    const low = z % 2 ** k;
    for (let q = (z - low) / 2 ** k; q > 0; q--) this.bit(1);
    this.bit(0);
    for (let i = k - 1; i >= 0; i--) this.bit(Math.floor(low / 2 ** i) % 2);
  }

  finish(): number[] {
    const bytes = this.out.slice();
    if (this.used > 0) bytes.push(this.current << (8 - this.used));
    return bytes;
  }
}

/** Reads MSB-first bits of `bytes` from bit `start`. */
export class BitReader {
  position: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
  ) {
    this.position = start;
  }

  get length(): number {
    return this.bytes.length * 8;
  }

  bit(): number {
    const p = this.position;
    this.position += 1;
    return (this.bytes[p >> 3]! >> (7 - (p & 7))) & 1;
  }

  /** The next Rice-coded value, or undefined if the stream ends before it is complete. */
  rice(k: number): number | undefined {
    let q = 0;
    for (;;) {
      if (this.position >= this.length) return undefined;
      if (this.bit() === 0) break;
      q += 1;
    }
    if (this.position + k > this.length) return undefined;
    let low = 0;
    for (let i = 0; i < k; i++) low = low * 2 + this.bit();
    return q * 2 ** k + low;
  }
}

/** Byte 0 holds (k_t << 4) | k_h, then the temperature residuals, then the humidity residuals. */
export function encodeResidualBlock(
  tResiduals: readonly number[],
  hResiduals: readonly number[],
): Uint8Array {
  const tz = tResiduals.map(zigzag);
  const hz = hResiduals.map(zigzag);
  const kt = canonicalRiceK(tz);
  const kh = canonicalRiceK(hz);
  const w = new BitWriter();
  for (const z of tz) w.rice(z, kt);
  for (const z of hz) w.rice(z, kh);
  return Uint8Array.from([(kt << 4) | kh, ...w.finish()]);
}
