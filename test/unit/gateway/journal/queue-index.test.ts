import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QueueIndex } from "../../../../gateway/journal/queue-index.ts";

// The contract suite covers the index through the journal with small queues; this drives it with thousands
// of messages so that the array compaction paths run, and checks it against a plain model.
describe("QueueIndex with large queues", () => {
  type Op =
    | { kind: "add"; group: number; count: number }
    | { kind: "take"; limit: number; perGroup: number }
    | { kind: "ack" | "release"; fraction: number }
    | { kind: "drop"; keep: number };

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant("add" as const),
      group: fc.nat(5),
      count: fc.integer({ min: 1, max: 3000 }),
    }),
    fc.record({
      kind: fc.constant("take" as const),
      limit: fc.integer({ min: 1, max: 3000 }),
      perGroup: fc.integer({ min: 1, max: 2000 }),
    }),
    fc.record({
      kind: fc.constantFrom("ack" as const, "release" as const),
      fraction: fc.double({ min: 0, max: 1 }),
    }),
    fc.record({ kind: fc.constant("drop" as const), keep: fc.nat(4000) }),
  );

  it("matches a model: per-group order, in-flight exclusion, drop-oldest of waiting messages", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const index = new QueueIndex();
        const ready = new Map<string, number[]>();
        const groupOf = new Map<number, string>();
        let inFlight: number[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === "add") {
            const key = `g${o.group}`;
            const list = ready.get(key) ?? [];
            for (let i = 0; i < o.count; i++) {
              index.add(++seq, key, 10, seq);
              groupOf.set(seq, key);
              list.push(seq);
            }
            ready.set(key, list);
          } else if (o.kind === "take") {
            const taken = index.take(o.limit, o.perGroup);
            let expected = 0;
            for (const list of ready.values()) expected += Math.min(list.length, o.perGroup);
            expect(taken.length).toBe(Math.min(o.limit, expected));
            for (const m of taken) {
              const list = ready.get(m.group.key)!;
              expect(list[0]).toBe(m.seq);
              list.shift();
              inFlight.push(m.seq);
            }
          } else if (o.kind === "ack" || o.kind === "release") {
            const chosen = inFlight.filter((_, i) => (i * 7919) % 100 < o.fraction * 100);
            const chosenSet = new Set(chosen);
            inFlight = inFlight.filter((s) => !chosenSet.has(s));
            if (o.kind === "ack") {
              expect(index.ack(chosen).sort((a, b) => a - b)).toEqual([...chosen].sort((a, b) => a - b));
            } else {
              index.release(chosen);
              for (const s of chosen) ready.get(groupOf.get(s)!)!.push(s);
              for (const list of ready.values()) list.sort((a, b) => a - b);
            }
          } else if (o.kind === "drop") {
            const dropped = index.dropOldest(() => index.count - index.inFlightCount() > o.keep);
            const waiting = [...ready.values()].flat().sort((a, b) => a - b);
            const expected = waiting.slice(0, Math.max(0, waiting.length - o.keep));
            expect(dropped).toEqual(expected);
            const gone = new Set(expected);
            for (const [key, list] of ready)
              ready.set(
                key,
                list.filter((s) => !gone.has(s)),
              );
          }
          expect(index.count).toBe(inFlight.length + [...ready.values()].reduce((n, l) => n + l.length, 0));
          const oldest = [...inFlight, ...[...ready.values()].flat()].reduce(
            (a, b) => Math.min(a, b),
            Infinity,
          );
          expect(index.oldestBornMs()).toBe(Number.isFinite(oldest) ? oldest : undefined);
        }
      }),
      { numRuns: 100, seed: 7 },
    );
  });
});
