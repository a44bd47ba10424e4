import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it, vi } from "vitest";
import { Journal, JournalCorruptError } from "../../../../gateway/journal/journal.ts";
import { SCHEMA_VERSION } from "../../../../gateway/journal/schema.ts";
import { journalContract } from "./journal-contract.ts";

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

journalContract("SQLite (better-sqlite3, WAL) on a real file", {
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
});
