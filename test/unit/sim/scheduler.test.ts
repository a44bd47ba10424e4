import { describe, expect, it } from "vitest";
import { EventQueue } from "../../../tools/sim/event-queue.ts";
import { Random } from "../../../tools/sim/models/random.ts";
import { parseSpeed, Scheduler } from "../../../tools/sim/scheduler.ts";

describe("EventQueue", () => {
  it("pops by time, then in insertion order, skipping cancelled events", () => {
    const q = new EventQueue();
    const random = new Random(5);
    const pushed: Array<{ at: number; n: number }> = [];
    for (let n = 0; n < 500; n++) {
      const at = random.int(0, 20);
      pushed.push({ at, n });
      const e = q.push(at, () => {});
      if (n % 7 === 0) e.cancelled = true;
      (e as { n?: number }).n = n;
    }
    const out: Array<{ at: number; n: number }> = [];
    for (let e = q.shift(); e !== undefined; e = q.shift())
      out.push({ at: e.atMs, n: (e as { n?: number }).n! });
    const expected = pushed.filter((p) => p.n % 7 !== 0).sort((a, b) => a.at - b.at || a.n - b.n);
    expect(out).toEqual(expected);
  });
});

describe("Scheduler", () => {
  it("runs events in time order, FIFO at equal times, and leaves the clock at the end", async () => {
    const s = new Scheduler({ startMs: 1000 });
    const log: string[] = [];
    s.at(3000, () => {
      log.push(`c@${s.nowMs}`);
    });
    s.at(2000, () => {
      log.push(`a@${s.nowMs}`);
      s.at(2000, () => {
        log.push(`a2@${s.nowMs}`); // scheduled for "now": after the ones already due now
      });
    });
    s.at(2000, () => {
      log.push(`b@${s.nowMs}`);
    });
    s.at(500, () => {
      log.push(`past@${s.nowMs}`); // in the past: runs at the current time
    });
    const late = s.at(2500, () => {
      log.push("cancelled");
    });
    late.cancel();
    s.at(9000, () => {
      log.push("later");
    });
    await s.runUntil(5000);
    expect(log).toEqual(["past@1000", "a@2000", "b@2000", "a2@2000", "c@3000"]);
    expect(s.nowMs).toBe(5000);
    expect(s.stats().pending).toBe(1);
    await s.runUntil(9000);
    expect(log.at(-1)).toBe("later");
  });

  it("awaits asynchronous events and the gate before the next event", async () => {
    const s = new Scheduler({ startMs: 0 });
    const log: string[] = [];
    let open: () => void = () => {};
    let gated = false;
    s.gate = () => {
      if (gated) return undefined;
      gated = true;
      return new Promise<void>((resolve) => {
        open = resolve;
      });
    };
    s.at(1, async () => {
      await new Promise((r) => setTimeout(r, 5));
      log.push("async done");
    });
    s.at(2, () => {
      log.push("second");
    });
    const run = s.runUntil(10);
    await new Promise((r) => setTimeout(r, 30));
    expect(log).toEqual(["async done"]); // held by the gate
    open();
    await run;
    expect(log).toEqual(["async done", "second"]);
  });

  it("paces virtual time against the wall clock", async () => {
    const s = new Scheduler({ startMs: 0, speed: 1000 }); // 1 virtual second per wall ms
    const wall: number[] = [];
    const t0 = performance.now();
    for (const at of [20_000, 60_000]) s.at(at, () => void wall.push(performance.now() - t0));
    await s.runUntil(80_000);
    const total = performance.now() - t0;
    expect(wall[0]).toBeGreaterThanOrEqual(18);
    expect(wall[1]).toBeGreaterThanOrEqual(58);
    expect(total).toBeGreaterThanOrEqual(78);
    expect(total).toBeLessThan(1000);
  });

  it("stop() ends a paced run early; an event scheduled meanwhile wakes the sleeper", async () => {
    const s = new Scheduler({ startMs: 0, speed: 1 });
    const seen: number[] = [];
    const run = s.runUntil(3_600_000);
    setTimeout(() => {
      s.at(s.nowMs, () => {
        seen.push(s.nowMs);
        s.stop();
      });
    }, 10);
    await run;
    expect(seen).toEqual([0]);
    expect(s.nowMs).toBe(0);
  });

  it("parses speeds", () => {
    expect(parseSpeed("max")).toBe("max");
    expect(parseSpeed("3600")).toBe(3600);
    expect(() => parseSpeed("0")).toThrow(RangeError);
    expect(() => parseSpeed("fast")).toThrow(RangeError);
  });
});
