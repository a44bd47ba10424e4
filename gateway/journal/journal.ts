/**
 * The gateway's durable journal: outgoing MQTT messages and per-device 32-bit FCnt state in one SQLite file
 * (WAL, synchronous=FULL). An append resolves only after the COMMIT that contains it, so whoever acknowledges
 * a frame after that promise can be sure it survives kill -9 and power cuts. Guarantees, batching, drop policy
 * and schema: gateway/journal/README.md.
 */
import { statSync } from "node:fs";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { type JournalLock, lockJournal } from "./lock.ts";
import { QueueIndex } from "./queue-index.ts";
import { applyPragmas, migrate } from "./schema.ts";

export interface OutgoingMessage {
  id: string;
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
  /** Ordering group, e.g. the DevEUI: messages of one group leave in append order. */
  deviceKey: string;
}

export interface JournalEntry {
  devEui: string;
  /** New 32-bit FCnt of the device, persisted in the same transaction as the messages. */
  fcnt32?: number;
  messages: OutgoingMessage[];
  /**
   * A compact form the messages were rendered from (e.g. the frame), stored in the file instead of their
   * payloads; `render` (JournalOptions) must give the same messages back from it. The journal keeps the
   * rendered messages in memory meanwhile, so it renders again only after a restart or beyond its cache.
   */
  record?: string;
}

export interface StoredMessage extends OutgoingMessage {
  seq: number;
  /** Wall-clock time (ms) of the append. */
  createdAtMs: number;
}

export interface JournalOptions {
  path: string;
  maxMessages: number;
  /** Bound on the sum of UTF-8 bytes of id + topic + payload of the queued messages. */
  maxBytes: number;
  maxAgeS: number;
  commitIntervalMs: number;
  commitMaxEntries: number;
  /**
   * Committed messages are also kept in memory up to this many bytes (id + topic + payload), so that take()
   * does not read them back from SQLite while the publisher keeps up. Default 8 MiB; 0 turns it off.
   */
  memoryCacheBytes?: number;
  /**
   * The messages of an entry's `record` again, for reading them back from the file; required to append
   * entries with a record. A stored message it does not give back (or a throw) is dropped and counted as
   * `droppedUnrenderable`, e.g. after an upgrade that renders a frame differently.
   */
  render?: (record: string) => OutgoingMessage[];
  /** Told of each message dropped because its record did not render it (for the log). */
  onUnrenderable?: (id: string, detail: string) => void;
  /**
   * Clock for timestamps and ages, for tests. Without it, rows are stamped with Date.now() and ages are
   * measured on the monotonic clock, so an NTP step after boot does not make fresh messages look old.
   */
  now?: () => number;
}

export interface JournalStats {
  /** Queued messages (waiting or in flight) and their bytes, as in depth(). */
  messages: number;
  bytes: number;
  /** Messages committed since open. */
  appended: number;
  /** Messages acknowledged (published) since open. */
  deleted: number;
  droppedBySize: number;
  droppedByAge: number;
  /** Messages stored as a record that `render` did not give back when they were read from the file. */
  droppedUnrenderable: number;
  commits: number;
  /** Database file plus its WAL, in bytes. */
  fileBytes: number;
}

export class JournalClosedError extends Error {
  override name = "JournalClosedError";
}

/** A corrupt file is not repaired silently: the caller decides whether to move it aside. */
export class JournalCorruptError extends Error {
  override name = "JournalCorruptError";
}

