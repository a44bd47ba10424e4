/**
 * The contract every gateway journal must pass (in the manner of MQTT.js's test/node/abstract_store.ts).
 * A new implementation gets a `*.test.ts` that calls `journalContract(name, factory)`.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type {
  Journal,
  JournalEntry,
  JournalOptions,
  OutgoingMessage,
} from "../../../../gateway/journal/journal.ts";

export type JournalLike = Pick<
  Journal,
  "lastFcnt" | "append" | "take" | "ack" | "release" | "depth" | "stats" | "close"
>;

export interface JournalFactory {
  /** A fresh, empty location for a journal. */
  newPath(): string;
  /** Opens the journal at `opts.path`; opening the same path again sees what was committed there. */
  open(opts: JournalOptions): JournalLike;
  /** Ids of the messages committed at `path`, read independently of the open journal (another connection). */
  committedIds(path: string): string[];
  /** Makes every commit at `path` fail until the returned function is called. */
  breakCommits(path: string): () => void;
}

const BIG = 1_000_000_000;

export function journalContract(name: string, factory: JournalFactory): void {
  const options = (overrides: Partial<JournalOptions> = {}): JournalOptions => ({
    path: factory.newPath(),
    maxMessages: BIG,
    maxBytes: BIG,
    maxAgeS: BIG,
    commitIntervalMs: 0,
    commitMaxEntries: 64,
    ...overrides,
  });

  describe(`journal contract: ${name}`, () => {
    it("returns appended messages with all fields, oldest first", async () => {
      const j = factory.open(options());
      await j.append(entry("A", 1, [msg("A", "a1", { retain: true, qos: 0 }), msg("A", "a2")]));
      await j.append(entry("B", 7, [msg("B", "b1")]));
      const taken = j.take(10, 10);
      expect(taken.map((m) => m.id)).toEqual(["a1", "a2", "b1"]);
      expect(taken[0]).toMatchObject({
        topic: "t/A",
        payload: '{"id":"a1"}',
        retain: true,
        qos: 0,
        deviceKey: "A",
      });
      expect(taken[1]).toMatchObject({ retain: false, qos: 1 });
      expect(typeof taken[0]!.createdAtMs).toBe("number");
      expect(taken[0]!.seq).toBeLessThan(taken[1]!.seq);
      await j.close();
    });

    it("never hands out a message that is in flight; release brings it back in order", async () => {
      const j = factory.open(options());
      await j.append(entry("A", 1, [msg("A", "a1"), msg("A", "a2"), msg("A", "a3")]));
      const first = j.take(2, 10);
      expect(first.map((m) => m.id)).toEqual(["a1", "a2"]);
      expect(j.take(10, 10).map((m) => m.id)).toEqual(["a3"]);
      expect(j.take(10, 10)).toEqual([]);
      await j.append(entry("A", 2, [msg("A", "a4")]));
      j.release(first.map((m) => m.seq));
      expect(j.take(10, 10).map((m) => m.id)).toEqual(["a1", "a2", "a4"]);
      await j.close();
    });

    it("puts released messages before newer ones of their device, also when a take is cut short", async () => {
      const j = factory.open(options());
      await j.append(entry("A", 1, [msg("A", "a1"), msg("A", "a2"), msg("A", "a3")]));
      const first = j.take(1, 1);
      j.release(first.map((m) => m.seq));
      expect(j.take(1, 1).map((m) => m.id)).toEqual(["a1"]);
      expect(j.take(1, 1).map((m) => m.id)).toEqual(["a2"]);
      await j.close();
    });

    it("deletes acknowledged messages, also on disk", async () => {
      const path = factory.newPath();
      const j = factory.open(options({ path }));
      await j.append(entry("A", 1, [msg("A", "a1"), msg("A", "a2"), msg("A", "a3")]));
      const taken = j.take(2, 10);
      j.ack(taken.map((m) => m.seq));
      expect(j.depth().messages).toBe(1);
      expect(j.stats().deleted).toBe(2);
      await j.close();
      expect(factory.committedIds(path)).toEqual(["a3"]);
      const reopened = factory.open(options({ path }));
      expect(reopened.take(10, 10).map((m) => m.id)).toEqual(["a3"]);
      await reopened.close();
    });

    it("commits acks without further appends", async () => {
      const path = factory.newPath();
      const j = factory.open(options({ path, commitIntervalMs: 5 }));
      await j.append(entry("A", 1, [msg("A", "a1"), msg("A", "a2")]));
      const commits = j.stats().commits;
      j.ack(j.take(1, 1).map((m) => m.seq));
      await until(() => j.stats().commits > commits);
      expect(factory.committedIds(path)).toEqual(["a2"]);
      await j.close();
    });

    it("in-flight messages survive a restart (they were not acknowledged)", async () => {
      const path = factory.newPath();
      const j = factory.open(options({ path }));
      await j.append(entry("A", 1, [msg("A", "a1"), msg("A", "a2")]));
      j.take(10, 10);
      await j.close();
      const reopened = factory.open(options({ path }));
      expect(reopened.take(10, 10).map((m) => m.id)).toEqual(["a1", "a2"]);
      await reopened.close();
    });

    it("keeps append order within a device under any mix of take, ack and release", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 60 }), async (ops) => {
          const j = factory.open(options());
          const model = new Model();
          try {
            let n = 0;
            for (const op of ops) {
              if (op.kind === "append") {
                const ids = Array.from({ length: op.count }, () => `m${n++}`);
                await j.append(
                  entry(
                    op.device,
                    undefined,
                    ids.map((id) => msg(op.device, id)),
                  ),
                );
                model.append(op.device, ids);
              } else if (op.kind === "take") {
                const taken = j.take(op.limit, op.perGroup);
                model.checkTake(
                  taken.map((m) => [m.deviceKey, m.id]),
                  op.limit,
                  op.perGroup,
                );
                for (const m of taken) model.seqOf.set(m.id, m.seq);
              } else {
                const chosen = model.pickInFlight(op.pick);
                if (op.kind === "ack") j.ack(chosen.map((id) => model.seqOf.get(id)!));
                else j.release(chosen.map((id) => model.seqOf.get(id)!));
                model.settle(chosen, op.kind);
              }
              expect(j.depth().messages).toBe(model.size());
            }
          } finally {
            await j.close();
          }
        }),
        { numRuns: 200, seed: 20240603 },
      );
    });

    it("does not let a 10,000-message backlog of one device starve another", async () => {
      const j = factory.open(options({ commitMaxEntries: 1000 }));
      const backlog: Promise<void>[] = [];
      for (let i = 0; i < 10_000; i++) backlog.push(j.append(entry("A", i, [msg("A", `a${i}`)])));
      await Promise.all(backlog);
      await j.append(entry("B", 1, [msg("B", "fresh")]));
      const taken = j.take(100, 10);
      expect(taken.map((m) => m.id)).toContain("fresh");
      expect(taken.filter((m) => m.deviceKey === "A").map((m) => m.id)).toEqual(
        Array.from({ length: 10 }, (_, i) => `a${i}`),
      );
      // Even a take no larger than one group's share reaches B on the following call.
      await j.append(entry("B", 2, [msg("B", "fresh2")]));
      const ids = [...j.take(10, 10), ...j.take(10, 10)].map((m) => m.id);
      expect(ids).toContain("fresh2");
      await j.close();
    });

    it("keeps FCnt state across close and reopen; entries without fcnt32 leave it alone", async () => {
      const path = factory.newPath();
      const j = factory.open(options({ path }));
      expect(j.lastFcnt("A")).toBeUndefined();
      const pending = j.append(entry("A", 70_000, [msg("A", "a1")]));
      expect(j.lastFcnt("A")).toBe(70_000); // visible to the next frame before the commit
      await pending;
      await j.append(entry("A", undefined, [msg("A", "meta")]));
      await j.append(entry("B", 0xffff_ffff, []));
      expect(j.lastFcnt("A")).toBe(70_000);
      await j.close();
      const reopened = factory.open(options({ path }));
      expect(reopened.lastFcnt("A")).toBe(70_000);
      expect(reopened.lastFcnt("B")).toBe(0xffff_ffff);
      expect(reopened.lastFcnt("C")).toBeUndefined();
      await reopened.close();
    });

    it("rejects an fcnt32 outside 0..2^32-1 without touching the state", async () => {
      const j = factory.open(options());
      await expect(j.append(entry("A", 2 ** 32, []))).rejects.toThrow(RangeError);
      await expect(j.append(entry("A", -1, []))).rejects.toThrow(RangeError);
      expect(j.lastFcnt("A")).toBeUndefined();
      await j.close();
    });

    it("drops the oldest messages beyond maxMessages and counts them; FCnt state stays", async () => {
      const path = factory.newPath();
      const j = factory.open(options({ path, maxMessages: 5 }));
      for (let i = 1; i <= 8; i++)
        await j.append(entry(i % 2 ? "A" : "B", i, [msg(i % 2 ? "A" : "B", `m${i}`)]));
      expect(j.depth().messages).toBe(5);
      expect(j.stats().droppedBySize).toBe(3);
      expect(j.take(10, 10).map((m) => m.id)).toEqual(["m4", "m5", "m6", "m7", "m8"]);
      await j.close();
      expect(factory.committedIds(path).sort()).toEqual(["m4", "m5", "m6", "m7", "m8"]);
      const reopened = factory.open(options({ path, maxMessages: 2 }));
      expect(reopened.depth().messages).toBe(2);
      expect(reopened.stats().droppedBySize).toBe(3);
      expect(reopened.lastFcnt("A")).toBe(7);
      expect(reopened.lastFcnt("B")).toBe(8);
      await reopened.close();
    });

    it("drops the oldest messages beyond maxBytes (id + topic + payload, UTF-8)", async () => {
      const j = factory.open(options({ maxBytes: 100 }));
      // id "xN" (2) + topic "t/A" (3) + payload {"id":"xN"} (11) = 16 bytes each
      for (let i = 0; i < 10; i++) await j.append(entry("A", i, [msg("A", `x${i}`)]));
      expect(j.depth()).toMatchObject({ messages: 6, bytes: 96 });
      expect(j.stats()).toMatchObject({ droppedBySize: 4, droppedByAge: 0 });
      expect(j.take(10, 10)[0]!.id).toBe("x4");
      await j.close();
    });

    it("does not drop messages that are in flight", async () => {
      const j = factory.open(options({ maxMessages: 3 }));
      await j.append(entry("A", 1, [msg("A", "a1"), msg("A", "a2")]));
      const inFlight = j.take(10, 10);
      await j.append(entry("A", 2, [msg("A", "a3"), msg("A", "a4")]));
      expect(j.stats().droppedBySize).toBe(1); // a3: the oldest message that is not in flight
      j.ack(inFlight.map((m) => m.seq));
      expect(j.take(10, 10).map((m) => m.id)).toEqual(["a4"]);
      await j.close();
    });

    it("drops messages older than maxAgeS, on the injected clock, also at reopen", async () => {
      let now = 1_700_000_000_000;
      const path = factory.newPath();
      const j = factory.open(options({ path, maxAgeS: 60, now: () => now }));
      await j.append(entry("A", 1, [msg("A", "old")]));
      now += 30_000;
      await j.append(entry("A", 2, [msg("A", "newer")]));
      expect(j.depth().oldestAgeS).toBe(30);
      now += 30_001;
      expect(j.take(10, 10).map((m) => m.id)).toEqual(["newer"]);
      expect(j.stats().droppedByAge).toBe(1);
      await j.close();
      now += 30_000;
      const reopened = factory.open(options({ path, maxAgeS: 60, now: () => now }));
      expect(reopened.depth().messages).toBe(0);
      expect(reopened.stats().droppedByAge).toBe(1);
      expect(reopened.lastFcnt("A")).toBe(2);
      await reopened.close();
    });

    it("resolves an append only when its rows are visible to another connection", async () => {
      const path = factory.newPath();
      const j = factory.open(options({ path, commitIntervalMs: 20, commitMaxEntries: 1000 }));
      const done = j.append(entry("A", 1, [msg("A", "a1")]));
      expect(factory.committedIds(path)).toEqual([]);
      await done.then(() => expect(factory.committedIds(path)).toEqual(["a1"]));
      await j.close();
    });

    it("batches appends: one commit per interval, or earlier at commitMaxEntries", async () => {
      const path = factory.newPath();
      const j = factory.open(options({ path, commitIntervalMs: 60_000, commitMaxEntries: 50 }));
      const commits = j.stats().commits;
      const done = Array.from({ length: 49 }, (_, i) => j.append(entry(`D${i}`, i, [msg(`D${i}`, `m${i}`)])));
      expect(factory.committedIds(path)).toEqual([]);
      done.push(j.append(entry("D49", 49, [msg("D49", "m49")])));
      await Promise.all(done);
      expect(j.stats().commits).toBe(commits + 1);
      expect(factory.committedIds(path)).toHaveLength(50);
      const last = j.append(entry("X", 1, [msg("X", "late")]));
      await j.close(); // flushes the pending append
      await last;
      expect(factory.committedIds(path)).toContain("late");
    });

    it("rejects every append of a failing commit and rolls back their FCnt", async () => {
      const path = factory.newPath();
      const j = factory.open(options({ path, commitIntervalMs: 5 }));
      await j.append(entry("A", 10, [msg("A", "ok")]));
      const repair = factory.breakCommits(path);
      const failing = [
        j.append(entry("A", 11, [msg("A", "lost1")])),
        j.append(entry("B", 1, [msg("B", "lost2")])),
      ];
      expect(j.lastFcnt("A")).toBe(11);
      const results = await Promise.allSettled(failing);
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
      expect(j.lastFcnt("A")).toBe(10);
      expect(j.lastFcnt("B")).toBeUndefined();
      expect(j.take(10, 10).map((m) => m.id)).toEqual(["ok"]);
      repair();
      await j.append(entry("A", 11, [msg("A", "retry")]));
      expect(factory.committedIds(path).sort()).toEqual(["ok", "retry"]);
      await j.close();
    });

    it("counts appends, deletes and commits, and reports the file size", async () => {
      const j = factory.open(options());
      await j.append(entry("A", 1, [msg("A", "a1"), msg("A", "a2")]));
      j.ack(j.take(1, 1).map((m) => m.seq));
      const s = j.stats();
      expect(s).toMatchObject({ messages: 1, appended: 2, deleted: 1, droppedBySize: 0, droppedByAge: 0 });
      expect(s.commits).toBeGreaterThanOrEqual(1);
      expect(s.fileBytes).toBeGreaterThan(0);
      await j.close();
    });

    it("rejects appends after close", async () => {
      const j = factory.open(options());
      await j.close();
      await expect(j.append(entry("A", 1, []))).rejects.toThrow(/closed/);
    });
  });
}

