// The persistent state region (hw/host-abi.md "What the host must persist"): one static block the host
// saves whenever state_seq() changes. Fields live at fixed offsets so the blob layout is explicit.

export const STATE_MAGIC: u32 = 0x5a484f4f; // "OOHZ" little-endian
export const STATE_VERSION: u32 = 1; // the ABI version; a layout change needs a new one
export const STATE_SIZE: u32 = 996;
export const STATE: usize = memory.data(STATE_SIZE, 16);

export const ST_MAGIC: usize = STATE;
export const ST_VERSION: usize = STATE + 4;
export const ST_CHECK: usize = STATE + 8; // check value of [ST_CHECK + 4, end), below
export const ST_LAST_NOW: usize = STATE + 12; // now_s of the latest call, to detect a restarted clock
export const ST_CONFIG: usize = STATE + 16; // 17 × i32, by key (config.ts)
export const ST_COUNTERS: usize = STATE + 84; // 11 × u32, by counter id (status.ts)
export const ST_FLAGS: usize = STATE + 128;
export const ST_NEXT_SAMPLE: usize = STATE + 132; // clock-aligned time of the next climate sample
export const ST_BIN_START: usize = STATE + 136; // start of the open bicycle bin
export const ST_BIN_COUNTS: usize = STATE + 140; // open bin: A→B count | B→A count << 16
export const ST_BUDGET_DAY: usize = STATE + 144; // now_s / 86400 of the airtime budget in force
export const ST_LAST_STATUS: usize = STATE + 148; // when the last status uplink was sent
export const ST_STUCK: usize = STATE + 152; // per climate channel: last raw value i32, repeat count u32
export const ST_ALERT: usize = STATE + 168; // 1 while a temperature alert is active
export const ST_ALERT_SEND: usize = STATE + 172; // 1 until the batch that reports a new alert is sent
// What a wake from deep sleep keeps and a reset starts afresh (hw/host-abi.md "Reset causes"):
export const ST_BOOT_AT: usize = STATE + 176; // now_s of the last reset (uptime origin)
export const ST_RESET_CAUSE: usize = STATE + 180;
export const ST_CONFIG_ID: usize = STATE + 184; // last configuration received since the reset, and its result
export const ST_CONFIG_RESULT: usize = STATE + 188;
export const ST_STATUS_WANTED: usize = STATE + 192; // 1 until a status uplink is sent
export const ST_BOOT_DROPPED: usize = STATE + 196; // counters at the reset: the status reports since then
export const ST_BOOT_NOISE: usize = STATE + 200;
export const ST_CLIMATE_RING: usize = STATE + 204; // ring.ts, RING_BYTES each
export const ST_BIKE_RING: usize = STATE + 600;

const CHECK_FROM: usize = ST_CHECK + 4;
/** Odd, so that multiplying by it is a bijection (the golden-ratio constant of multiplicative hashing). */
const CHECK_MULTIPLIER: u32 = 0x9e3779b1;

let seq: u32 = 0;

export function stateSeq(): u32 {
  return seq;
}

/**
 * Check value of the region, to reject a blob torn or corrupted by a power cut (hw/host-abi.md "What the host
 * must persist"). It is recomputed after every call that may have changed the region, so it must be cheap:
 * one rotate-multiply round per 32-bit word, about 4 000 wasm instructions for the region where a bitwise
 * CRC-32 took 180 000 (a table-driven CRC would cost 1 KiB of table or, with nibbles, still ~25 000).
 * Every round is a bijection of the running value, so a corruption confined to one word (any number of bit
 * flips in it) is always detected; a wider one, like a torn write, is missed with a probability of about
 * 2^-32. The rotation moves bit 31 down before the multiply, so two flips of it cannot cancel each other as
 * they would in a plain sum or product.
 */
function checkValue(): u32 {
  let h: u32 = STATE_SIZE;
  for (let p = CHECK_FROM; p < STATE + STATE_SIZE; p += 4) {
    h = rotl<u32>(h ^ load<u32>(p), 13) * CHECK_MULTIPLIER;
  }
  return h;
}

/** Seals the region after a call: a new check value and sequence number if anything in it changed. */
export function stateCommit(): void {
  let check = checkValue();
  if (check != load<u32>(ST_CHECK)) {
    store<u32>(ST_CHECK, check);
    seq++;
  }
}

export function stateIsValid(): bool {
  return (
    load<u32>(ST_MAGIC) == STATE_MAGIC &&
    load<u32>(ST_VERSION) == STATE_VERSION &&
    load<u32>(ST_CHECK) == checkValue()
  );
}

/** All zero but the header: magic and layout version. */
export function stateClear(): void {
  for (let p = STATE; p < STATE + STATE_SIZE; p += 4) store<u32>(p, 0);
  store<u32>(ST_MAGIC, STATE_MAGIC);
  store<u32>(ST_VERSION, STATE_VERSION);
}
