// Climate sampling, batching, latency and scheduling (hw/host-abi.md "Call order", shared/PAYLOAD.md "FPort 1").
import { describe, expect, it } from "vitest";
import { Counter, FPort } from "../../../firmware/host/abi.ts";
import { climateUplinks, createNode, decodeClimate, runUntil, T0 } from "./helpers.ts";

const HOUR = 3600;

describe("climate sampling", () => {
  it("samples on multiples of the interval and asks to be woken exactly then", async () => {
    const node = await createNode({ now: T0 + 7 });
    expect(node.host.drainUplinks(T0 + 7).map((u) => u.fport)).toEqual([FPort.status]);
    expect(node.host.tick(T0 + 7)).toBe(293);
    expect(node.host.counter(Counter.samplesTaken)).toBe(0);
    expect(node.host.tick(T0 + 300)).toBe(300);
    expect(node.host.counter(Counter.samplesTaken)).toBe(1);
    // A tick that comes early or twice in a slot takes nothing; one that comes late takes that slot.
    expect(node.host.tick(T0 + 599)).toBe(1);
    expect(node.host.tick(T0 + 612)).toBe(288);
    expect(node.host.tick(T0 + 612)).toBe(288);
    expect(node.host.counter(Counter.samplesTaken)).toBe(2);
  });

  it("sends a batch when the oldest sample reaches the latency bound, ~13 samples an hour", async () => {
    const node = await createNode();
    let i = 0;
    node.sensors.model = (channel) => ({
      err: 0,
      value: [2000 + (i++ % 7) * 3, 5000 - (i % 5) * 11, 3700][channel] ?? 0,
    });
    runUntil(node, T0 + 24 * HOUR);
    const batches = climateUplinks(node).map(decodeClimate);
    const sentAt = climateUplinks(node).map((u) => u.builtAt);
    expect(sentAt[0]).toBe(T0 + HOUR);
    for (const [j, batch] of batches.entries()) {
      expect(batch.n).toBe(13);
      expect(batch.intervalMin).toBe(5);
      expect(batch.ageS).toBe(0);
      // The oldest sample has waited exactly the latency bound: not less (wasted uplink), not more.
      expect((sentAt[j] ?? 0) - (batch.times[0] ?? 0)).toBe(HOUR);
      for (const t of batch.times) expect(t % 300).toBe(0);
    }
    // Every slot is sent exactly once, in order.
    const times = batches.flatMap((b) => b.times);
    expect(times).toEqual(times.map((_, k) => T0 + k * 300));
    expect(batches.length).toBe(Math.floor((24 * HOUR) / (13 * 300)));
  });

  it("carries every reading losslessly, including large jumps", async () => {
    const node = await createNode({ config: [[3, 1800]] });
    const series = [
      [2150, 5500],
      [2151, 5490],
      [-3999, 10000],
      [8500, 0],
      [2150, 5500],
      [2149, 5512],
      [2160, 5400],
    ];
    const at = (t: number) => series[((t - T0) / 300) % series.length] ?? [0, 0];
    node.sensors.model = (channel, now) => ({ err: 0, value: [...at(now), 3650][channel] ?? 0 });
    runUntil(node, T0 + 3 * HOUR);
    const batches = climateUplinks(node).map(decodeClimate);
    expect(batches.length).toBeGreaterThanOrEqual(5);
    for (const b of batches) {
      expect(b.temperature).toEqual(b.times.map((t) => at(t)[0]));
      expect(b.humidity).toEqual(b.times.map((t) => at(t)[1]));
      expect(b.batteryMv).toBe(3650);
    }
  });

  it("sends early, with as many samples as fit, when a batch fills the max payload", async () => {
    // SF7 with the 51-byte limit of a slower data rate, so the airtime budget plays no part here.
    const node = await createNode({
      sf: 7,
      maxPayload: 51,
      config: [
        [2, 1],
        [3, 86400],
      ],
    });
    // Noisy data: many bits per delta, so a batch fills 51 bytes well before the 24 h latency.
    node.sensors.model = (channel, now) => {
      const i = now / 60;
      return { err: 0, value: [2000 + ((i * 7919) % 400), 5000 + ((i * 104729) % 900), 3700][channel] ?? 0 };
    };
    runUntil(node, T0 + 6 * HOUR);
    const uplinks = climateUplinks(node);
    expect(uplinks.length).toBeGreaterThan(5);
    for (const u of uplinks) expect(u.bytes.length).toBeLessThanOrEqual(51);
    const counts = uplinks.map((u) => decodeClimate(u).n);
    expect(Math.min(...counts.slice(0, -1))).toBeGreaterThan(2);
    expect(node.host.counter(Counter.dropped)).toBe(0);
    // The new interval starts with the first slot after the configuration.
    expect(node.host.counter(Counter.samplesTaken)).toBe(6 * 60);
  });

  it("sends slots a late tick skipped as missing, so the batch stays one run", async () => {
    const node = await createNode();
    for (const t of [0, 300, 1250, 1500, 2700, 3600]) {
      node.clock.now = T0 + t;
      node.host.tick(node.clock.now);
      node.uplinks.push(...node.host.drainUplinks(node.clock.now));
    }
    const batches = climateUplinks(node).map(decodeClimate);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.temperature).toEqual([
      2150,
      2150,
      null,
      null,
      2150,
      2150,
      null,
      null,
      null,
      2150,
      null,
      null,
      2150,
    ]);
    expect(batches[0]?.times[0]).toBe(T0);
  });

  it("keeps samples that could not be sent and sends them later", async () => {
    const node = await createNode();
    runUntil(node, T0 + HOUR - 1);
    node.clock.now = T0 + HOUR;
    node.host.tick(node.clock.now);
    const first = node.host.uplinkBuild(node.clock.now);
    expect(first?.fport).toBe(FPort.climate);
    node.host.uplinkDone(node.clock.now, false);
    expect(node.host.counter(Counter.climatePending)).toBe(13);
    // The host retries later: the same slots come out, now a little older.
    const retry = node.host.tick(node.clock.now);
    expect(retry).toBeLessThanOrEqual(60);
    node.clock.now += retry;
    const again = node.host.uplinkBuild(node.clock.now);
    expect(again && decodeClimate(again).times).toEqual(first && decodeClimate(first).times);
    node.host.uplinkDone(node.clock.now, true);
    expect(node.host.counter(Counter.climatePending)).toBe(0);
  });
});

