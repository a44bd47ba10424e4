// The pipeline against a real journal file, with a clock the test controls: outcomes per frame, counters,
// radio metadata of duplicates, the FCnt of frames whose payload is broken, and the time policy (frames
// without trustworthy time are held, unacknowledged, until the clock is valid; nothing is ever stamped 1970).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { renderStoredFrame } from "../../../gateway/frame-record.ts";
import { Journal, type JournalEntry } from "../../../gateway/journal/journal.ts";
import { DedupCache } from "../../../gateway/lorawan/dedup.ts";
import type { Registry } from "../../../gateway/lorawan/registry.ts";
import {
  createTopics,
  expandObservations,
  type ObservationEnvelope,
} from "../../../gateway/observations/index.ts";
import { DEFAULT_MIN_VALID_UNIX_S } from "../../../gateway/ops/config.ts";
import { createGatewayMetrics, type GatewayMetrics } from "../../../gateway/ops/metrics.ts";
import { createPipeline, type PipelineClock, type PipelineOptions } from "../../../gateway/pipeline.ts";
import type { RadioFrame } from "../../../gateway/types.ts";
import { encodeBike, encodeClimate, encodeStatus } from "../../../shared/payload/index.ts";
import { APP_SKEY, buildUplink, DEV_EUI, NWK_SKEY, testDevice, testRegistry } from "./lorawan/helpers.ts";

const NOW = Date.UTC(2026, 10, 21, 10, 15, 2, 412);
const EUI_2 = "70B3D57ED0065678";
const ADDR_2 = "26011BDB";
const topics = createTopics("test");