function msg(device: string, id: string, o: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    id,
    topic: `t/${device}`,
    payload: JSON.stringify({ id }),
    retain: false,
    qos: 1,
    deviceKey: device,
    ...o,
  };
}

function entry(devEui: string, fcnt32: number | undefined, messages: OutgoingMessage[]): JournalEntry {
  return fcnt32 === undefined ? { devEui, messages } : { devEui, fcnt32, messages };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

type Op =
  | { kind: "append"; device: string; count: number }
  | { kind: "take"; limit: number; perGroup: number }
  | { kind: "ack" | "release"; pick: number[] };

const operation: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("append" as const),
    device: fc.constantFrom("A", "B", "C"),
    count: fc.nat(4),
  }),
  fc.record({ kind: fc.constant("take" as const), limit: fc.nat(8), perGroup: fc.nat(4) }),
  fc.record({
    kind: fc.constantFrom("ack" as const, "release" as const),
    pick: fc.array(fc.nat(), { maxLength: 5 }),
  }),
);

/** Reference model: per device the waiting messages in append order, plus the in-flight set. */
class Model {
  readonly seqOf = new Map<string, number>();
  private readonly ready = new Map<string, string[]>();
  private readonly order = new Map<string, number>();
  private readonly deviceOf = new Map<string, string>();
  private inFlight: string[] = [];

