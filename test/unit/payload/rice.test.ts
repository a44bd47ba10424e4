// Zigzag mapping, Rice codes and the canonical choice of k (PAYLOAD.md, "Residual block").
import { describe, expect, it } from "vitest";
import {
  BitReader,
  BitWriter,
  canonicalRiceK,
  encodeResidualBlock,
  riceBits,
  unzigzag,
  zigzag,
} from "../../../shared/payload/rice.ts";

describe("rice", () => {
  it("zigzag maps 0, -1, 1, -2, 2 to 0, 1, 2, 3, 4 and back", () => {
    expect([0, -1, 1, -2, 2, -12500, 12500].map(zigzag)).toEqual([0, 1, 2, 3, 4, 24999, 25000]);
    for (let d = -12500; d <= 12500; d++) expect(unzigzag(zigzag(d))).toBe(d);
  });

  it("writes q one-bits, a zero-bit and k low bits, most significant first", () => {
    const w = new BitWriter();
    w.rice(9, 2); // q = 2, low = 01: 11 0 01
    w.rice(0, 0); // 0
    expect(w.finish()).toEqual([0b11001000]);
  });

  it("chooses the smallest k with the fewest bits", () => {
    expect(canonicalRiceK([])).toBe(0);
    expect(canonicalRiceK([0, 0, 0])).toBe(0);
    // k = 0 and k = 1 both take 2 bits for z = 1: the smaller wins
    expect(riceBits([1], 0)).toBe(riceBits([1], 1));
    expect(canonicalRiceK([1])).toBe(0);
    expect(canonicalRiceK([25000, 24999])).toBe(14);
    for (const values of [
      [3, 5, 9, 2],
      [100, 40, 70],
      [1, 1, 2, 0, 3],
    ]) {
      const k = canonicalRiceK(values);
      for (let other = 0; other <= 15; other++) {
        expect(
          riceBits(values, other) > riceBits(values, k) ||
            (riceBits(values, other) === riceBits(values, k) && other >= k),
        ).toBe(true);
      }
    }
  });

  it("reads back what it wrote and reports a stream that ends early", () => {
    const values = [0, 5, 17, 1, 300, 2];
    const w = new BitWriter();
    for (const z of values) w.rice(z, 3);
    const r = new BitReader(Uint8Array.from(w.finish()), 0);
    expect(values.map(() => r.rice(3))).toEqual(values);
    expect(new BitReader(Uint8Array.from([0xff]), 0).rice(0)).toBeUndefined();
    expect(new BitReader(Uint8Array.from([0x00]), 6).rice(2)).toBeUndefined();
  });

  it("puts both parameters in byte 0 and pads with zero bits", () => {
    expect([...encodeResidualBlock([], [])]).toEqual([0x00]);
    // temperature +1: z 2 takes 3 bits with k 0 or 1, so k 0: 110; humidity -1: z 1, k 0: 10
    expect([...encodeResidualBlock([1], [-1])]).toEqual([0x00, 0b11010000]);
    // temperature +5, +6: z 10 and 12 take 24, 15, 11, 10, 10 bits with k 0..4, so k 3: 1 0 010, 1 0 100
    expect([...encodeResidualBlock([5, 6], [])]).toEqual([0x30, 0b10010101, 0b00000000]);
  });
});
