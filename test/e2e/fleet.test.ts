// The must-show of issue 4, end to end: a town's fleet on the real firmware → virtual packet forwarders
// (Semtech UDP) → the real gateway (LoRaWAN, dedup, SQLite journal, MQTT publisher) → a real Mosquitto,
// compared with the simulator's ground truth (what every sensor produced, what went on air, who heard it).
// Mosquitto is mandatory under CI=true; elsewhere the testbed falls back to embedded aedes with a note.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { findMosquitto } from "../support/mqtt-broker.ts";
import {
  type BikeBinResult,
  compareBike,
  compareClimate,
  compareFrames,
  startTestbed,
  type Testbed,
} from "../support/testbed.ts";

const DAY_S = 86_400;
const HOUR_MS = 3_600_000;
/** hw/bike-counter.md §5: "commuter day, both directions, with groups", the test threshold of the table. */
const DOCUMENTED_FLEET_ACCURACY = 0.985;
/** The same table's threshold for heavy traffic ("400 arrivals/h each way"): no single node may fall below. */
const DOCUMENTED_NODE_ACCURACY = 0.975;

let bed: Testbed | undefined;
afterEach(async () => {
  await bed?.stop();
  bed = undefined;
});

beforeAll(() => {
  if (findMosquitto() !== undefined) return;
  if (process.env.CI === "true") throw new Error("mosquitto is required in CI (apt-get install mosquitto)");
  console.warn(
    "e2e: mosquitto not found, running against the embedded aedes broker (apt-get install mosquitto)",
  );
});

function seconds(sinceMs: number): string {
  return `${((performance.now() - sinceMs) / 1000).toFixed(1)} s`;
}

/** How a published bin differs from the truth. */
function classify(m: BikeBinResult): "over" | "under" | "direction" {
  const dAb = m.got!.ab - m.truth.ab;
  const dBa = m.got!.ba - m.truth.ba;
  if (dAb + dBa > 0) return "over";
  if (dAb + dBa < 0) return "under";
  return "direction";
}

