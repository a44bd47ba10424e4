// The simulator end to end: real firmware on virtual nodes → virtual packet forwarders (Semtech UDP) → the
// real gateway (journal, LoRaWAN, dedup) → a real broker, compared with the simulator's ground truth.
import { afterEach, describe, expect, it } from "vitest";
import { ResetCause } from "../../../firmware/host/abi.ts";
import { metricValue } from "../../support/gateway.ts";
import {
  compareBike,
  compareClimate,
  compareFrames,
  startTestbed,
  type Testbed,
} from "../../support/testbed.ts";

const DAY_S = 86_400;
const HOUR_MS = 3_600_000;

let bed: Testbed | undefined;
afterEach(async () => {
  await bed?.stop();
  bed = undefined;
});

function report(label: string, value: unknown): void {
  console.log(`${label}: ${JSON.stringify(value)}`);
}

describe("simulated fleet through the real gateway into the broker", () => {
  it("5 nodes × 1 day: every climate sample once with its value and time, bike bins as counted", async () => {
    bed = await startTestbed({ nodes: 5, kind: "mixed", seed: 11, days: 1 });
    const startS = bed.fleet.spec.startS;
    // Three more hours, so that everything read during the day has been sent (latencies 1 h and 2 h).
    await bed.run({ untilMs: (startS + DAY_S) * 1000 + 3 * HOUR_MS });

    const climate = compareClimate(bed, { fromS: startS, toS: startS + DAY_S });
    report("climate", {
      ...climate,
      missing: climate.missing.slice(0, 5),
      unexpected: climate.unexpected.slice(0, 5),
    });
    // 3 climate nodes + 1 both-node, 288 slots a day, two channels (minus any the module rejected).
    expect(climate.expected).toBeGreaterThan(4 * 288 * 2 * 0.95);
    expect(climate.unsent).toBe(0);
    expect(climate.excused).toBe(0);
    expect(climate.missing).toEqual([]);
    expect(climate.duplicated).toEqual([]);
    expect(climate.wrongValue).toEqual([]);
    expect(climate.unexpected).toEqual([]);
    expect(climate.matched).toBe(climate.expected);
    expect(climate.maxTimeErrorS).toBeLessThanOrEqual(3);

    const bike = compareBike(bed, { fromS: startS, toS: startS + DAY_S });
    report("bike", {
      expected: bike.expected,
      exact: bike.exact,
      mismatched: bike.mismatched.length,
      absoluteError: bike.absoluteError,
      trueTotal: bike.trueTotal,
      firstMismatches: bike.mismatched.slice(0, 5),
    });
    // Two bike-counting nodes, 96 bins each.
    expect(bike.expected).toBe(2 * 96);
    expect(bike.missing).toEqual([]);
    expect(bike.unsent).toBe(0);
    // Two-channel sensing misses or misdirects a rider now and then (hw/bike-counter.md §5): rare, small.
    expect(bike.mismatched.length).toBeLessThanOrEqual(bike.expected * 0.2);
    expect(bike.absoluteError).toBeLessThanOrEqual(bike.trueTotal * 0.02);

    const frames = compareFrames(bed);
    expect(frames.missing).toEqual([]);
    expect(
      bed.logs.flatMap((l) => l.records()).filter((r) => r.level === "error" || r.level === "fatal"),
    ).toEqual([]);
  });

  it("2 gateway sites, 10 % loss: every frame heard by at least one site arrives, with every reception", async () => {
    bed = await startTestbed({ nodes: 5, gateways: 2, loss: 0.1, seed: 12, days: 1 });
    await bed.run();
    const frames = compareFrames(bed);
    const both = bed.truth.frames().filter((f) => f.heardBy.length === 2).length;
    report("frames", {
      heard: frames.heard,
      arrived: frames.arrived,
      heardByBoth: both,
      unheard: bed.truth.frames().length - frames.heard,
    });
    expect(frames.heard).toBeGreaterThan(100);
    expect(both).toBeGreaterThan(0); // the sites overlap
    expect(frames.missing).toEqual([]);
    expect(frames.phantom).toEqual([]);
    expect(frames.missingReceptions).toBe(0);

    const startS = bed.fleet.spec.startS;
    const climate = compareClimate(bed, { fromS: startS, toS: startS + DAY_S });
    expect(climate.missing).toEqual([]);
    expect(climate.duplicated).toEqual([]);
    expect(climate.wrongValue).toEqual([]);
    // One observation per sample whatever the number of sites that heard it.
    const ids = bed.observations();
    expect(bed.observationsReceived()).toBeGreaterThanOrEqual(ids.size);
  });

  it("faults on demand: drop, duplicate, corrupt, replay, reboot and forwarder restart", async () => {
    bed = await startTestbed({ nodes: 4, kind: "climate", gateways: 1, seed: 13, days: 1 });
    const { fleet } = bed;
    const t0 = fleet.startMs;
    const [a, b, c, d] = fleet.spec.nodes.map((n) => n.name) as [string, string, string, string];
    fleet.schedule(t0 + 2 * HOUR_MS, { kind: "drop", node: a });
    fleet.schedule(t0 + 3 * HOUR_MS, { kind: "duplicate", node: b, frames: 2 });
    fleet.schedule(t0 + 4 * HOUR_MS, { kind: "corrupt", node: c });
    fleet.schedule(t0 + 6 * HOUR_MS, { kind: "replay", node: d });
    fleet.schedule(t0 + 8 * HOUR_MS, { kind: "reboot", node: d, cause: ResetCause.watchdog });
    fleet.schedule(t0 + 9 * HOUR_MS, { kind: "restart-forwarder", site: 0 });
    fleet.schedule(t0 + 12 * HOUR_MS, { kind: "reboot", node: a, cause: ResetCause.wakeFromDeepSleep });
    await bed.run();

    const truth = bed.truth;
    expect(truth.node(a).frames.filter((f) => f.faults.includes("drop"))).toHaveLength(1);
    expect(truth.node(b).frames.filter((f) => f.faults.includes("duplicate"))).toHaveLength(2);
    expect(truth.node(c).frames.filter((f) => f.faults.includes("corrupt"))).toHaveLength(1);
    expect(truth.replays).toHaveLength(1);
    expect(truth.node(d).reboots).toEqual([{ tS: (t0 + 8 * HOUR_MS) / 1000, cause: ResetCause.watchdog }]);
    expect(fleet.forwarders[0]!.stats().restarts).toBe(1);

    // FCnt continues across the reboots: no counter is used twice.
    for (const name of [a, d]) {
      const fcnts = truth.node(name).frames.map((f) => f.fcnt);
      expect(fcnts).toEqual(fcnts.map((_, i) => i));
    }
    // Everything not dropped or corrupted arrives exactly once; the replay is not published again.
    const frames = compareFrames(bed);
    expect(frames.missing.map((f) => `${f.node} ${f.fcnt} ${(f.startMs - t0) / 1000}`)).toEqual([]);
    const startS = fleet.spec.startS;
    const climate = compareClimate(bed, { fromS: startS, toS: startS + DAY_S - 2 * 3600 });
    report("climate with faults", {
      expected: climate.expected,
      excused: climate.excused,
      matched: climate.matched,
    });
    expect(climate.excused).toBeGreaterThan(0); // the dropped and the corrupted batch
    expect(climate.missing).toEqual([]);
    expect(climate.duplicated).toEqual([]);
    expect(climate.unexpected).toEqual([]);
    // The gateway rejected what it had to: the corrupted frame by its MIC; the two duplicates and the replay
    // as copies (within the gateway's dedup window of 60 s wall time a replay is indistinguishable from a
    // duplicate; later it would be a lorawan_replay).
    const metrics = await bed.gateway.metrics.metricsText();
    const dropped = (reason: string) =>
      metricValue(metrics, `openherz_gateway_frames_dropped_total{reason="${reason}"}`) ?? 0;
    expect(dropped("lorawan_bad_mic")).toBe(1);
    expect(dropped("lorawan_duplicate") + dropped("lorawan_replay")).toBe(3);
  });
});
