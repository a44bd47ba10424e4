/**
 * Minimal CBOR writer for configuration downlinks (shared/PAYLOAD.md, FPort 10) in generated scenarios. It
 * writes whatever it is given, in order, so a scenario can also carry duplicate keys, wrong types and other
 * deliberately invalid maps that a well-behaved encoder would refuse to produce.
 */

export type CborItem = number | null | string | CborItem[];

function head(major: number, n: number): number[] {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  return [m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function item(v: CborItem): number[] {
  if (v === null) return [0xf6];
  if (typeof v === "string") {
    const bytes = [...Buffer.from(v, "utf8")];
    return [...head(3, bytes.length), ...bytes];
  }
  if (Array.isArray(v)) return [...head(4, v.length), ...v.flatMap(item)];
  if (!Number.isInteger(v) || Math.abs(v) > 0xffffffff) throw new RangeError(`not a CBOR int: ${v}`);
  return v >= 0 ? head(0, v) : head(1, -1 - v);
}

/** A definite-length CBOR map from [key, value] pairs, in the given order, as lower-case hex. */
export function cborMapHex(entries: ReadonlyArray<readonly [number, CborItem]>): string {
  const bytes = [...head(5, entries.length), ...entries.flatMap(([k, v]) => [...item(k), ...item(v)])];
  return Buffer.from(bytes).toString("hex");
}