describe("e2e: simulated town → real gateway → Mosquitto", () => {
  it("50 nodes × 2 days: every sample exactly once, bike bins within the documented accuracy", async () => {
    const t0 = performance.now();
    // Data rates with 14 dB of link margin instead of the default 10 (still ≤ 19 s of airtime a day): with
    // one gateway, every frame is heard, so every sample must arrive. Loss is the next test's subject.
    bed = await startTestbed({ nodes: 50, kind: "mixed", seed: 2026, days: 2, fleet: { marginDb: 14 } });
    const { startS } = bed.fleet.spec;
    // Three hours more, so that everything read in the two days has been sent (latencies 1 h and 2 h).
    await bed.run({ untilMs: (startS + 2 * DAY_S) * 1000 + 3 * HOUR_MS, settleTimeoutMs: 60_000 });
    const runTime = seconds(t0);

    // Climate: every value a sensor produced in the two days, once after dedup by @iot.id, within 0.01.
    const climate = compareClimate(bed, { fromS: startS, toS: startS + 2 * DAY_S, valueTolerance: 0.01 });
    const truthNodes = [...bed.truth.nodes.values()];
    const read = truthNodes.flatMap((n) =>
      n.climate.filter((s) => s.tS >= startS && s.tS < startS + 2 * DAY_S),
    );
    const rejected = read.reduce((sum, s) => sum + +s.rejected.temperature + +s.rejected.humidity, 0);
    const ids = bed.observations();
    const messages = bed.observationMessages();
    const frames = compareFrames(bed);
    console.log(
      `e2e 50×2d (${bed.broker.kind}, ${runTime}): ${truthNodes.reduce((s, n) => s + n.frames.length, 0)} frames on air, ` +
        `${frames.heard} heard, ${frames.arrived} arrived | climate: ${read.length} readings, ` +
        `${climate.expected} values expected, ${climate.matched} matched, ${climate.excused} excused (frame unheard), ` +
        `${rejected} rejected by the module's plausibility checks, max time error ${climate.maxTimeErrorS} s | ` +
        `observations: ${bed.observationsReceived()} in ${messages} messages, ${ids.size} distinct ids`,
    );
    // 26 climate + 12 both nodes (mixed: 2 climate, 1 bike, 1 both of every 4), 288 slots a day.
    expect(read.length).toBe(38 * 288 * 2);
    expect(climate.excused).toBe(0);
    expect(climate.expected + rejected).toBe(read.length * 2);
    expect(climate.unsent).toBe(0);
    expect(climate.missing).toEqual([]);
    expect(climate.duplicated).toEqual([]);
    expect(climate.wrongValue).toEqual([]);
    expect(climate.unexpected).toEqual([]);
    expect(climate.matched).toBe(climate.expected);
    expect(climate.maxTimeErrorS).toBeLessThanOrEqual(3);
    expect(frames.missing).toEqual([]);
    expect(frames.phantom).toEqual([]);

    // Bicycles: per bin equal to the truth, except for the documented limits of two-channel sensing.
    const bike = compareBike(bed, { fromS: startS, toS: startS + 2 * DAY_S });
    const rows = bed.fleet.spec.nodes
      .filter((n) => n.kind !== "climate")
      .map((n) => {
        const mine = bike.mismatched.filter((m) => m.node === n.name);
        const riders = bed!.truth
          .node(n.name)
          .riders.filter((r) => r.tMs >= startS * 1000 && r.tMs < (startS + 2 * DAY_S) * 1000).length;
        const error = mine.reduce(
          (s, m) => s + Math.abs(m.got!.ab - m.truth.ab) + Math.abs(m.got!.ba - m.truth.ba),
          0,
        );
        return {
          node: n.name,
          riders,
          mismatched: mine.length,
          over: mine.filter((m) => classify(m) === "over").length,
          under: mine.filter((m) => classify(m) === "under").length,
          direction: mine.filter((m) => classify(m) === "direction").length,
          "|error|": error,
          accuracy: `${(100 * (1 - error / Math.max(1, riders))).toFixed(2)} %`,
          acc: 1 - error / Math.max(1, riders),
        };
      });
    console.table(rows.map(({ acc: _, ...r }) => r));
    const fleetAccuracy = 1 - bike.absoluteError / bike.trueTotal;
    const count = (kind: string) => bike.mismatched.filter((m) => classify(m) === kind).length;
    console.log(
      `e2e bike bins: ${bike.expected} expected, ${bike.exact} exact, ${bike.mismatched.length} mismatched ` +
        `(${count("over")} over, ${count("under")} under, ${count("direction")} direction only), ` +
        `${bike.excused} excused (frame unheard); riders ${bike.trueTotal}, |error| ${bike.absoluteError}, ` +
        `bin accuracy ${(100 * fleetAccuracy).toFixed(2)} % (documented ≥ ${100 * DOCUMENTED_FLEET_ACCURACY} %)`,
    );
    // 12 bike + 12 both nodes, 96 bins a day.
    expect(bike.excused).toBe(0);
    expect(bike.expected).toBe(24 * 96 * 2);
    expect(bike.missing).toEqual([]);
    expect(bike.unsent).toBe(0);
    expect(bike.exact + bike.mismatched.length).toBe(bike.expected);
    expect(fleetAccuracy).toBeGreaterThanOrEqual(DOCUMENTED_FLEET_ACCURACY);
    for (const r of rows) expect(r.acc, r.node).toBeGreaterThanOrEqual(DOCUMENTED_NODE_ACCURACY);

    const errors = bed.logs
      .flatMap((l) => l.records())
      .filter((r) => r.level === "error" || r.level === "fatal");
    expect(errors).toEqual([]);
  });

  it("3 gateways hearing overlapping nodes, 5 % loss: every frame heard by at least one arrives", async () => {
    const t0 = performance.now();
    // Three gateway daemons that do not coordinate (DESIGN.md "Scale"), each with its own journal and FCnt
    // state, publishing to the one broker; consumers drop the copies by @iot.id.
    bed = await startTestbed({
      nodes: 50,
      gateways: 3,
      separateGateways: true,
      loss: 0.05,
      seed: 2027,
      days: 2,
    });
    const { startS } = bed.fleet.spec;
    await bed.run({ untilMs: (startS + 2 * DAY_S) * 1000 + 3 * HOUR_MS, settleTimeoutMs: 60_000 });
    const runTime = seconds(t0);

    const onAir = bed.truth.frames();
    const heardBy = [0, 1, 2, 3].map((k) => onAir.filter((f) => f.heardBy.length === k).length);
    const frames = compareFrames(bed);
    const ids = bed.observations();
    console.log(
      `e2e 3 gateways (${bed.broker.kind}, ${runTime}): ${onAir.length} frames on air, heard by 0/1/2/3 gateways: ` +
        `${heardBy.join("/")}; ${frames.heard} heard, ${frames.arrived} arrived, ${frames.missing.length} missing, ` +
        `${frames.missingReceptions} receptions without radio metadata | observations: ` +
        `${bed.observationsReceived()} in ${bed.observationMessages()} messages, ${ids.size} distinct ids`,
    );
    expect(heardBy[2]! + heardBy[3]!).toBeGreaterThan(onAir.length / 2); // the gateways overlap
    expect(heardBy[1]).toBeGreaterThan(0); // and the loss makes some frames reach only one
    expect(frames.missing).toEqual([]);
    expect(frames.phantom).toEqual([]);
    expect(frames.missingReceptions).toBe(0);

    // Three gateways' copies collapse to one observation per sample and one count per bin.
    const climate = compareClimate(bed, { fromS: startS, toS: startS + 2 * DAY_S });
    expect(climate.missing).toEqual([]);
    expect(climate.duplicated).toEqual([]);
    expect(climate.wrongValue).toEqual([]);
    expect(climate.unexpected).toEqual([]);
    expect(climate.matched).toBe(climate.expected);
    const bike = compareBike(bed, { fromS: startS, toS: startS + 2 * DAY_S });
    expect(bike.missing).toEqual([]);
    expect(bed.observationsReceived()).toBeGreaterThan(ids.size);
  });
});