const dirs: string[] = [];
const journals: Journal[] = [];
afterEach(async () => {
  for (const j of journals.splice(0)) await j.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openJournal(memoryCacheBytes?: number): Journal {
  const dir = mkdtempSync(join(tmpdir(), "openherz-pipeline-"));
  dirs.push(dir);
  const journal = Journal.open({
    path: join(dir, "journal.sqlite"),
    maxMessages: 10_000,
    maxBytes: 10_000_000,
    maxAgeS: 86_400,
    commitIntervalMs: 5,
    commitMaxEntries: 100,
    render: renderStoredFrame,
    ...(memoryCacheBytes === undefined ? {} : { memoryCacheBytes }),
  });
  journals.push(journal);
  return journal;
}

/** A clock whose validity the test switches; monotonic time is the test's counter. */
class TestClock implements PipelineClock {
  monotonicMs = 1_000;
  private offset: number | undefined;
  private listeners: Array<(offset: number) => void> = [];
  get valid(): boolean {
    return this.offset !== undefined;
  }
  wallTimeOf(monotonicMs: number): number | null {
    return this.offset === undefined ? null : monotonicMs + this.offset;
  }
  onValid(listener: (offset: number) => void): void {
    if (this.offset !== undefined) listener(this.offset);
    else this.listeners.push(listener);
  }
  becomeValid(wallNowMs: number): void {
    this.offset = wallNowMs - this.monotonicMs;
    for (const l of this.listeners.splice(0)) l(this.offset);
  }
}

interface LogLine {
  reason: string;
  context: object;
  msg: string;
  level: string;
}

function setup(overrides: Partial<PipelineOptions> & { clockValid?: boolean; registry?: Registry } = {}) {
  const journal = overrides.journal ? undefined : openJournal();
  const clock = new TestClock();
  if (overrides.clockValid !== false) clock.becomeValid(NOW);
  const metrics = createGatewayMetrics({ processMetrics: false });
  const logs: LogLine[] = [];
  let journaled = 0;
  const registry =
    overrides.registry ??
    testRegistry([
      testDevice({ sensors: ["climate", "bike"] }),
      testDevice({ devEui: EUI_2, devAddr: ADDR_2, name: "second" }),
    ]);
  const pipeline = createPipeline({
    registry: () => registry,
    journal: journal!,
    metrics,
    log: { log: (reason, context, msg, level = "warn") => logs.push({ reason, context, msg, level }) },
    clock,
    time: { trustGpsTime: true, minValidUnixS: DEFAULT_MIN_VALID_UNIX_S },
    topics,
    onJournaled: () => journaled++,
    monotonicNow: () => clock.monotonicMs,
    ...overrides,
  });
  return { pipeline, journal: journal!, clock, metrics, logs, journaledCount: () => journaled };
}

function climatePayload(ageS = 10): Uint8Array {
  return encodeClimate({
    intervalMin: 5,
    ageS,
    batteryMv: 3600,
    temperatures: [2149, 2157],
    humidities: [5512, 5498],
  });
}

function frame(
  fcnt32: number,
  options: {
    devAddr?: string;
    payload?: Uint8Array;
    fport?: number;
    source?: string;
    at?: number;
    gps?: number;
  } = {},
): RadioFrame {
  const phyPayload = buildUplink({
    fcnt32,
    devAddr: options.devAddr ?? "26011BDA",
    fport: options.fport ?? 1,
    payload: options.payload ?? climatePayload(),
  });
  return {
    phyPayload,
    receivedAtMs: options.at ?? NOW,
    ...(options.gps === undefined ? {} : { gpsTimeMs: options.gps }),
    source: { kind: "udp", id: options.source ?? "0016c001ff10a235" },
    radio: { rssi: -97, snr: 7.5 },
  };
}

/** Every message committed to the journal (taken, so they count as in flight afterwards). */
function messagesIn(journal: Journal) {
  return journal
    .take(10_000, 10_000)
    .map((m) => ({ ...m, body: m.payload === "" ? {} : JSON.parse(m.payload) }));
}

/** The observations in journaled messages, whichever the grouping, by "@iot.id". */
function observationsIn(messages: ReturnType<typeof messagesIn>): Map<string, ObservationEnvelope> {
  const out = new Map<string, ObservationEnvelope>();
  for (const m of messages) for (const o of expandObservations(m.body) ?? []) out.set(o["@iot.id"], o);
  return out;
}

async function metric(metrics: GatewayMetrics, series: string): Promise<number | undefined> {
  const text = await metrics.metricsText();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const dropped = (reason: string) => `openherz_gateway_frames_dropped_total{reason="${reason}"}`;

describe("pipeline", () => {
  it("journals an accepted frame (observations, battery, radio metadata, FCnt) before resolving", async () => {
    const t = setup();
    await t.pipeline.handleFrame(frame(42));
    expect(t.journal.lastFcnt(DEV_EUI)).toBe(42);
    expect(t.journaledCount()).toBe(1);
    const messages = messagesIn(t.journal);
    // One message per datastream (the default grouping), then the radio metadata.
    expect(messages.map((m) => [m.id, m.topic])).toEqual([
      [`${DEV_EUI}-0000002A-air_temperature`, `test/v1/observations/${DEV_EUI}/air_temperature`],
      [`${DEV_EUI}-0000002A-relative_humidity`, `test/v1/observations/${DEV_EUI}/relative_humidity`],
      [`${DEV_EUI}-0000002A-battery_voltage`, `test/v1/operator/nodes/${DEV_EUI}/battery_voltage`],
      [`${DEV_EUI}-0000002A-uplink-udp:0016c001ff10a235`, `test/v1/operator/uplinks/${DEV_EUI}`],
    ]);
    const temperatures = messages[0]!.body;
    expect(temperatures["@iot.id"]).toBe(messages[0]!.id);
    expect(temperatures.parameters).toMatchObject({ fcnt: 42, intervalS: 300 });
    expect(temperatures.Observations.map((o: { "@iot.id": string }) => o["@iot.id"])).toEqual([
      `${DEV_EUI}-0000002A-air_temperature-0`,
      `${DEV_EUI}-0000002A-air_temperature-1`,
    ]);
    const t1 = temperatures.Observations[1];
    expect(t1.result).toBe(21.57);
    expect(t1.phenomenonTime).toBe("2026-11-21T10:14:52Z");
    expect(t1.resultTime).toBe("2026-11-21T10:15:02.412Z");
    expect(temperatures.Observations[0].phenomenonTime).toBe("2026-11-21T10:09:52Z");
    expect(messages[1]!.body.Observations.map((o: { result: number }) => o.result)).toEqual([55.12, 54.98]);
    expect(messages[2]!.body.Observations.map((o: { result: number }) => o.result)).toEqual([3.6]);
    expect(messages[3]!.body).toMatchObject({
      fcnt: 42,
      rssi: -97,
      snr: 7.5,
      receivedAt: "2026-11-21T10:15:02.412Z",
    });
    expect(await metric(t.metrics, "openherz_gateway_frames_accepted_total")).toBe(1);
    expect(await metric(t.metrics, "openherz_gateway_messages_journaled_total")).toBe(4);
  });

  it("messages read back from the file (rendered from the frame's record) are the messages journaled", async () => {
    for (const grouping of ["uplink", "observation"] as const) {
      const [cached, stored] = [openJournal(), openJournal(0)].map((journal) => {
        const t = setup({ journal, grouping });
        return { ...t, journal };
      });
      for (const t of [cached!, stored!]) {
        await t.pipeline.handleFrame(frame(42));
        await t.pipeline.handleFrame(frame(42, { source: "b827ebfffe000001" })); // a second reception
        await t.pipeline.handleFrame(frame(43, { gps: NOW - 1500 }));
        await t.pipeline.handleFrame(frame(44, { payload: Uint8Array.of(0xff, 0x00) })); // malformed payload
        await t.pipeline.handleFrame(frame(7, { devAddr: ADDR_2, fport: 2, payload: climatePayload(30) }));
        const bins = [
          { ab: 3, ba: 1 },
          { ab: 0, ba: 7 },
        ];
        await t.pipeline.handleFrame(
          frame(45, { fport: 2, payload: encodeBike({ binS: 900, ageS: 2, bins }) }),
        );
        const status = { fwVersion: 0x010203, uptimeS: 86_400, resetCause: 1, batteryMv: 3610, flags: 0 };
        const more = { cfgId: 2, cfgResult: 0, dropped: 0, noisePulses: 4 };
        await t.pipeline.handleFrame(frame(46, { fport: 3, payload: encodeStatus({ ...status, ...more }) }));
      }
      const taken = (j: Journal) =>
        j
          .take(10_000, 10_000)
          .map(({ id, topic, payload, retain, qos }) => [id, topic, payload, retain, qos]);
      const fromMemory = taken(cached!.journal);
      // Climate, bike and status observations, radio metadata of both receptions.
      expect(fromMemory.map((m) => String(m[1]).split("/").slice(-1)[0])).toEqual(
        expect.arrayContaining(["air_temperature", "bicycles_ab", "battery_voltage"]),
      );
      expect(taken(stored!.journal)).toEqual(fromMemory);
    }
  });

  it('with grouping "observation": one message per observation, the same observations', async () => {
    const grouped = setup();
    await grouped.pipeline.handleFrame(frame(42));
    const single = setup({ grouping: "observation" });
    await single.pipeline.handleFrame(frame(42));
    const messages = messagesIn(single.journal);
    const ids = [
      ...[0, 1].map((i) => `${DEV_EUI}-0000002A-air_temperature-${i}`),
      ...[0, 1].map((i) => `${DEV_EUI}-0000002A-relative_humidity-${i}`),
      `${DEV_EUI}-0000002A-battery_voltage-0`,
    ];
    expect(messages.map((m) => m.id)).toEqual([...ids, `${DEV_EUI}-0000002A-uplink-udp:0016c001ff10a235`]);
    for (const m of messages.slice(0, -1)) expect(m.body["@iot.id"]).toBe(m.id);
    expect(messages[1]!.body).toMatchObject({ result: 21.57, phenomenonTime: "2026-11-21T10:14:52Z" });
    // The same observations as the batches carry (same frame, same clock).
    const fromBatches = observationsIn(messagesIn(grouped.journal));
    expect([...fromBatches.keys()].sort()).toEqual([...ids].sort());
    expect(observationsIn(messages)).toEqual(fromBatches);
    expect(await metric(single.metrics, "openherz_gateway_messages_journaled_total")).toBe(6);
  });

  it("uses the forwarder's GPS time for sample times and the gateway's reception for resultTime", async () => {
    const t = setup();
    const gps = NOW - 3_600_000;
    await t.pipeline.handleFrame(frame(1, { gps }));
    const [older, newer] = messagesIn(t.journal)[0]!.body.Observations;
    expect(older.phenomenonTime).toBe("2026-11-21T09:09:52Z");
    expect(newer.phenomenonTime).toBe("2026-11-21T09:14:52Z");
    expect(older.resultTime).toBe("2026-11-21T10:15:02.412Z");
  });

  it("a malformed payload is counted, its FCnt and radio metadata are still journaled", async () => {
    const t = setup();
    await t.pipeline.handleFrame(frame(7, { payload: Uint8Array.from([0xff, 0x00, 0x13]) }));
    expect(t.journal.lastFcnt(DEV_EUI)).toBe(7);
    expect(messagesIn(t.journal).map((m) => m.topic)).toEqual([`test/v1/operator/uplinks/${DEV_EUI}`]);
    expect(await metric(t.metrics, dropped("payload_malformed"))).toBe(1);
    expect(await metric(t.metrics, "openherz_gateway_frames_accepted_total")).toBe(0);
  });

  it("duplicates: counted once each, another source's radio metadata kept, one set of observations", async () => {
    const t = setup();
    const f = frame(5, { fport: 2, payload: encodeBike({ binS: 900, ageS: 2, bins: [{ ab: 3, ba: 1 }] }) });
    await Promise.all([
      t.pipeline.handleFrame(f),
      t.pipeline.handleFrame({ ...f, source: { kind: "udp", id: "0016c001ff10a235" } }),
      t.pipeline.handleFrame({ ...f, source: { kind: "serial", id: "/dev/ttyUSB0" }, radio: { rssi: -110 } }),
    ]);
    const messages = messagesIn(t.journal);
    expect(messages.filter((m) => m.topic.includes("/observations/")).map((m) => m.id)).toEqual([
      `${DEV_EUI}-00000005-bicycles_ab`,
      `${DEV_EUI}-00000005-bicycles_ba`,
    ]);
    expect([...observationsIn(messages).values()].map((o) => [o["@iot.id"], o.result])).toEqual([
      [`${DEV_EUI}-00000005-bicycles_ab-0`, 3],
      [`${DEV_EUI}-00000005-bicycles_ba-0`, 1],
    ]);
    const radio = messages.filter((m) => m.topic.includes("/uplinks/"));
    expect(radio.map((m) => m.id)).toEqual([
      `${DEV_EUI}-00000005-uplink-udp:0016c001ff10a235`,
      `${DEV_EUI}-00000005-uplink-serial:/dev/ttyUSB0`,
    ]);
    expect(radio[1]!.body).toMatchObject({ fcnt: 5, fport: 2, rssi: -110, devAddr: "26011BDA" });
    expect(await metric(t.metrics, "openherz_gateway_frames_duplicate_total")).toBe(2);
    expect(await metric(t.metrics, dropped("lorawan_duplicate"))).toBe(2);
  });

  it("rejected frames resolve at once, are counted and logged with context but never a key", async () => {
    const t = setup();
    await t.pipeline.handleFrame(frame(3));
    await t.pipeline.handleFrame(frame(3, { devAddr: "01020304" }));
    const badMic = frame(4);
    badMic.phyPayload[badMic.phyPayload.length - 1]! ^= 0xff;
    await t.pipeline.handleFrame(badMic);
    const dedupless = setup({ journal: t.journal, dedup: new DedupCache({ maxAgeMs: 0 }) });
    await dedupless.pipeline.handleFrame(frame(3));
    expect(await metric(t.metrics, dropped("lorawan_unknown_devaddr"))).toBe(1);
    expect(await metric(t.metrics, dropped("lorawan_bad_mic"))).toBe(1);
    expect(await metric(dedupless.metrics, dropped("lorawan_replay"))).toBe(1);
    const logged = JSON.stringify([...t.logs, ...dedupless.logs]);
    expect(logged).toContain("lorawan_bad_mic");
    expect(logged).toContain("0016c001ff10a235");
    for (const key of [NWK_SKEY, APP_SKEY]) expect(logged.toUpperCase()).not.toContain(key);
    expect(t.logs.find((l) => l.reason === "lorawan_unknown_devaddr")?.level).toBe("debug");
  });

  it("a MAC-only frame (no FPort) persists its counter without messages", async () => {
    const t = setup();
    await t.pipeline.handleFrame({ ...frame(9), phyPayload: buildUplink({ fcnt32: 9, fport: null }) });
    expect(t.journal.lastFcnt(DEV_EUI)).toBe(9);
    expect(messagesIn(t.journal)).toEqual([]);
  });

  it("a journal failure rejects that frame only (not acknowledged) and is reported", async () => {
    const journal = openJournal();
    let fail = true;
    const flaky = {
      lastFcnt: (devEui: string) => journal.lastFcnt(devEui),
      append: (entry: JournalEntry) =>
        fail ? Promise.reject(new Error("disk I/O error")) : journal.append(entry),
    };
    const t = setup({ journal: flaky });
    await expect(t.pipeline.handleFrame(frame(1))).rejects.toThrow("disk I/O error");
    expect(t.pipeline.status().journalError).toBe("disk I/O error");
    fail = false;
    await t.pipeline.handleFrame(frame(2, { devAddr: ADDR_2 }));
    expect(t.pipeline.status().journalError).toBeUndefined();
    expect(journal.lastFcnt(EUI_2)).toBe(2);
  });
});

describe("pipeline time policy: no valid clock", () => {
  const BOOT_WALL = 12_345; // 1970-01-01T00:00:12Z: a Pi without RTC before NTP

  it("holds frames unacknowledged until the clock is valid, then journals them with resolved times", async () => {
    const t = setup({ clockValid: false, dedup: new DedupCache({ maxAgeMs: 0 }) });
    let done = 0;
    const first = t.pipeline.handleFrame(frame(1, { at: BOOT_WALL })).then(() => done++);
    t.clock.monotonicMs += 60_000;
    const second = t.pipeline.handleFrame(frame(2, { at: BOOT_WALL + 60_000 })).then(() => done++);
    // A copy of a held frame after the dedup window: the held counter counts, so it is a replay.
    await t.pipeline.handleFrame(frame(1, { at: BOOT_WALL + 60_000 }));
    expect(await metric(t.metrics, dropped("lorawan_replay"))).toBe(1);
    // Another device's frame with GPS time needs no clock: journaled now.
    await t.pipeline.handleFrame(frame(1, { devAddr: ADDR_2, gps: NOW - 5_000, at: BOOT_WALL + 60_000 }));
    // GPS time, but its device has held frames: it waits behind them, in order.
    const third = t.pipeline
      .handleFrame(frame(3, { gps: NOW - 1_000, at: BOOT_WALL + 60_000 }))
      .then(() => done++);

    expect(t.pipeline.status().heldFrames).toBe(3);
    expect(done).toBe(0);
    expect(t.journal.lastFcnt(DEV_EUI)).toBeUndefined();
    expect(t.journal.lastFcnt(EUI_2)).toBe(1);

    t.clock.monotonicMs += 30_000;
    t.clock.becomeValid(NOW); // 90 s after the first frame arrived
    await Promise.all([first, second, third]);
    expect(t.pipeline.status().heldFrames).toBe(0);
    expect(t.journal.lastFcnt(DEV_EUI)).toBe(3);
    const messages = messagesIn(t.journal);
    const uplinks = messages
      .filter((m) => m.topic === `test/v1/operator/uplinks/${DEV_EUI}`)
      .map((m) => m.body);
    expect(uplinks.map((u) => [u.fcnt, u.receivedAt])).toEqual([
      [1, "2026-11-21T10:13:32.412Z"],
      [2, "2026-11-21T10:14:32.412Z"],
      [3, "2026-11-21T10:14:32.412Z"],
    ]);
    const observations = observationsIn(messages);
    const newest = (fcnt: number) =>
      observations.get(`${DEV_EUI}-${fcnt.toString(16).toUpperCase().padStart(8, "0")}-air_temperature-1`)!;
    expect(newest(1).phenomenonTime).toBe("2026-11-21T10:13:22Z");
    expect(newest(3).phenomenonTime).toBe("2026-11-21T10:14:51Z"); // GPS time minus age_s
    const years = messages.flatMap((m) =>
      [...m.payload.matchAll(/"(\d{4})-\d\d-\d\dT/g)].map((x) => Number(x[1])),
    );
    expect(years.length).toBeGreaterThan(0);
    expect(years.every((y) => y === 2026)).toBe(true);
  });

  it("bounds the hold: beyond maxHeldFrames a frame is refused (not acknowledged) and counted", async () => {
    const t = setup({ clockValid: false, maxHeldFrames: 1 });
    const held = t.pipeline.handleFrame(frame(1, { at: BOOT_WALL }));
    await expect(t.pipeline.handleFrame(frame(2, { devAddr: ADDR_2, at: BOOT_WALL }))).rejects.toThrow(
      "wait for a valid clock",
    );
    expect(await metric(t.metrics, dropped("observation_clock_hold_full"))).toBe(1);
    t.pipeline.close();
    await expect(held).rejects.toThrow("before the clock became valid");
    await expect(t.pipeline.handleFrame(frame(3, { at: BOOT_WALL }))).rejects.toThrow("stopping");
  });
});
