import { describe, expect, it } from "vitest";
import { DedupCache, dedupKey } from "../../../../gateway/lorawan/dedup.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

function clock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("DedupCache", () => {
  it("key is DevAddr, on-air FCnt and MIC", () => {
    expect(dedupKey("26011BDA", 7, bytes(0xde, 0xad, 0xbe, 0xef))).toBe("26011BDA:7:deadbeef");
  });

  it("remembers the first reception and finds identical bytes", () => {
    const c = clock();
    const cache = new DedupCache<string>({ now: c.now });
    expect(cache.lookup("k", bytes(1, 2, 3))).toBeUndefined();
    cache.remember("k", bytes(1, 2, 3), "first");
    c.advance(40);
    expect(cache.lookup("k", bytes(1, 2, 3))).toEqual({ first: "first", ageMs: 40 });
  });

  it("keeps the first entry when the same key is remembered again", () => {
    const cache = new DedupCache<string>();
    cache.remember("k", bytes(1), "first");
    cache.remember("k", bytes(1), "second");
    expect(cache.lookup("k", bytes(1))?.first).toBe("first");
  });

  it("same key with other bytes is not a duplicate", () => {
    const cache = new DedupCache<string>();
    cache.remember("k", bytes(1, 2, 3), "first");
    expect(cache.lookup("k", bytes(1, 2, 4))).toBeUndefined();
    expect(cache.lookup("k", bytes(1, 2))).toBeUndefined();
    expect(cache.lookup("k", bytes(1, 2, 3, 0))).toBeUndefined();
  });

  it("compares every byte value, 0 to 255", () => {
    const cache = new DedupCache<string>();
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    cache.remember("k", all, "first");
    expect(cache.lookup("k", all.slice())?.first).toBe("first");
    for (const i of [0, 127, 128, 255]) {
      const other = all.slice();
      other[i] = (other[i]! + 1) % 256;
      expect(cache.lookup("k", other)).toBeUndefined();
    }
  });

  it("copies the bytes it keeps", () => {
    const cache = new DedupCache<string>();
    const b = bytes(1, 2, 3);
    cache.remember("k", b, "first");
    b[0] = 9;
    expect(cache.lookup("k", bytes(1, 2, 3))).toBeDefined();
  });

  it("forgets entries older than maxAgeMs", () => {
    const c = clock();
    const cache = new DedupCache<string>({ now: c.now, maxAgeMs: 1000 });
    cache.remember("a", bytes(1), "a");
    c.advance(600);
    cache.remember("b", bytes(2), "b");
    c.advance(500);
    expect(cache.lookup("a", bytes(1))).toBeUndefined();
    expect(cache.lookup("b", bytes(2))).toBeDefined();
    expect(cache.size).toBe(1);
  });

  it("holds at most maxEntries, evicting the oldest", () => {
    const cache = new DedupCache<number>({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) cache.remember(`k${i}`, bytes(i), i);
    expect(cache.size).toBe(3);
    expect(cache.lookup("k6", bytes(6))).toBeUndefined();
    expect(cache.lookup("k9", bytes(9))?.first).toBe(9);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