interface PendingAppend {
  entry: JournalEntry;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A record's messages, or why it gave none. */
type Rendered = OutgoingMessage[] | string;

interface MessageRow {
  seq: number;
  id: string;
  topic: string;
  payload: string;
  retain: number;
  qos: 0 | 1;
  deviceKey: string;
  createdAtMs: number;
  /** The entry's record, when the payload was stored as one (then `payload` is empty). */
  record: string | null;
}

const MAX_FCNT32 = 0xffff_ffff;
const DEFAULT_MEMORY_CACHE_BYTES = 8 * 2 ** 20;
/** Values per row of `messages`, and rows per multi-row INSERT (one native call instead of 32). */
const COLUMNS = 10;
const INSERT_CHUNK = 32;
const INSERT_SQL =
  "INSERT INTO messages (seq, id, topic, payload, retain, qos, device_key, created_at_ms, bytes, record) VALUES ";
const ROW_PLACEHOLDERS = `(${Array(COLUMNS).fill("?").join(", ")})`;

export class Journal {
  private readonly db: Database.Database;
  private readonly opts: JournalOptions;
  private readonly wallMs: () => number;
  private readonly ageMs: () => number;
  private readonly index = new QueueIndex();
  private readonly fcnt = new Map<string, number>();
  /**
   * Committed, undelivered messages also held in memory (a copy of their rows), up to cacheLimit bytes.
   * When it is full, new messages are not cached: the oldest are taken first, so they are the ones to keep.
   */
  private readonly cache = new Map<number, { message: StoredMessage; bytes: number }>();
  private readonly cacheLimit: number;
  private cacheBytes = 0;
  private readonly stmt: {
    insert: Database.Statement<unknown[]>;
    insertChunk: Database.Statement<unknown[]>;
    upsertFcnt: Database.Statement<unknown[]>;
    deleteRange: Database.Statement<[number, number]>;
    selectRange: Database.Statement<[number, number], MessageRow>;
  };
  private readonly commitBatch: Database.Transaction<
    (values: unknown[], fcnt: Array<[string, number]>, deletes: number[], now: number) => void
  >;

  private pending: PendingAppend[] = [];
  /** FCnt values before the first update of the pending batch, restored if its commit fails. */
  private fcntBefore = new Map<string, number | undefined>();
  private pendingDeletes: number[] = [];
  private lastSeq: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private counters = {
    appended: 0,
    deleted: 0,
    droppedBySize: 0,
    droppedByAge: 0,
    droppedUnrenderable: 0,
    commits: 0,
  };

  static open(opts: JournalOptions): Journal {
    validateOptions(opts);
    const lock = lockJournal(opts.path);
    let db: Database.Database | undefined;
    try {
      db = new Database(opts.path, { timeout: 2000 });
      applyPragmas(db);
      const check = db.pragma("quick_check", { simple: true });
      if (check !== "ok")
        throw new JournalCorruptError(`journal ${opts.path} failed quick_check: ${String(check)}`);
      migrate(db);
      return new Journal(db, opts, lock);
    } catch (err) {
      db?.close();
      lock.release();
      throw err;
    }
  }

