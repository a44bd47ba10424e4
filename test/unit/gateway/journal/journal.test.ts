import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it, vi } from "vitest";
import {
  Journal,
  JournalCorruptError,
  type JournalEntry,
  type OutgoingMessage,
} from "../../../../gateway/journal/journal.ts";
import { JournalLockedError } from "../../../../gateway/journal/lock.ts";
import { SCHEMA_VERSION } from "../../../../gateway/journal/schema.ts";
import { type JournalFactory, journalContract } from "./journal-contract.ts";

const dir = mkdtempSync(join(tmpdir(), "journal-test-"));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A second connection, as another process would open the file. */
function withConnection<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const onRealFile: JournalFactory = {
  newPath: () => join(dir, `journal-${++files}.db`),
  open: (opts) => Journal.open(opts),
  committedIds: (path) =>
    withConnection(
      path,
      (db) => db.prepare("SELECT id FROM messages ORDER BY seq").pluck().all() as string[],
    ),
  breakCommits: (path) => {
    withConnection(path, (db) =>
      db.exec(`
        CREATE TRIGGER fail_insert BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'injected fault'); END;
        CREATE TRIGGER fail_fcnt BEFORE INSERT ON fcnt BEGIN SELECT RAISE(ABORT, 'injected fault'); END;
      `),
    );
    return () => withConnection(path, (db) => db.exec("DROP TRIGGER fail_insert; DROP TRIGGER fail_fcnt;"));
  },
};

journalContract("SQLite (better-sqlite3, WAL) on a real file", onRealFile);

// The same contract with take() reading every message back from SQLite, and with a cache so small that
// one take() mixes cached and stored messages (order and contents must not depend on where they came from).
for (const [label, memoryCacheBytes] of [
  ["no memory cache", 0],
  ["a memory cache of a few messages", 300],
] as const) {
  journalContract(`SQLite journal, ${label}`, {
    ...onRealFile,
    open: (opts) => Journal.open({ ...opts, memoryCacheBytes }),
  });
}

// The contract again with every entry stored as a record (empty payloads in the file) and rendered back on
// every take(): storing records must be invisible to the journal's users, crashes and bounds included.
journalContract("SQLite journal, entries stored as records, no memory cache", {
  ...onRealFile,
  open: (opts) => {
    const j = Journal.open({ ...opts, memoryCacheBytes: 0, render: (record) => JSON.parse(record) });
    return {
      lastFcnt: (devEui) => j.lastFcnt(devEui),
      append: (entry: JournalEntry) => j.append({ ...entry, record: JSON.stringify(entry.messages) }),
      take: (limit, perGroup) => j.take(limit, perGroup),
      ack: (seqs) => j.ack(seqs),
      release: (seqs) => j.release(seqs),
      depth: () => j.depth(),
      stats: () => j.stats(),
      close: () => j.close(),
    };
  },
});

