// hw/host-abi.md "What the host must persist": the state region survives a reboot; a bad blob is ignored.
import { describe, expect, it } from "vitest";
import { Counter, Flag, FPort, LogEvent, ResetCause } from "../../../firmware/host/abi.ts";
import {
  climateUplinks,
  configInForce,
  createNode,
  decodeBike,
  decodeClimate,
  encodeConfig,
  runUntil,
  statusUplinks,
  T0,
} from "./helpers.ts";

const HOUR = 3600;

describe("persistent state", () => {
  it("brings unsent samples, configuration and counters through a reboot", async () => {
    const before = await createNode({
      config: [
        [0, 12],
        [5, 100],
      ],
    });
    before.sensors.model = (channel, now) => ({
      err: 0,
      value: [2000 + ((now - T0) / 300) * 3, 5000, 3700][channel] ?? 0,
    });
    runUntil(before, T0 + 40 * 60);
    expect(before.host.counter(Counter.climatePending)).toBe(9);
    const saved = before.host.saveState();

    const after = await createNode({ now: T0 + 42 * 60, savedState: saved, resetCause: ResetCause.brownOut });
    after.sensors.model = before.sensors.model;
    expect(after.host.status() & Flag.stateInvalid).toBe(0);
    expect(configInForce(after.host)).toEqual(configInForce(before.host));
    expect(after.host.counter(Counter.samplesTaken)).toBe(9);
    runUntil(after, T0 + 2 * HOUR);
    const batch = decodeClimate(climateUplinks(after)[0]!);
    expect(batch.times[0]).toBe(T0);
    expect(batch.temperature.slice(0, 9)).toEqual(Array.from({ length: 9 }, (_, i) => 2100 + i * 3));
    // After a reboot the status goes first, with the reset cause and no configuration received since boot.
    expect(after.uplinks[0]?.fport).toBe(FPort.status);
    expect(statusUplinks(after)[0]).toMatchObject({ resetCause: ResetCause.brownOut, cfgId: 0, uptimeS: 0 });
  });

  it("carries on after a wake from deep sleep: no boot status, uptime and bins run on", async () => {
    const before = await createNode({
      config: [
        [0, 12],
        [1, 3],
      ],
    });
    runUntil(before, T0 + 3 * HOUR);
    expect(statusUplinks(before)).toHaveLength(1);
    const pending = before.host.counter(Counter.binsPending);
    // Every wake re-instantiates the module; some wakes find a pass to count.
    let node = before;
    for (let wake = 1; wake <= 12; wake++) {
      const now = T0 + 3 * HOUR + wake * 300;
      node = await createNode({
        now,
        savedState: node.host.saveState(),
        resetCause: ResetCause.wakeFromDeepSleep,
      });
      if (wake % 4 === 0) runUntil(node, now, { passes: [{ atS: now, first: 0 }] });
      else runUntil(node, now);
      expect(statusUplinks(node), `wake ${wake}`).toHaveLength(0);
    }
    expect(node.host.counter(Counter.passesAB)).toBe(3);
    // Bins closed while asleep are empty bins, not a gap: a full run of bins reaches the uplink.
    runUntil(node, T0 + 6 * HOUR);
    expect(pending).toBeGreaterThan(0);
    const bins = node.uplinks.filter((u) => u.fport === FPort.bike).map(decodeBike);
    const starts = bins.flatMap((b) => b.starts);
    expect(starts).toEqual(starts.map((_, i) => (starts[0] ?? 0) + i * 900));
    expect(bins.flatMap((b) => b.counts).reduce((n, [ab]) => n + ab, 0)).toBe(3);
    // The next status (after a configuration) still counts the uptime from the real reset.
    node.host.downlink(node.clock.now, FPort.config, encodeConfig([[0, 13]]));
    runUntil(node, node.clock.now);
    expect(statusUplinks(node).at(-1)).toMatchObject({ uptimeS: 6 * HOUR, cfgId: 13, resetCause: 0 });
  });

  it("keeps an acknowledgement that is due across a deep sleep", async () => {
    const before = await createNode();
    runUntil(before, T0 + 10);
    before.host.downlink(
      T0 + 10,
      FPort.config,
      encodeConfig([
        [0, 99],
        [2, 61],
      ]),
    );
    const after = await createNode({ now: T0 + 20, savedState: before.host.saveState(), resetCause: 6 });
    runUntil(after, T0 + 20);
    expect(statusUplinks(after)).toEqual([expect.objectContaining({ cfgId: 99, cfgResult: 3, uptimeS: 20 })]);
  });

  it("reports dropped data and noise since the last reset, while the counters run on", async () => {
    const before = await createNode({
      sf: 12,
      config: [
        [10, 1000],
        [1, 3],
      ],
    });
    runUntil(before, T0 + 4 * HOUR);
    before.host.pulse(5, 0, before.clock.now);
    expect(before.host.counter(Counter.dropped)).toBeGreaterThan(0);
    // SF11 after the reset: its status fits the 1 s budget that SF12 could not meet.
    const saved = before.host.saveState();
    const after = await createNode({ now: before.clock.now + 1, sf: 11, savedState: saved, resetCause: 3 });
    expect(after.host.counter(Counter.dropped)).toBe(before.host.counter(Counter.dropped));
    runUntil(after, after.clock.now);
    expect(statusUplinks(after)[0]).toMatchObject({ resetCause: 3, uptimeS: 0, dropped: 0, noisePulses: 0 });
  });

  it("changes state_seq exactly when the region changes", async () => {
    const node = await createNode();
    runUntil(node, T0 + 10);
    const seq = node.host.stateSeq();
    const blob = node.host.saveState();
    node.host.status();
    node.host.counter(Counter.samplesTaken);
    node.host.uplinkBuild(T0 + 10);
    expect(node.host.stateSeq()).toBe(seq);
    expect(node.host.saveState()).toEqual(blob);
    node.host.tick(T0 + 300);
    expect(node.host.stateSeq()).toBe(seq + 1);
    expect(node.host.saveState()).not.toEqual(blob);
  });

  it("ignores a corrupted blob: flag 7, defaults, nothing pending", async () => {
    const before = await createNode({
      config: [
        [0, 12],
        [2, 1],
      ],
    });
    runUntil(before, T0 + 30 * 60);
    const saved = before.host.saveState();
    for (const offset of [0, 4, 8, 16, 200, 216 + 12 * 20 + 5, saved.length - 1]) {
      const corrupted = saved.slice();
      corrupted[offset] = (corrupted[offset] ?? 0) ^ 0x01;
      const after = await createNode({ now: T0 + 31 * 60, savedState: corrupted });
      expect(after.host.status() & Flag.stateInvalid, `offset ${offset}`).not.toBe(0);
      expect(after.logs).toContainEqual([LogEvent.stateInvalid, 0]);
      expect(configInForce(after.host)[2]).toBe(5);
      expect(after.host.counter(Counter.climatePending)).toBe(0);
      runUntil(after, T0 + 32 * 60);
      expect(statusUplinks(after)[0]!.flags & Flag.stateInvalid).not.toBe(0);
    }
  });

  it("starts clean without flag 7 when there is no saved state", async () => {
    const node = await createNode();
    expect(node.host.status() & Flag.stateInvalid).toBe(0);
  });

  it("moves held times when the host's clock restarted at the reboot (no RTC)", async () => {
    const before = await createNode({ now: 50_000 });
    runUntil(before, 50_000 + 40 * 60);
    const saved = before.host.saveState();
    // Power cycle: seconds since power-on start again from a small number.
    const after = await createNode({ now: 100, savedState: saved });
    runUntil(after, 100 + 2 * HOUR);
    const batches = climateUplinks(after).map(decodeClimate);
    const first = batches[0]!;
    expect(first.n).toBeGreaterThanOrEqual(8);
    // The samples kept their spacing and are placed just before the reboot.
    expect(first.times.at(-1)).toBeLessThanOrEqual(100);
    expect(first.times.at(-1)).toBeGreaterThan(100 - 300);
    for (const b of batches) expect(b.ageS).toBeLessThan(HOUR);
  });

  it("shifts every held time on clock_set", async () => {
    const node = await createNode({ now: 1000 });
    runUntil(node, 1000 + 20 * 60);
    const delta = T0 - node.clock.now;
    node.clock.now = T0;
    node.host.clockSet(T0);
    runUntil(node, T0 + 2 * HOUR);
    const first = decodeClimate(climateUplinks(node)[0]!);
    expect(first.times[0]).toBe(1200 + delta);
    // After the step, samples align to the new clock.
    const later = climateUplinks(node).slice(1).map(decodeClimate);
    for (const b of later) for (const t of b.times) expect(t % 300).toBe(0);
  });
});