  private constructor(
    db: Database.Database,
    opts: JournalOptions,
    private readonly lock: JournalLock,
  ) {
    this.db = db;
    this.opts = { ...opts };
    this.wallMs = opts.now ?? (() => Date.now());
    this.ageMs = opts.now ?? (() => performance.now());
    this.cacheLimit = opts.memoryCacheBytes ?? DEFAULT_MEMORY_CACHE_BYTES;
    this.stmt = {
      insert: db.prepare(INSERT_SQL + ROW_PLACEHOLDERS),
      insertChunk: db.prepare(INSERT_SQL + Array(INSERT_CHUNK).fill(ROW_PLACEHOLDERS).join(", ")),
      upsertFcnt: db.prepare(
        "INSERT INTO fcnt (dev_eui, fcnt32, updated_at_ms) VALUES (?, ?, ?)" +
          " ON CONFLICT (dev_eui) DO UPDATE SET fcnt32 = excluded.fcnt32, updated_at_ms = excluded.updated_at_ms",
      ),
      // Ranges of consecutive seqs: a frame's messages are consecutive and mostly taken and acknowledged
      // together, so one statement serves many rows (a statement per row cost ~3 µs per message each way).
      deleteRange: db.prepare("DELETE FROM messages WHERE seq BETWEEN ? AND ?"),
      selectRange: db.prepare<[number, number], MessageRow>(
        "SELECT seq, id, topic, payload, retain, qos, device_key AS deviceKey, created_at_ms AS createdAtMs, record" +
          " FROM messages WHERE seq BETWEEN ? AND ? ORDER BY seq",
      ),
    };
    this.commitBatch = db.transaction((values, fcnt, deletes, now) => {
      const chunkValues = COLUMNS * INSERT_CHUNK;
      let i = 0;
      for (; i + chunkValues <= values.length; i += chunkValues)
        this.stmt.insertChunk.run(values.slice(i, i + chunkValues));
      for (; i < values.length; i += COLUMNS) this.stmt.insert.run(values.slice(i, i + COLUMNS));
      for (const [devEui, value] of fcnt) this.stmt.upsertFcnt.run(devEui, value, now);
      for (const [first, last] of seqRuns(deletes.sort((a, b) => a - b)))
        this.stmt.deleteRange.run(first, last);
    });

    for (const row of db.prepare("SELECT dev_eui, fcnt32 FROM fcnt").raw().iterate() as Iterable<
      [string, number]
    >) {
      this.fcnt.set(row[0], row[1]);
    }
    // Ages of loaded rows come from the wall clock once; from here on they advance on the age clock.
    const wallNow = this.wallMs();
    const ageNow = this.ageMs();
    let lastSeq = 0;
    const load = db.prepare("SELECT seq, device_key, bytes, created_at_ms FROM messages ORDER BY seq").raw();
    for (const row of load.iterate() as Iterable<[number, string, number, number]>) {
      const [seq, deviceKey, bytes, createdAtMs] = row;
      this.index.add(seq, deviceKey, bytes, ageNow - Math.max(0, wallNow - createdAtMs));
      lastSeq = seq;
    }
    this.lastSeq = lastSeq;
    // Bounds may have been lowered in the configuration, and time has passed while the gateway was off.
    this.enforceBounds();
  }

  /** Last FCnt appended for the device (including appends whose commit is still pending). */
  lastFcnt(devEui: string): number | undefined {
    return this.fcnt.get(devEui);
  }

