// Reads a configuration downlink (shared/PAYLOAD.md "FPort 10"): a definite-length CBOR map (RFC 8949 §3)
// of uint keys to int or null values, into the scratch copy of the configuration. Never reads past `len`.
import { CONFIG_KEYS, CONFIG_SCRATCH, K_CFG_ID, NONE, cfg, inRange, scratchIsConsistent } from "./config";

export const CFG_APPLIED: u32 = 0;
export const CFG_MALFORMED: u32 = 1;
export const CFG_UNKNOWN_KEY: u32 = 2;
export const CFG_OUT_OF_RANGE: u32 = 3;
export const CFG_OVERSIZED: u32 = 4;
export const CFG_INCONSISTENT: u32 = 5;
export const CFG_WRONG_TYPE: u32 = 6;
export const CFG_ID_MISSING: u32 = 7;
export const CFG_DUPLICATE_KEY: u32 = 8;

const MAJOR_UINT: i32 = 0;
const MAJOR_NEGINT: i32 = 1;
const MAJOR_MAP: i32 = 5;
const NULL_BYTE: i32 = 0xf6;
const INT_MAX: u32 = 0x7fffffff;

/** A map in RX_CAPACITY bytes has fewer entries: each takes at least two bytes. */
const MAX_ENTRIES: u32 = 32;
/** The keys read so far, exactly, to find a duplicate. */
const KEYS_SEEN: usize = memory.data(MAX_ENTRIES << 3, 8);

let cursor: usize = 0;
let end: usize = 0;
let headArgument: u64 = 0;

/**
 * Reads one item head and returns its initial byte (major type in the top 3 bits), or -1 when truncated or
 * reserved/indefinite (additional information 28..31). The argument goes to `headArgument`.
 */
function readHead(): i32 {
  if (cursor >= end) return -1;
  let initial = i32(load<u8>(cursor++));
  let info = u32(initial & 31);
  let argument = u64(info);
  if (info >= 24) {
    if (info > 27) return -1;
    let n: u32 = 1 << (info - 24);
    if (u32(end - cursor) < n) return -1;
    argument = 0;
    while (n--) argument = (argument << 8) | load<u8>(cursor++);
  }
  headArgument = argument;
  return initial;
}

/** The head's argument, saturated at INT_MAX: larger numbers are out of every range anyway. */
function headValue(): u32 {
  return u32(min<u64>(headArgument, INT_MAX));
}

/**
 * Parses `len` bytes at `at` into CONFIG_SCRATCH (a copy of the configuration in force, cfg_id cleared)
 * and returns the result code. Precedence: the first structural error (malformed, wrong type, duplicate)
 * in byte order, then the first unknown key, out-of-range value or null where no null is allowed (wrong
 * type), then a missing cfg_id, then consistency.
 */
export function readConfig(at: usize, len: u32): u32 {
  for (let k: u32 = 0; k < CONFIG_KEYS; k++) store<i32>(CONFIG_SCRATCH + (k << 2), cfg(k));
  store<i32>(CONFIG_SCRATCH + (K_CFG_ID << 2), 0);
  cursor = at;
  end = at + len;
  if (readHead() >> 5 != MAJOR_MAP) return CFG_MALFORMED;
  let entries = headValue();
  let semantic: u32 = CFG_APPLIED;
  for (let entry: u32 = 0; entry < entries; entry++) {
    if (readHead() >> 5 != MAJOR_UINT) return CFG_MALFORMED;
    let keyExact = headArgument;
    let key = headValue();
    let initial = readHead();
    let value = i32(headValue());
    if (initial < 0) return CFG_MALFORMED;
    // Saturated so that no integer reads as NONE: every range starts above -20001.
    if (initial >> 5 == MAJOR_NEGINT) value = -1 - i32(min<u32>(value, 20000));
    else if (initial == NULL_BYTE) value = NONE;
    else if (initial >> 5 != MAJOR_UINT) return CFG_WRONG_TYPE;
    for (let i: u32 = 0; i < entry; i++) if (load<u64>(KEYS_SEEN + (i << 3)) == keyExact) return CFG_DUPLICATE_KEY;
    store<u64>(KEYS_SEEN + ((entry & (MAX_ENTRIES - 1)) << 3), keyExact);
    if (semantic) continue;
    if (key >= CONFIG_KEYS) semantic = CFG_UNKNOWN_KEY;
    else if (!inRange(key, value)) semantic = value == NONE ? CFG_WRONG_TYPE : CFG_OUT_OF_RANGE;
    else store<i32>(CONFIG_SCRATCH + (key << 2), value);
  }
  if (cursor != end) return CFG_MALFORMED;
  if (semantic) return semantic;
  if (!load<i32>(CONFIG_SCRATCH + (K_CFG_ID << 2))) return CFG_ID_MISSING;
  return scratchIsConsistent() ? CFG_APPLIED : CFG_INCONSISTENT;
}

/** The cfg_id of the configuration just read, 0 if it had no valid one. */
export function readConfigId(): u32 {
  return load<u32>(CONFIG_SCRATCH + (K_CFG_ID << 2));
}
