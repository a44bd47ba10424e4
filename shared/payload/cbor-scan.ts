// A structural walk over one CBOR item (RFC 8949 §3) without building values. cbor-x decodes values but
// cannot tell a float 1.0 from an integer 1, silently keeps one of two duplicate map keys, and interprets tags;
// the format forbids all of that, so this walk checks the raw heads first. It is iterative (no recursion on
// hostile nesting) and mirrored line for line by the reader in shared/codec/ttn-codec.js, so both report the
// same first error.

export type Fail = (message: string) => never;

export interface CborHead {
  offset: number;
  major: number;
  /** Additional information, the low 5 bits of the initial byte. */
  ai: number;
  /** The head's argument; above 2^53 it is rounded, which is harmless for range checks. */
  arg: number;
  /** 0 for the top-level item. */
  depth: number;
  /** Position within the parent container; map keys and values are counted separately. */
  index: number;
}

/** The article and noun used in messages for an item of this head. */
export function headKind(major: number, ai: number): string {
  switch (major) {
    case 0:
    case 1:
      return "an integer";
    case 2:
      return "a byte string";
    case 3:
      return "a text string";
    case 4:
      return "an array";
    case 5:
      return "a map";
    case 6:
      return "a tagged item";
  }
  if (ai === 20 || ai === 21) return "a boolean";
  if (ai === 22) return "null";
  if (ai === 23) return "undefined";
  if (ai >= 25 && ai <= 27) return "a floating-point number";
  return "a simple value";
}

/**
 * Walks the single CBOR item that must fill `bytes` exactly, calling `visit` for every head in byte order.
 * Fails on an empty input, a truncated item, an initial byte that is not well-formed, an indefinite length,
 * or bytes after the item. Tags are walked as containers of one item; `visit` may reject them.
 */
export function walkCbor(bytes: Uint8Array, fail: Fail, visit: (head: CborHead) => void): void {
  const len = bytes.length;
  if (len === 0) fail("empty payload");
  const remaining: number[] = [];
  const counter: number[] = [];
  let pos = 0;
  for (;;) {
    const offset = pos;
    if (pos >= len) fail("the CBOR item is truncated");
    const initial = bytes[pos]!;
    pos += 1;
    const major = initial >> 5;
    const ai = initial & 31;
    if ((ai >= 28 && ai <= 30) || (ai === 31 && (major < 2 || major > 5))) {
      fail(`invalid CBOR initial byte 0x${hex2(initial)} at byte ${offset}`);
    }
    if (ai === 31) fail(`indefinite length at byte ${offset} (not allowed)`);
    let arg = ai;
    if (ai >= 24) {
      const size = 1 << (ai - 24);
      if (pos + size > len) fail("the CBOR item is truncated");
      arg = 0;
      for (let i = 0; i < size; i++) arg = arg * 256 + bytes[pos + i]!;
      pos += size;
    }
    const depth = remaining.length;
    visit({ offset, major, ai, arg, depth, index: depth === 0 ? 0 : counter[depth - 1]! });
    let children = 0;
    if (major === 2 || major === 3) {
      if (arg > len - pos) fail("the CBOR item is truncated");
      pos += arg;
    } else if (major === 4) {
      children = arg;
    } else if (major === 5) {
      children = arg * 2;
    } else if (major === 6) {
      children = 1;
    }
    // Every child takes at least one byte: a count beyond the rest is truncated, whatever follows.
    if (children > len - pos) fail("the CBOR item is truncated");
    if (children > 0) {
      remaining.push(children);
      counter.push(0);
      continue;
    }
    for (;;) {
      const top = remaining.length - 1;
      if (top < 0) {
        if (pos < len) fail(`${plural(len - pos, "trailing byte")} after the CBOR item`);
        return;
      }
      counter[top]! += 1;
      remaining[top]! -= 1;
      if (remaining[top]! > 0) break;
      remaining.pop();
      counter.pop();
    }
  }
}

/** Deeper than any message of version 1 needs (2), shallow enough for cbor-x's recursive decoder. */
export const MAX_DEPTH = 16;

export interface UplinkScan {
  /** The first element of a top-level array, when it is an integer. */
  version: number | undefined;
  /** The first item of a type that uplinks never contain, reported after the version check. */
  forbidden: string | undefined;
}

/**
 * Uplinks contain only integers, null, byte strings and arrays (PAYLOAD.md, Principles): no tags, no
 * indefinite lengths. Tags and excessive nesting fail at once; other foreign types are reported after the
 * version, so that a later format version is named as such.
 */
export function scanUplink(bytes: Uint8Array, fail: Fail): UplinkScan {
  const scan: UplinkScan = { version: undefined, forbidden: undefined };
  let topIsArray = false;
  walkCbor(bytes, fail, (h) => {
    if (h.major === 6) fail(`CBOR tag at byte ${h.offset} (not allowed)`);
    if (h.depth >= MAX_DEPTH) fail(`CBOR nesting deeper than ${MAX_DEPTH} levels at byte ${h.offset}`);
    if (h.depth === 0) topIsArray = h.major === 4;
    if (h.depth === 1 && h.index === 0 && topIsArray && h.major <= 1) {
      scan.version = h.major === 0 ? h.arg : -1 - h.arg;
    }
    const allowed = h.major <= 2 || h.major === 4 || (h.major === 7 && h.ai === 22);
    if (!allowed && scan.forbidden === undefined) {
      scan.forbidden = `${headKind(h.major, h.ai)} at byte ${h.offset} (uplinks contain only integers, null, byte strings and arrays)`;
    }
  });
  return scan;
}

export function hex2(byte: number): string {
  return (byte < 16 ? "0" : "") + byte.toString(16);
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