  /** Resolves once the entry and its FCnt are committed (durable); rejects if that commit fails. */
  append(entry: JournalEntry): Promise<void> {
    if (this.closed) return Promise.reject(new JournalClosedError("journal is closed"));
    const { devEui, fcnt32 } = entry;
    if (entry.record !== undefined && this.opts.render === undefined) {
      return Promise.reject(new TypeError("an entry with a record needs the journal's render option"));
    }
    if (fcnt32 !== undefined) {
      if (!Number.isInteger(fcnt32) || fcnt32 < 0 || fcnt32 > MAX_FCNT32) {
        return Promise.reject(new RangeError(`fcnt32 must be an integer 0..2^32-1, got ${fcnt32}`));
      }
      if (!this.fcntBefore.has(devEui)) this.fcntBefore.set(devEui, this.fcnt.get(devEui));
      this.fcnt.set(devEui, fcnt32);
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ entry, resolve, reject });
      this.scheduleCommit();
    });
  }

  /**
   * Up to `limit` committed messages, oldest first, at most `perGroup` per deviceKey, groups served
   * round-robin across calls. They are in flight until ack() or release().
   */
  take(limit: number, perGroup: number): StoredMessage[] {
    if (this.closed) return [];
    this.enforceBounds();
    const out: StoredMessage[] = [];
    const uncached: number[] = [];
    for (const { seq } of this.index.take(limit, perGroup)) {
      const hit = this.cache.get(seq);
      if (hit === undefined) uncached.push(seq);
      else out.push(hit.message);
    }
    // Records rendered in this take: a frame's messages usually come out together.
    const rendered = uncached.length === 0 ? undefined : new Map<string, Rendered>();
    for (const [first, last] of seqRuns(uncached)) {
      const rows = this.stmt.selectRange.all(first, last);
      let r = 0;
      for (let seq = first; seq <= last; seq++) {
        const row = rows[r]?.seq === seq ? rows[r++] : undefined;
        if (row === undefined) {
          // Only possible if someone else deleted the row; treat it as delivered.
          this.index.ack([seq]);
          continue;
        }
        const payload = row.record === null ? row.payload : this.renderedPayload(row, rendered!);
        if (payload === undefined) continue;
        const { id, topic, qos, deviceKey, createdAtMs } = row;
        out.push({ seq, id, topic, payload, retain: row.retain !== 0, qos, deviceKey, createdAtMs });
      }
    }
    // Callers rely on seq order within a device; hits and misses were collected apart.
    if (uncached.length > 0 && uncached.length < out.length) out.sort((a, b) => a.seq - b.seq);
    return out;
  }

  /**
   * The payload of a message stored as its entry's record: rendered again (once per record and take), or
   * undefined when the record does not give it back; then the message is dropped and counted.
   */
  private renderedPayload(row: MessageRow, rendered: Map<string, Rendered>): string | undefined {
    const record = row.record!;
    let result = rendered.get(record);
    if (result === undefined) {
      try {
        result = this.opts.render?.(record) ?? "no render option";
      } catch (err) {
        result = `render failed: ${(err as Error).message}`;
      }
      rendered.set(record, result);
    }
    const payload = typeof result === "string" ? undefined : result.find((m) => m.id === row.id)?.payload;
    if (payload === undefined) {
      const why = typeof result === "string" ? result : "its record renders no message with this id";
      this.opts.onUnrenderable?.(row.id, why);
      // Taken, so in flight: removed from the queue as if delivered, and counted apart.
      this.index.ack([row.seq]);
      this.counters.droppedUnrenderable++;
      this.forget([row.seq]);
      this.scheduleCommit();
    }
    return payload;
  }

  /** Deletes delivered messages; the DELETE goes into the next commit. */
  ack(seqs: number[]): void {
    if (this.closed) return;
    const removed = this.index.ack(seqs);
    if (removed.length === 0) return;
    this.counters.deleted += removed.length;
    this.forget(removed);
    this.scheduleCommit();
  }

  /** Puts in-flight messages back; they come out again before newer messages of their group. */
  release(seqs: number[]): void {
    if (this.closed) return;
    this.index.release(seqs);
  }

  depth(): { messages: number; bytes: number; oldestAgeS: number } {
    const oldest = this.index.oldestBornMs();
    const oldestAgeS = oldest === undefined ? 0 : Math.max(0, (this.ageMs() - oldest) / 1000);
    return { messages: this.index.count, bytes: this.index.bytes, oldestAgeS };
  }

  stats(): JournalStats {
    return {
      messages: this.index.count,
      bytes: this.index.bytes,
      ...this.counters,
      fileBytes: fileSize(this.opts.path) + fileSize(`${this.opts.path}-wal`),
    };
  }

  /** Commits what is pending, checkpoints the WAL into the main file and closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    // The second commit carries the deletes of messages that the first one pushed over a bound.
    if (this.commit()) this.commit();
    this.closed = true;
    this.clearTimers();
    this.cache.clear();
    this.cacheBytes = 0;
    try {
      this.db.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      this.db.close();
      this.lock.release();
    }
  }

  private scheduleCommit(): void {
    // A full batch commits at once, inside the append that filled it, so no batch exceeds commitMaxEntries.
    if (this.pending.length >= this.opts.commitMaxEntries) this.commit();
    else this.timer ??= setTimeout(() => this.commit(), this.opts.commitIntervalMs);
  }

  private clearTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Commits the pending batch; false if the commit failed. */
  private commit(): boolean {
    this.clearTimers();
    const batch = this.pending;
    const fcntBefore = this.fcntBefore;
    const deletes = this.pendingDeletes;
    if (this.closed || (batch.length === 0 && deletes.length === 0)) return true;
    this.pending = [];
    this.fcntBefore = new Map();
    this.pendingDeletes = [];

    const now = this.wallMs();
    const values: unknown[] = []; // COLUMNS per message
    const added: Array<{ message: StoredMessage; bytes: number }> = [];
    for (const { entry } of batch) {
      const record = entry.record ?? null;
      for (const m of entry.messages) {
        const seq = ++this.lastSeq;
        const bytes = Buffer.byteLength(m.id) + Buffer.byteLength(m.topic) + Buffer.byteLength(m.payload);
        const stored = record === null ? m.payload : "";
        values.push(seq, m.id, m.topic, stored, m.retain ? 1 : 0, m.qos, m.deviceKey, now, bytes, record);
        const { id, topic, payload, retain, qos, deviceKey } = m;
        added.push({ message: { seq, id, topic, payload, retain, qos, deviceKey, createdAtMs: now }, bytes });
      }
    }
    const fcnt: Array<[string, number]> = [];
    for (const devEui of fcntBefore.keys()) fcnt.push([devEui, this.fcnt.get(devEui)!]);

    try {
      this.commitBatch.immediate(values, fcnt, deletes, now);
    } catch (cause) {
      for (const [devEui, value] of fcntBefore) {
        if (value === undefined) this.fcnt.delete(devEui);
        else this.fcnt.set(devEui, value);
      }
      // Deletes are retried with the next commit; until then the rows are merely duplicates on disk.
      this.pendingDeletes = deletes.concat(this.pendingDeletes);
      const err = new Error(`journal commit failed: ${(cause as Error).message}`, { cause });
      for (const p of batch) p.reject(err);
      return false;
    }

    this.counters.commits++;
    this.counters.appended += added.length;
    const bornMs = this.ageMs();
    for (const entry of added) {
      this.index.add(entry.message.seq, entry.message.deviceKey, entry.bytes, bornMs);
      if (this.cacheBytes + entry.bytes <= this.cacheLimit) {
        this.cache.set(entry.message.seq, entry);
        this.cacheBytes += entry.bytes;
      }
    }
    for (const p of batch) p.resolve();
    this.enforceBounds();
    return true;
  }

  /** Drop-oldest: expired messages first, then the oldest until both size bounds hold. */
  private enforceBounds(): void {
    const { maxMessages, maxBytes, maxAgeS } = this.opts;
    const ageNow = this.ageMs();
    const maxAgeMs = maxAgeS * 1000;
    const byAge = this.index.dropOldest((msg) => ageNow - msg.bornMs > maxAgeMs);
    const bySize = this.index.dropOldest(() => this.index.count > maxMessages || this.index.bytes > maxBytes);
    if (byAge.length + bySize.length === 0) return;
    this.counters.droppedByAge += byAge.length;
    this.counters.droppedBySize += bySize.length;
    this.forget(byAge);
    this.forget(bySize);
    if (!this.closed) this.scheduleCommit();
  }

  /** Messages that left the queue: their rows go in the next commit's DELETE, their copies from memory. */
  private forget(seqs: readonly number[]): void {
    for (const seq of seqs) {
      this.pendingDeletes.push(seq);
      const hit = this.cache.get(seq);
      if (hit === undefined) continue;
      this.cache.delete(seq);
      this.cacheBytes -= hit.bytes;
    }
  }
}

/** [first, last] of each run of consecutive numbers in an ascending list. */
function seqRuns(sorted: readonly number[]): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push([sorted[i]!, sorted[j]!]);
    i = j + 1;
  }
  return runs;
}

function validateOptions(opts: JournalOptions): void {
  const positive = ["maxMessages", "maxBytes", "maxAgeS", "commitMaxEntries"] as const;
  for (const key of positive) {
    if (!(opts[key] > 0)) throw new RangeError(`journal option ${key} must be > 0, got ${opts[key]}`);
  }
  const cache = opts.memoryCacheBytes;
  if (cache !== undefined && !(cache >= 0 && Number.isFinite(cache))) {
    throw new RangeError(`journal option memoryCacheBytes must be >= 0, got ${cache}`);
  }
  if (!(opts.commitIntervalMs >= 0) || !Number.isFinite(opts.commitIntervalMs)) {
    throw new RangeError(`journal option commitIntervalMs must be >= 0, got ${opts.commitIntervalMs}`);
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