describe("SQLite journal file", () => {
  const options = (path: string) => ({
    path,
    maxMessages: 1000,
    maxBytes: 1_000_000,
    maxAgeS: 3600,
    commitIntervalMs: 0,
    commitMaxEntries: 16,
  });

  it("is in WAL mode with the current schema version and passes integrity_check after a workload", async () => {
    const path = join(dir, `journal-${++files}.db`);
    const j = Journal.open(options(path));
    for (let i = 0; i < 100; i++) {
      await j.append({
        devEui: "A",
        fcnt32: i,
        messages: [
          { id: `a${i}`, topic: "t", payload: "x".repeat(i), retain: false, qos: 1, deviceKey: "A" },
        ],
      });
      if (i % 3 === 0) j.ack(j.take(2, 2).map((m) => m.seq));
    }
    withConnection(path, (db) => {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    });
    await j.close();
  });

  it("stores a commit of more messages than one multi-row INSERT holds, in order", async () => {
    const path = join(dir, `journal-${++files}.db`);
    const j = Journal.open({
      ...options(path),
      commitIntervalMs: 5,
      commitMaxEntries: 100,
      memoryCacheBytes: 0,
    });
    const ids = Array.from({ length: 70 }, (_, i) => `m${i}`); // 2 chunks of 32 and 6 single rows
    await Promise.all(
      ids.map((id, i) =>
        j.append({
          devEui: "A",
          fcnt32: i,
          messages: [{ id, topic: `t/${i}`, payload: `p${i}`, retain: i % 2 === 0, qos: 1, deviceKey: "A" }],
        }),
      ),
    );
    expect(j.stats().commits).toBe(1);
    const taken = j.take(100, 100);
    expect(taken.map((m) => [m.id, m.topic, m.payload, m.retain])).toEqual(
      ids.map((id, i) => [id, `t/${i}`, `p${i}`, i % 2 === 0]),
    );
    await j.close();
  });

  it("hands out cached and stored messages of one device in seq order", async () => {
    const path = join(dir, `journal-${++files}.db`);
    const msg = (id: string, deviceKey: string) =>
      ({ id, topic: "t", payload: "p".repeat(40), retain: false, qos: 1, deviceKey }) as const;
    const oneMessage = 2 + 1 + 40; // id + topic + payload bytes
    const j = Journal.open({ ...options(path), memoryCacheBytes: oneMessage });
    await j.append({ devEui: "A", messages: [msg("a1", "A")] }); // fills the cache
    await j.append({ devEui: "B", messages: [msg("b1", "B")] }); // stored only
    j.ack(j.take(1, 1).map((m) => m.seq)); // a1 delivered: room again
    await j.append({ devEui: "B", messages: [msg("b2", "B")] }); // cached
    expect(j.take(10, 10).map((m) => m.id)).toEqual(["b1", "b2"]);
    await j.close();
  });

  it("refuses a second opener of the same journal until the first one closes", async () => {
    const path = join(dir, `journal-${++files}.db`);
    const first = Journal.open(options(path));
    await first.append({ devEui: "A", fcnt32: 7, messages: [] });
    expect(() => Journal.open(options(path))).toThrow(JournalLockedError);
    expect(() => Journal.open(options(path))).toThrow(/in use by another process.*another gateway running/);
    await first.close();
    const second = Journal.open(options(path));
    expect(second.lastFcnt("A")).toBe(7);
    await second.close();
  });

  it("refuses a file written by a newer schema", () => {
    const path = join(dir, `journal-${++files}.db`);
    withConnection(path, (db) => db.pragma(`user_version = ${SCHEMA_VERSION + 1}`));
    expect(() => Journal.open(options(path))).toThrow(/schema version/);
  });

  it("refuses a file that is not a database", () => {
    const path = join(dir, `journal-${++files}.db`);
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    expect(() => Journal.open(options(path))).toThrow();
  });

  it("refuses a damaged file with JournalCorruptError", async () => {
    const path = join(dir, `journal-${++files}.db`);
    const j = Journal.open(options(path));
    const payload = "p".repeat(500);
    for (let i = 0; i < 50; i++) {
      await j.append({
        devEui: "A",
        fcnt32: i,
        messages: [{ id: `a${i}`, topic: "t", payload, retain: false, qos: 1, deviceKey: "A" }],
      });
    }
    await j.close();
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(8, 0xff), 0, 8, 4096); // the B-tree page header of the root of `messages`
    closeSync(fd);
    expect(() => Journal.open(options(path))).toThrow(JournalCorruptError);
  });

  it("measures ages on the monotonic clock: a wall-clock step after boot drops nothing", async () => {
    const path = join(dir, `journal-${++files}.db`);
    const j = Journal.open(options(path));
    await j.append({
      devEui: "A",
      fcnt32: 1,
      messages: [{ id: "a1", topic: "t", payload: "x", retain: false, qos: 1, deviceKey: "A" }],
    });
    const step = vi.spyOn(Date, "now").mockReturnValue(Date.now() + 90 * 24 * 3600 * 1000); // NTP sync after 90 days off
    try {
      expect(j.take(10, 10).map((m) => m.id)).toEqual(["a1"]);
      expect(j.stats().droppedByAge).toBe(0);
    } finally {
      step.mockRestore();
      await j.close();
    }
  });

  describe("entries stored as a record", () => {
    const messages: OutgoingMessage[] = [
      {
        id: "a1-t",
        topic: "t/A/temperature",
        payload: '{"result":21.5}',
        retain: false,
        qos: 1,
        deviceKey: "A",
      },
      { id: "a1-radio", topic: "t/A/radio", payload: '{"rssi":-97}', retain: false, qos: 0, deviceKey: "A" },
    ];
    /** The test's record: which messages, by index into `messages`. */
    const render = (record: string) => (JSON.parse(record) as number[]).map((i) => messages[i]!);
    const stored = (path: string) =>
      withConnection(path, (db) => db.prepare("SELECT id, payload, record FROM messages ORDER BY seq").all());

    it("keeps the record in the file instead of the payloads and renders the messages after a restart", async () => {
      const path = join(dir, `journal-${++files}.db`);
      const first = Journal.open({ ...options(path), render });
      await first.append({ devEui: "A", fcnt32: 1, messages, record: "[0,1]" });
      expect(first.take(10, 10).map((m) => m.payload)).toEqual(messages.map((m) => m.payload)); // from memory
      await first.close();
      expect(stored(path)).toEqual([
        { id: "a1-t", payload: "", record: "[0,1]" },
        { id: "a1-radio", payload: "", record: "[0,1]" },
      ]);
      const second = Journal.open({ ...options(path), render });
      const taken = second.take(10, 10);
      expect(taken.map(({ seq: _s, createdAtMs: _c, ...m }) => m)).toEqual(messages);
      second.ack(taken.map((m) => m.seq));
      await second.close();
      expect(stored(path)).toEqual([]);
    });

    it("drops and counts a stored message its record no longer renders, and deletes its row", async () => {
      const path = join(dir, `journal-${++files}.db`);
      const first = Journal.open({ ...options(path), render });
      await first.append({ devEui: "A", fcnt32: 1, messages, record: "[0,1]" });
      await first.close();
      // An upgrade that renders the frame without its radio message, and one whose renderer throws.
      const told: string[] = [];
      const second = Journal.open({
        ...options(path),
        render: () => [messages[0]!],
        onUnrenderable: (id, detail) => told.push(`${id}: ${detail}`),
      });
      expect(second.take(10, 10).map((m) => m.id)).toEqual(["a1-t"]);
      expect(told).toEqual(["a1-radio: its record renders no message with this id"]);
      expect(second.stats()).toMatchObject({ droppedUnrenderable: 1, messages: 1 });
      await second.close();
      const third = Journal.open({
        ...options(path),
        render: () => {
          throw new Error("unknown record version");
        },
        onUnrenderable: (id, detail) => told.push(`${id}: ${detail}`),
      });
      expect(third.take(10, 10)).toEqual([]);
      expect(third.stats()).toMatchObject({ droppedUnrenderable: 1, messages: 0 });
      expect(told.at(-1)).toBe("a1-t: render failed: unknown record version");
      await third.close();
      expect(stored(path)).toEqual([]);
    });

    it("refuses an entry with a record when the journal has no render", async () => {
      const j = Journal.open(options(join(dir, `journal-${++files}.db`)));
      await expect(j.append({ devEui: "A", messages, record: "[0,1]" })).rejects.toThrow(/render/);
      await j.close();
    });

    it("migrates a version 1 file: its messages keep their payloads", async () => {
      const path = join(dir, `journal-${++files}.db`);
      withConnection(path, (db) => {
        db.exec(`CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, topic TEXT NOT NULL,
          payload TEXT NOT NULL, retain INTEGER NOT NULL, qos INTEGER NOT NULL, device_key TEXT NOT NULL,
          created_at_ms INTEGER NOT NULL, bytes INTEGER NOT NULL);
          CREATE TABLE fcnt (dev_eui TEXT PRIMARY KEY, fcnt32 INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL) WITHOUT ROWID;
          INSERT INTO messages VALUES (1, 'old', 't/A', '{"v":1}', 0, 1, 'A', ${Date.now()}, 12);
          INSERT INTO fcnt VALUES ('A', 41, ${Date.now()});`);
        db.pragma("user_version = 1");
      });
      const j = Journal.open({ ...options(path), render });
      expect(j.lastFcnt("A")).toBe(41);
      expect(j.take(10, 10)).toMatchObject([{ id: "old", payload: '{"v":1}', deviceKey: "A" }]);
      await j.close();
      expect(withConnection(path, (db) => db.pragma("user_version", { simple: true }))).toBe(SCHEMA_VERSION);
    });
  });
});
