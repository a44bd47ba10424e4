/**
 * One gateway per journal. Two processes appending to one file would each hand out the same sequence
 * numbers and FCnt state, so the second is refused. The lock is a tiny SQLite file next to the journal held
 * in EXCLUSIVE locking mode: the OS drops the lock when the process dies (kill -9, power cut), so there is
 * no stale lock to clean up, unlike a PID file.
 */
import Database from "better-sqlite3";

export class JournalLockedError extends Error {
  override name = "JournalLockedError";
}

export interface JournalLock {
  readonly path: string;
  release(): void;
}

export function lockJournal(journalPath: string): JournalLock {
  const path = `${journalPath}.lock`;
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    // The first write takes the exclusive lock; in this mode it is kept until the connection closes.
    db.transaction(() => {
      db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since_ms INTEGER NOT NULL)");
      db.exec("DELETE FROM holder");
      db.prepare("INSERT INTO holder VALUES (?, ?)").run(process.pid, Date.now());
    }).exclusive();
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") {
      throw new JournalLockedError(
        `in use by another process, which holds ${path}: is another gateway running with the same journal.path?`,
      );
    }
    throw err;
  }
  return { path, release: () => db.close() };
}