describe("temperature alert", () => {
  it("sends the pending batch at once when the threshold is crossed, with 0.5 °C hysteresis", async () => {
    const node = await createNode({ config: [[7, 3000]] });
    runUntil(node, T0 + 20 * 60);
    expect(climateUplinks(node)).toHaveLength(0);

    node.sensors.values[0] = 3000;
    runUntil(node, T0 + 25 * 60);
    const alert = climateUplinks(node);
    expect(alert).toHaveLength(1);
    expect(alert[0]?.builtAt).toBe(T0 + 25 * 60);
    expect(decodeClimate(alert[0]!).temperature.at(-1)).toBe(3000);
    expect(node.host.status() & (1 << 13)).not.toBe(0);

    // Still inside the hysteresis band: the alert stays, nothing extra is sent.
    node.sensors.values[0] = 2951;
    runUntil(node, T0 + 40 * 60);
    expect(climateUplinks(node)).toHaveLength(1);
    // Below high − 0.5 °C the alert ends; a new crossing sends again.
    node.sensors.values[0] = 2949;
    runUntil(node, T0 + 45 * 60);
    node.sensors.values[0] = 3100;
    runUntil(node, T0 + 50 * 60);
    expect(climateUplinks(node).map((u) => u.builtAt)).toEqual([T0 + 25 * 60, T0 + 50 * 60]);
  });

  it("alerts on the low threshold too", async () => {
    const node = await createNode({ config: [[8, -500]] });
    node.sensors.values[0] = -500;
    runUntil(node, T0 + 300);
    expect(climateUplinks(node).map((u) => u.builtAt)).toEqual([T0]);
  });
});

describe("calibration and plausibility", () => {
  it("adds the configured offsets", async () => {
    const node = await createNode({
      config: [
        [5, 150],
        [6, -300],
      ],
    });
    runUntil(node, T0 + HOUR);
    const batch = decodeClimate(climateUplinks(node)[0]!);
    expect(new Set(batch.temperature)).toEqual(new Set([2300]));
    expect(new Set(batch.humidity)).toEqual(new Set([5200]));
  });

  it("reports sensor errors, out-of-range and stuck values in the status, never as data", async () => {
    const node = await createNode({ config: [[15, 3]] });
    const plan: [number, number, number, number][] = [
      // t, terr, h, herr
      [2000, 0, 5000, 0],
      [2001, 2, 5001, 0], // temperature bus error
      [2002, 0, 5002, 3], // humidity CRC error
      [8501, 0, 5003, 0], // temperature out of range
      [2004, 0, 10001, 0], // humidity out of range
      [2005, 0, -1, 0], // humidity negative
      [2006, 0, 5006, 0],
      [2006, 0, 5007, 0],
      [2006, 0, 5008, 0], // third identical temperature: stuck
      [2006, 0, 5009, 0], // still stuck
      [2010, 0, 5010, 0],
    ];
    node.sensors.model = (channel, now) => {
      const [t, terr, h, herr] = plan[Math.min((now - T0) / 300, plan.length - 1)] ?? [0, 0, 0, 0];
      if (channel === 0) return { err: terr, value: t };
      if (channel === 1) return { err: herr, value: h };
      return { err: 0, value: 3700 };
    };
    runUntil(node, T0 + HOUR);
    const batch = decodeClimate(climateUplinks(node)[0]!);
    expect(batch.temperature.slice(0, 11)).toEqual([
      2000,
      null,
      2002,
      null,
      2004,
      2005,
      2006,
      2006,
      null,
      null,
      2010,
    ]);
    expect(batch.humidity.slice(0, 11)).toEqual([
      5000,
      5001,
      null,
      5003,
      null,
      null,
      5006,
      5007,
      5008,
      5009,
      5010,
    ]);
    expect(node.host.status() & 0x3f).toBe(0x3f);
    const rejected = batch.temperature.filter((t, i) => t === null || batch.humidity[i] === null);
    expect(node.host.counter(Counter.samplesRejected)).toBe(rejected.length);
  });

  it("sends null for an invalid battery reading and flags it", async () => {
    const node = await createNode();
    node.sensors.errors[2] = 1;
    runUntil(node, T0 + HOUR);
    expect(decodeClimate(climateUplinks(node)[0]!).batteryMv).toBeNull();
    expect(node.host.status() & (1 << 6)).not.toBe(0);
    node.sensors.errors[2] = 0;
    node.sensors.values[2] = 6001;
    runUntil(node, T0 + 2 * HOUR + 600);
    expect(decodeClimate(climateUplinks(node)[1]!).batteryMv).toBeNull();
  });
});
