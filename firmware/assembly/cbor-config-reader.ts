// Reads a configuration downlink (shared/PAYLOAD.md "FPort 10"): a definite-length CBOR map (RFC 8949 §3)
// of uint keys to int or null values, into the scratch copy of the configuration. Never reads past `len`.
import {
  CONFIG_KEYS,
  CONFIG_MAX_BYTES,
  CONFIG_SCRATCH,
  NONE,
  inRange,
  scratchFromConfig,
  scratchIsConsistent,
} from "./config";

export const CFG_APPLIED: u32 = 0;
export const CFG_MALFORMED: u32 = 1;
export const CFG_UNKNOWN_KEY: u32 = 2;
export const CFG_OUT_OF_RANGE: u32 = 3;
export const CFG_OVERSIZED: u32 = 4;
export const CFG_INCONSISTENT: u32 = 5;
export const CFG_WRONG_TYPE: u32 = 6;
export const CFG_ID_MISSING: u32 = 7;
export const CFG_DUPLICATE_KEY: u32 = 8;

const MAJOR_NEGINT: i32 = 1;
const MAJOR_MAP: i32 = 5;
const NULL_BYTE: i32 = 0xf6;
const INT_MAX: u32 = 0x7fffffff;
/** Negative values are saturated here, so that none reads as NONE: every range starts above it. */
const NEGATIVE_FLOOR: u32 = 20000;

/**
 * The keys read so far, exactly (low and high 32 bits), to find a duplicate. A map of CONFIG_MAX_BYTES has
 * fewer than CONFIG_MAX_BYTES / 2 entries: each takes at least two bytes.
 */
const KEYS_SEEN: usize = memory.data(CONFIG_MAX_BYTES << 2, 4);

let cursor: usize = 0;
let end: usize = 0;
// The argument of the head just read: low and high 32 bits (8-byte arguments without i64 maths), and its
// value saturated at INT_MAX (larger numbers are out of every range anyway).
let argumentLow: u32 = 0;
let argumentHigh: u32 = 0;
let argumentValue: u32 = 0;

/**
 * Reads one item head and returns its initial byte (major type in the top 3 bits), or -1 when truncated or
 * reserved/indefinite (additional information 28..31).
 */
function readHead(): i32 {
  if (cursor >= end) return -1;
  let initial = i32(load<u8>(cursor++));
  let info = u32(initial & 31);
  let low = info;
  let high: u32 = 0;
  if (info >= 24) {
    if (info > 27) return -1;
    let n: u32 = 1 << (info - 24);
    if (u32(end - cursor) < n) return -1;
    low = 0;
    while (n--) {
      high = (high << 8) | (low >>> 24);
      low = (low << 8) | load<u8>(cursor++);
    }
  }
  argumentLow = low;
  argumentHigh = high;
  argumentValue = high || low > INT_MAX ? INT_MAX : low;
  return initial;
}

/**
 * Parses the `len` bytes (true length) at `at` into CONFIG_SCRATCH, a copy of the configuration in force with
 * cfg_id cleared, and returns the result code in the order of shared/PAYLOAD.md "Checking a configuration":
 * oversized, then the first structural error (malformed, wrong type, duplicate) in byte order, then the first
 * unknown key, out-of-range value or null where none is allowed (wrong type), then a missing cfg_id, then
 * consistency.
 */
@inline
export function readConfig(at: usize, len: u32): u32 {
  scratchFromConfig();
  store<i32>(CONFIG_SCRATCH, 0);
  if (len > CONFIG_MAX_BYTES) return CFG_OVERSIZED;
  cursor = at;
  end = at + len;
  if (readHead() >> 5 != MAJOR_MAP) return CFG_MALFORMED;
  let entries = argumentValue;
  let semantic: u32 = CFG_APPLIED;
  for (let seen = KEYS_SEEN; entries; entries--, seen += 8) {
    if (readHead() >> 5) return CFG_MALFORMED; // a key that is not a uint, or a bad head
    let keyLow = argumentLow;
    let keyHigh = argumentHigh;
    let key = argumentValue;
    let initial = readHead();
    if (initial < 0) return CFG_MALFORMED;
    let value = i32(argumentValue);
    if (initial >> 5 == MAJOR_NEGINT) value = -1 - i32(min(u32(value), NEGATIVE_FLOOR));
    else if (initial == NULL_BYTE) value = NONE;
    else if (initial >> 5) return CFG_WRONG_TYPE;
    for (let p = KEYS_SEEN; p < seen; p += 8) {
      if (load<u32>(p) == keyLow && load<u32>(p, 4) == keyHigh) return CFG_DUPLICATE_KEY;
    }
    store<u32>(seen, keyLow);
    store<u32>(seen, keyHigh, 4);
    if (semantic) continue;
    if (key >= CONFIG_KEYS) semantic = CFG_UNKNOWN_KEY;
    else if (!inRange(key, value)) semantic = value == NONE ? CFG_WRONG_TYPE : CFG_OUT_OF_RANGE;
    else store<i32>(CONFIG_SCRATCH + (key << 2), value);
  }
  if (cursor != end) return CFG_MALFORMED;
  if (semantic) return semantic;
  if (!load<i32>(CONFIG_SCRATCH)) return CFG_ID_MISSING;
  return scratchIsConsistent() ? CFG_APPLIED : CFG_INCONSISTENT;
}

/** The cfg_id of the configuration just read, 0 if it had no valid one. */
export function readConfigId(): u32 {
  return load<u32>(CONFIG_SCRATCH);
}
