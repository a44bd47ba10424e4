import type BetterSqlite3 from "better-sqlite3";

/**
 * Bumped when the tables change; a file with a newer version is refused rather than misread, an older one
 * is migrated on open. 2: messages.record (a message stored as its entry's record, payload empty).
 */
export const SCHEMA_VERSION = 2;

/**
 * Connection settings, applied on every open (only `journal_mode` is stored in the file). Why each one:
 * gateway/journal/README.md, "Pragmas".
 */
export const PRAGMAS: ReadonlyArray<readonly [name: string, value: string | number]> = [
  // One fsync per commit, sequential appends to the -wal file, readers never block the writer.
  ["journal_mode", "WAL"],
  // In WAL mode NORMAL syncs only at checkpoints: after a power cut the last commits may be gone although
  // their frames were acknowledged. FULL syncs the WAL at every commit, so a resolved append() is on disk.
  ["synchronous", "FULL"],
  // Default 1000 pages (4 MiB), stated here because SD-card wear depends on it: a checkpoint writes each
  // page changed since the previous one once, however often it changed.
  ["wal_autocheckpoint", 1000],
  // A WAL that grew during a long backlog is cut back to this size after the next checkpoint.
  ["journal_size_limit", 16 * 1024 * 1024],
  // Deleted rows are not zeroed: no extra writes.
  ["secure_delete", "OFF"],
  // SQLite's own default page cache (2 MB); this better-sqlite3 build defaults to 16 MB, which a queue that
  // mostly appends and reads back its newest rows does not need on a small board.
  ["cache_size", -2000],
];

export const CREATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  seq           INTEGER PRIMARY KEY,
  id            TEXT    NOT NULL,
  topic         TEXT    NOT NULL,
  payload       TEXT    NOT NULL,
  retain        INTEGER NOT NULL,
  qos           INTEGER NOT NULL,
  device_key    TEXT    NOT NULL,
  created_at_ms INTEGER NOT NULL,
  bytes         INTEGER NOT NULL,
  record        TEXT
);
CREATE TABLE IF NOT EXISTS fcnt (
  dev_eui       TEXT    PRIMARY KEY,
  fcnt32        INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
`;

export function applyPragmas(db: BetterSqlite3.Database): void {
  for (const [name, value] of PRAGMAS) db.pragma(`${name} = ${value}`);
  const mode = db.pragma("journal_mode", { simple: true });
  if (mode !== "wal")
    throw new Error(`journal: could not switch ${db.name} to WAL mode (got ${String(mode)})`);
}

export function migrate(db: BetterSqlite3.Database): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `journal: ${db.name} has schema version ${version}, this gateway knows ${SCHEMA_VERSION}`,
    );
  }
  db.transaction(() => {
    // Version 1 had no record column; its rows keep their payloads (record NULL).
    if (version === 1) db.exec("ALTER TABLE messages ADD COLUMN record TEXT");
    db.exec(CREATE_SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
