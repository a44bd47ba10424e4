/**
 * kill -9 during a steady stream of appends, many cycles, on one journal file: every entry whose append
 * promise resolved (the moment the gateway sends PUSH_ACK) must be in the journal after the kill, unless the
 * child had already published it; the file must pass integrity_check; the FCnt state must not go back.
 * JOURNAL_KILL9_CYCLES and JOURNAL_KILL9_SEED change the run; the seed is printed on failure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, expect, it } from "vitest";
import { Journal } from "../../../gateway/journal/journal.ts";
import { Random } from "../../../tools/sim/models/random.ts";

const CYCLES = Number(process.env.JOURNAL_KILL9_CYCLES ?? 20);
const SEED = Number(process.env.JOURNAL_KILL9_SEED ?? 0x5e115);
const DEVICES = 8;
const CHILD = fileURLToPath(new URL("./append-child.ts", import.meta.url));

const dir = mkdtempSync(join(tmpdir(), "journal-kill9-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Acked {
  devEui: string;
  fcnt32: number;
}

it(`loses no acknowledged entry over ${CYCLES} kill -9 cycles (seed ${SEED})`, async () => {
  const random = new Random(SEED);
  const path = join(dir, "journal.db");
  const acked = new Map<string, Acked>();
  const published = new Set<string>();
  const maxAckedFcnt = new Map<string, number>();
  const log: string[] = [];

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    // Kill after a random number of reported events: early (during start-up and the first commits) or
    // later, in the middle of a steady stream with acks and releases interleaved.
    const killAfterLines = random.chance(0.2) ? random.int(1, 50) : random.int(50, 4000);
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, path, String(DEVICES), "200"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stderr: string[] = [];
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
    let lines = 0;
    let ackedThisCycle = 0;
    const closed = once(child, "close");
    for await (const line of createInterface({ input: child.stdout })) {
      const [kind, id, devEui, fcnt] = line.split(" ");
      if (kind === "ack") {
        acked.set(id!, { devEui: devEui!, fcnt32: Number(fcnt) });
        maxAckedFcnt.set(devEui!, Math.max(maxAckedFcnt.get(devEui!) ?? -1, Number(fcnt)));
        ackedThisCycle++;
      } else if (kind === "pub") {
        published.add(id!);
      }
      if (++lines === killAfterLines) kill(child);
    }
    const [code, signal] = (await closed) as [number | null, NodeJS.Signals | null];
    expect({ cycle, code, signal, stderr: stderr.join("") }).toMatchObject({ signal: "SIGKILL" });

    const state = readJournal(path);
    expect(state.integrity, `cycle ${cycle}`).toBe("ok");
    const present = new Set(state.ids);
    expect(present.size, `duplicate ids in the journal after cycle ${cycle}`).toBe(state.ids.length);
    const lost = [...acked.keys()].filter((id) => !present.has(id) && !published.has(id));
    expect(lost, `acknowledged but lost after cycle ${cycle} (seed ${SEED})`).toEqual([]);
    for (const [devEui, fcnt32] of maxAckedFcnt) {
      expect(state.fcnt.get(devEui) ?? -1, `FCnt of ${devEui} after cycle ${cycle}`).toBeGreaterThanOrEqual(
        fcnt32,
      );
    }
    // The journal itself opens the file the crash left behind and sees the same FCnt state.
    const journal = Journal.open({
      path,
      maxMessages: 10_000_000,
      maxBytes: 1_000_000_000,
      maxAgeS: 365 * 24 * 3600,
      commitIntervalMs: 2,
      commitMaxEntries: 64,
    });
    for (const [devEui, fcnt32] of state.fcnt) expect(journal.lastFcnt(devEui)).toBe(fcnt32);
    await journal.close();
    log.push(
      `cycle ${cycle}: killed after ${lines} lines, ${ackedThisCycle} acked, ${state.ids.length} queued`,
    );
  }
  console.log(
    `kill9: ${CYCLES} cycles, ${acked.size} acknowledged entries, ${published.size} published, 0 lost (seed ${SEED})\n` +
      log.join("\n"),
  );
});

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

function readJournal(path: string): { integrity: unknown; ids: string[]; fcnt: Map<string, number> } {
  const db = new Database(path);
  try {
    return {
      integrity: db.pragma("integrity_check", { simple: true }),
      ids: db.prepare("SELECT id FROM messages").pluck().all() as string[],
      fcnt: new Map(db.prepare("SELECT dev_eui, fcnt32 FROM fcnt").raw().all() as Array<[string, number]>),
    };
  } finally {
    db.close();
  }
}
