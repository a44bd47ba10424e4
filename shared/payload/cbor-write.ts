// Canonical CBOR writer for the few types of this format: shortest-form integer heads (RFC 8949 §4.2.1),
// definite lengths, null, byte strings, arrays, maps with keys in the order written.
// Why not cbor-x's Encoder: cbor-x 1.6 writes integers of 2^32 and more as float64, a Uint8Array as a
// tagged typed array (tag 64) and a Map with tag 259; the firmware writes none of these, and the two
// encoders must produce identical bytes.

export class CborWriter {
  private readonly out: number[] = [];

  /** An integer in −2^53..2^53 as major type 0 or 1. */
  int(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    return value >= 0 ? this.head(0, value) : this.head(1, -1 - value);
  }

  nil(): this {
    this.out.push(0xf6);
    return this;
  }

  intOrNull(value: number | null): this {
    return value === null ? this.nil() : this.int(value);
  }

  bytes(data: Uint8Array | readonly number[]): this {
    this.head(2, data.length);
    for (const b of data) this.out.push(b);
    return this;
  }

  array(length: number): this {
    return this.head(4, length);
  }

  map(pairs: number): this {
    return this.head(5, pairs);
  }

  /** Raw bytes, for tests that need a malformed item. */
  raw(data: readonly number[]): this {
    this.out.push(...data);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }

  private head(major: number, arg: number): this {
    const m = major << 5;
    if (arg < 24) {
      this.out.push(m | arg);
    } else if (arg < 0x100) {
      this.out.push(m | 24, arg);
    } else if (arg < 0x10000) {
      this.out.push(m | 25, arg >> 8, arg & 0xff);
    } else if (arg < 0x100000000) {
      this.out.push(m | 26, arg >>> 24, (arg >> 16) & 0xff, (arg >> 8) & 0xff, arg & 0xff);
    } else {
      const hi = Math.floor(arg / 0x100000000);
      const lo = arg % 0x100000000;
      this.out.push(m | 27, hi >>> 24, (hi >> 16) & 0xff, (hi >> 8) & 0xff, hi & 0xff);
      this.out.push(lo >>> 24, (lo >> 16) & 0xff, (lo >> 8) & 0xff, lo & 0xff);
    }
    return this;
  }
}