  append(device: string, ids: string[]): void {
    const list = this.ready.get(device) ?? [];
    for (const id of ids) {
      this.order.set(id, this.order.size);
      this.deviceOf.set(id, device);
      list.push(id);
    }
    this.ready.set(device, list);
  }

  checkTake(taken: Array<[device: string, id: string]>, limit: number, perGroup: number): void {
    let expected = 0;
    for (const list of this.ready.values()) expected += Math.min(list.length, perGroup);
    expect(taken).toHaveLength(Math.min(limit, expected));
    const perDevice = new Map<string, string[]>();
    for (const [device, id] of taken) perDevice.set(device, [...(perDevice.get(device) ?? []), id]);
    for (const [device, ids] of perDevice) {
      expect(ids.length).toBeLessThanOrEqual(perGroup);
      // Each device's share is the head of its waiting list: append order, nothing in flight.
      expect(ids).toEqual(this.ready.get(device)!.slice(0, ids.length));
      this.ready.get(device)!.splice(0, ids.length);
      this.inFlight.push(...ids);
    }
    const orders = taken.map(([, id]) => this.order.get(id)!);
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
  }

  pickInFlight(pick: number[]): string[] {
    const chosen = new Set<string>();
    for (const p of pick) if (this.inFlight.length > 0) chosen.add(this.inFlight[p % this.inFlight.length]!);
    return [...chosen];
  }

  settle(ids: string[], kind: "ack" | "release"): void {
    this.inFlight = this.inFlight.filter((id) => !ids.includes(id));
    if (kind === "ack") return;
    for (const id of ids) {
      const list = this.ready.get(this.deviceOf.get(id)!)!;
      list.push(id);
      list.sort((a, b) => this.order.get(a)! - this.order.get(b)!);
    }
  }

  size(): number {
    let n = this.inFlight.length;
    for (const list of this.ready.values()) n += list.length;
    return n;
  }
}
