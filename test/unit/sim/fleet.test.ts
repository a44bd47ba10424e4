// The simulator without a gateway: the real firmware on virtual nodes, the MAC, the radio channel and the
// truth, checked against each other.
import { describe, expect, it } from "vitest";
import { ResetCause } from "../../../firmware/host/abi.ts";
import { loraPacket } from "../../../gateway/lorawan/lora-packet.ts";
import { decodeUplink } from "../../../shared/payload/index.ts";
import { subBandOf } from "../../../tools/sim/duty-cycle.ts";
import { Fleet } from "../../../tools/sim/fleet.ts";
import { measureNodeDaysPerSecond } from "../../../tools/sim/measure.ts";

const HOUR_MS = 3_600_000;

async function runFleet(options: Parameters<typeof Fleet.start>[0], hours: number) {
  const fleet = await Fleet.start(options);
  try {
    await fleet.run(fleet.startMs + hours * HOUR_MS);
    return fleet;
  } finally {
    await fleet.close();
  }
}

describe("simulated fleet (no gateway)", () => {
  it("is deterministic: the same seed gives the same frames, another seed other frames", async () => {
    const summary = (fleet: Fleet) =>
      fleet.truth
        .frames()
        .map(
          (f) =>
            `${f.startMs} ${f.node} ${Buffer.from(f.phyPayload).toString("hex")} ${f.heardBy.map((h) => h.site)}`,
        );
    const options = { nodes: 4, seed: 5, sites: 2, loss: 0.2 };
    const a = summary(await runFleet(options, 12));
    const b = summary(await runFleet(options, 12));
    expect(a.length).toBeGreaterThan(20);
    expect(b).toEqual(a);
    const c = summary(await runFleet({ ...options, seed: 6 }, 12));
    expect(c).not.toEqual(a);
  });

  it("sends what the sensors produced: decoded batches equal the truth, sampled on the clock's slots", async () => {
    const fleet = await runFleet({ nodes: 2, kind: "climate", seed: 3 }, 6);
    for (const node of fleet.truth.nodes.values()) {
      expect(node.climate.length).toBe(6 * 12 + 1);
      for (const s of node.climate) expect(s.tS % 300).toBe(0);
      const byTime = new Map(node.climate.map((s) => [s.tS, s]));
      let checked = 0;
      for (const f of node.frames.filter((x) => x.fport === 1)) {
        const batch = decodeUplink(1, f.payload);
        if (batch.kind !== "climate") throw new Error("not a climate batch");
        for (const s of batch.samples) {
          const t = byTime.get(Math.floor(f.startMs / 1000) - s.secondsBeforeUplink)!;
          expect(s.temperatureC).toBe(t.rejected.temperature ? null : t.temperatureCenti! / 100);
          expect(s.humidityPct).toBe(t.rejected.humidity ? null : t.humidityCenti! / 100);
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(5 * 12);
    }
  });

  it("keeps the frame counter across reboots; only a reset (not a deep-sleep wake) sends a status", async () => {
    const fleet = await Fleet.start({ nodes: 1, kind: "climate", seed: 4, fcntStart: 65_530 });
    const name = fleet.nodes[0]!.name;
    const t0 = fleet.startMs;
    fleet.schedule(t0 + 5 * HOUR_MS, { kind: "reboot", node: name, cause: ResetCause.software });
    fleet.schedule(t0 + 7 * HOUR_MS + 1000, {
      kind: "reboot",
      node: name,
      cause: ResetCause.wakeFromDeepSleep,
    });
    fleet.schedule(t0 + 9 * HOUR_MS + 1000, {
      kind: "reboot",
      node: name,
      cause: ResetCause.brownOut,
      keepState: false,
    });
    await fleet.run(t0 + 12 * HOUR_MS);
    await fleet.close();
    const truth = fleet.truth.node(name);
    expect(truth.reboots.map((r) => r.cause)).toEqual([3, 6, 1]);
    const fcnts = truth.frames.map((f) => f.fcnt);
    expect(fcnts).toEqual(fcnts.map((_, i) => 65_530 + i));
    expect(fcnts.at(-1)).toBeGreaterThan(65_536);
    // Only the low 16 bits travel on air.
    for (const f of truth.frames)
      expect(loraPacket.fromWire(Buffer.from(f.phyPayload)).getFCnt()).toBe(f.fcnt & 0xffff);
    const statusTimes = truth.frames
      .filter((f) => f.fport === 3)
      .map((f) => Math.floor((f.startMs - t0) / HOUR_MS));
    expect(statusTimes).toEqual([0, 5, 9]);
  });

  it("never transmits in a sub-band before its duty-cycle off time has passed", async () => {
    const fleet = await runFleet({ nodes: 8, seed: 8, sf: 12 }, 24);
    let notSent = 0;
    for (const node of fleet.truth.nodes.values()) {
      notSent += node.notSent;
      const closedUntil = new Map<number, number>();
      let radioFree = Number.NEGATIVE_INFINITY;
      for (const f of node.frames) {
        const band = subBandOf(f.freqMhz);
        expect(f.startMs).toBeGreaterThanOrEqual(closedUntil.get(band) ?? Number.NEGATIVE_INFINITY);
        expect(f.startMs).toBeGreaterThanOrEqual(radioFree);
        closedUntil.set(band, f.startMs + f.airtimeMs / 0.01);
        radioFree = f.endMs;
      }
    }
    expect(notSent).toBeGreaterThan(0); // at SF12 some uplinks had to wait
  });

  it("measures simulated node-days per second", async () => {
    const m = await measureNodeDaysPerSecond({ nodes: 2, days: 0.25 });
    expect(m.nodeDaysPerSecond).toBeGreaterThan(0);
    expect(m.uplinks).toBeGreaterThan(0);
    expect(m.events).toBeGreaterThan(m.uplinks);
  });
});
