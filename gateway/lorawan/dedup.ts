// Recognises the same LoRaWAN frame received more than once: via several `rxpk` of one datagram (several
// demodulators), several packet forwarders, or a serial modem and a concentrator at once. The cache must be
// consulted before the replay check, because the 32-bit FCnt state is only committed by the journal later:
// a second copy is a 'duplicate' (radio metadata worth keeping), not a 'replay' (an attack or a fault).

/** Bounds of the cache: whichever is hit first evicts the oldest entries. */
export interface DedupOptions {
  /** Entries kept at most (default 16,384; with the decoder's small first-acceptance values ~250 B each). */
  maxEntries?: number;
  /** Age after which an entry no longer marks a duplicate (default 60 s). */
  maxAgeMs?: number;
  /** Monotonic clock in ms, injectable for tests (default performance.now: a Pi's wall clock jumps at NTP sync). */
  now?: () => number;
}

/** The first reception of a frame that has arrived again. */
export interface FirstReception<T> {
  first: T;
  /** Milliseconds between the first reception and this lookup. */
  ageMs: number;
}

interface Entry<T> {
  value: T;
  /** The frame's bytes as a one-byte string: a copy at a third of a Uint8Array's cost in heap. */
  phyPayload: string;
  atMs: number;
}

export const DEFAULT_DEDUP_MAX_ENTRIES = 16_384;
export const DEFAULT_DEDUP_MAX_AGE_MS = 60_000;

/** Key of a data frame: DevAddr (hex), the 16-bit FCnt on air and the MIC (hex). */
export function dedupKey(devAddr: string, fcnt16: number, mic: Uint8Array): string {
  return `${devAddr}:${fcnt16}:${Buffer.from(mic.buffer, mic.byteOffset, mic.byteLength).toString("hex")}`;
}

/**
 * A bounded map from frame key to first reception. Insertion order is age order (entries are never
 * refreshed), so eviction pops from the front of a FIFO of keys: O(1) per operation, no timers. (Not by
 * iterating the Map: an iterator starts at the Map's first slot and walks every deleted one behind it.)
 */
export class DedupCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  /** Keys in insertion order; the live part starts at #head. */
  #order: string[] = [];
  #head = 0;
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor(options: DedupOptions = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_DEDUP_MAX_ENTRIES);
    this.#maxAgeMs = Math.max(0, options.maxAgeMs ?? DEFAULT_DEDUP_MAX_AGE_MS);
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * The first reception if a frame with this key and exactly these bytes was remembered within the age
   * bound. Same key but other bytes (a forged copy of a header and MIC) is not a duplicate.
   */
  lookup(key: string, phyPayload: Uint8Array): FirstReception<T> | undefined {
    const nowMs = this.#now();
    this.#evict(nowMs);
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.phyPayload !== latin1(phyPayload)) return undefined;
    return { first: entry.value, ageMs: nowMs - entry.atMs };
  }

  /** Remembers a frame (call only for frames whose MIC verified). An existing entry is kept. */
  remember(key: string, phyPayload: Uint8Array, value: T): void {
    const nowMs = this.#now();
    if (this.#entries.has(key)) return;
    this.#entries.set(key, { value, phyPayload: latin1(phyPayload), atMs: nowMs });
    this.#order.push(key);
    this.#evict(nowMs);
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#order = [];
    this.#head = 0;
  }

  #evict(nowMs: number): void {
    while (this.#head < this.#order.length) {
      const key = this.#order[this.#head]!;
      const entry = this.#entries.get(key)!;
      if (this.#entries.size <= this.#maxEntries && nowMs - entry.atMs <= this.#maxAgeMs) break;
      this.#entries.delete(key);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
