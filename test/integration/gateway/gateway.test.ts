// End to end, in process: the real gateway (startGateway, the same code `sensornet gateway` runs) against a
// real Mosquitto, fed over real UDP sockets (PUSH_DATA from virtual packet forwarders) and a real
// pseudo-terminal (an RN2483 played by the test). Asserts what reaches the broker: values, times, ids,
// topics, what is retained, what never appears on the open-data topics, and when PUSH_ACK is sent.
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../../../gateway/gateway.ts";
import { saveRegistry } from "../../../gateway/lorawan/registry-file.ts";
import { batchId, type ObservationEnvelope } from "../../../gateway/observations/index.ts";
import { loadConfig } from "../../../gateway/ops/config.ts";
import { unixToGpsMs } from "../../../gateway/radio/semtech-udp-codec.ts";
import { useFileBroker } from "../../support/file-broker.ts";
import { type GatewayFiles, LogCapture, metricValue, writeGatewayFiles } from "../../support/gateway.ts";
import { type Collector, collect } from "../../support/mqtt-broker.ts";
import { observationsOn } from "../../support/observations.ts";
import { createPtyPair, ptyTestsAvailable } from "../../support/pty.ts";
import { FakeModem, rn2483Responder } from "../radio/helpers.ts";
import {
  ALL_KEYS,
  BIKE,
  bikeUplink,
  CLIMATE,
  climateUplink,
  DEVICE_1,
  DEVICE_2,
  fcntHex,
  hex,
  parseIso,
  rxpk,
  statusUplink,
  VirtualForwarder,
} from "./helpers.ts";

const EUI_1 = DEVICE_1.devEui;
const EUI_2 = DEVICE_2.devEui;
const FWD_A = "b827ebfffe123456";
const FWD_B = "b827ebfffe654321";

const shared = useFileBroker();
const { cleanups } = shared;
let testNo = 0;

interface Setup {
  gateway: Gateway;
  files: GatewayFiles;
  logs: LogCapture;
  prefix: string;
  /** Everything under <prefix>/#, subscribed before the gateway started. */
  all: Collector;
  udp: { address: string; port: number };
  forwarder(eui: string): Promise<VirtualForwarder>;
  modem?: { fake: FakeModem; path: string };
}

async function setup(
  options: {
    serial?: boolean;
    config?: Record<string, unknown>;
    devices?: (typeof DEVICE_1)[];
    clock?: Parameters<typeof startGateway>[1] extends infer O
      ? O extends { clock?: infer C }
        ? C
        : never
      : never;
  } = {},
): Promise<Setup> {
  const prefix = `e2e${++testNo}-${process.pid}`;
  let modem: Setup["modem"];
  const config = { ...options.config };
  if (options.serial) {
    const pty = await createPtyPair();
    cleanups.push(() => pty.dispose());
    const fake = new FakeModem(pty.modemPath, rn2483Responder());
    await fake.open();
    cleanups.push(() => fake.close());
    modem = { fake, path: pty.gatewayPath };
    config.serial = [
      {
        path: pty.gatewayPath,
        modem: "rn2483",
        commandTimeoutMs: 1000,
        reopenDelayMs: { initial: 20, max: 200 },
      },
    ];
  }
  const files = await writeGatewayFiles({
    brokerUrl: shared.broker.url,
    devices: options.devices ?? [DEVICE_1],
    gatewayId: `gw-${prefix}`,
    topicPrefix: prefix,
    config,
  });
  cleanups.push(() => files.dispose());
  const all = await collect(shared.broker.url, `${prefix}/#`);
  cleanups.push(() => all.close());
  const logs = new LogCapture();
  const gateway = await startGateway(loadConfig(files.configPath), {
    logDestination: logs,
    ...(options.clock && { clock: options.clock }),
  });
  cleanups.push(() => gateway.stop());
  if (modem) await modem.fake.untilCommand("radio rx 0");
  const udp = gateway.udpAddress()!;
  return {
    gateway,
    files,
    logs,
    prefix,
    all,
    udp,
    modem,
    async forwarder(eui) {
      const f = await VirtualForwarder.open(eui, udp);
      cleanups.push(() => f.close());
      return f;
    },
  };
}

/** The "@iot.id" of each message on `topic`: a batch id per uplink by default. */
const messageIds = (c: Collector, topic: string) =>
  c.json<{ "@iot.id": string }>(topic).map((m) => m["@iot.id"]);

const within = (actual: number, expected: number, tolerance: number) =>
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);

describe.runIf(ptyTestsAvailable())("gateway end to end (Mosquitto, UDP, pty)", () => {
  it("UDP and serial frames become observations with the right values, times, ids and topics", async () => {
    const t = await setup({ serial: true });
    const { prefix } = t;
    const obs = (ds: string, eui = EUI_1) => `${prefix}/v1/observations/${eui}/${ds}`;
    const fwd = await t.forwarder(FWD_A);

    // Climate batch over UDP.
    const sent1 = Date.now();
    await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_1, 1))]);
    const acked1 = Date.now();
    // Bike bins over the pty (RN2483 `radio_rx`); the modem is asked for SNR and RSSI before the frame is
    // handed over, so wait for it before the next frame (a later FCnt first would make it a replay).
    const uplinks = `${prefix}/v1/operator/uplinks/${EUI_1}`;
    const sent2 = Date.now();
    await t.modem!.fake.send(`radio_rx  ${hex(bikeUplink(DEVICE_1, 2))}`);
    await t.all.waitFor((ms) => ms.filter((m) => m.topic === uplinks).length === 2);
    const received2 = Date.now();
    // Node status over UDP.
    await fwd.pushAndWaitAck([rxpk(statusUplink(DEVICE_1, 3))]);
    await t.all.waitFor((ms) => ms.filter((m) => m.topic === uplinks).length === 3);

    // One message per uplink and datastream (the default grouping), with the uplink's observations.
    for (const ds of ["air_temperature", "relative_humidity"])
      expect(messageIds(t.all, obs(ds))).toEqual([batchId(EUI_1, 1, ds)]);
    for (const ds of ["bicycles_ab", "bicycles_ba"])
      expect(messageIds(t.all, obs(ds))).toEqual([batchId(EUI_1, 2, ds)]);
    // Climate: 3 slots, oldest first; sample i was taken age_s + (n-1-i)·60·interval_min s before the uplink.
    const temps = observationsOn(t.all.messages, obs("air_temperature"));
    const hums = observationsOn(t.all.messages, obs("relative_humidity"));
    expect(temps.map((e) => e["@iot.id"])).toEqual(
      [0, 1, 2].map((i) => `${EUI_1}-00000001-air_temperature-${i}`),
    );
    expect(hums.map((e) => e["@iot.id"])).toEqual(
      [0, 1, 2].map((i) => `${EUI_1}-00000001-relative_humidity-${i}`),
    );
    for (const [i, v] of CLIMATE.temperatures.entries()) within(temps[i]!.result, v! / 100, 0.01);
    for (const [i, v] of CLIMATE.humidities.entries()) within(hums[i]!.result, v! / 100, 0.01);
    for (const [i, e] of temps.entries()) {
      const offsetMs = (CLIMATE.ageS + (2 - i) * 60 * CLIMATE.intervalMin) * 1000;
      const at = parseIso(e.phenomenonTime);
      expect(at).toBeGreaterThanOrEqual(sent1 - offsetMs - 1000);
      expect(at).toBeLessThanOrEqual(acked1 - offsetMs + 1000);
      expect(parseIso(e.resultTime)).toBeGreaterThanOrEqual(sent1 - 1);
      expect(parseIso(e.resultTime)).toBeLessThanOrEqual(acked1 + 1);
      expect(e.unitOfMeasurement.definition).toBe("ucum:Cel");
      expect(e.Datastream["@iot.id"]).toBe(`${EUI_1}:air_temperature`);
      expect(e.parameters).toMatchObject({
        fcnt: 1,
        sampleIndex: i,
        intervalS: 300,
        deviceName: "bahnhofstrasse-12",
      });
    }
    expect(hums[0]!.unitOfMeasurement.definition).toBe("ucum:%");
    const batteryTopic = `${prefix}/v1/operator/nodes/${EUI_1}/battery_voltage`;
    expect(messageIds(t.all, batteryTopic)).toEqual([batchId(EUI_1, 1, "battery_voltage")]);
    const battery = observationsOn(t.all.messages, batteryTopic);
    expect(battery.map((b) => [b["@iot.id"], b.result])).toEqual([
      [`${EUI_1}-00000001-battery_voltage-0`, 3.6],
    ]);

    // Bike bins: intervals of bin_s, newest ending age_s before the uplink (snapped to a UTC multiple of
    // bin_s when within 5 s of one).
    const ab = observationsOn(t.all.messages, obs("bicycles_ab"));
    const ba = observationsOn(t.all.messages, obs("bicycles_ba"));
    expect(ab.map((e) => [e["@iot.id"], e.result])).toEqual([
      [`${EUI_1}-00000002-bicycles_ab-0`, 12],
      [`${EUI_1}-00000002-bicycles_ab-1`, 3],
    ]);
    expect(ba.map((e) => e.result)).toEqual([7, 0]);
    for (const [i, e] of ab.entries()) {
      const [start, end] = e.phenomenonTime.split("/").map(parseIso) as [number, number];
      expect(end - start).toBe(BIKE.binS * 1000);
      const endOffsetMs = (BIKE.ageS + (1 - i) * BIKE.binS) * 1000;
      expect(end).toBeGreaterThanOrEqual(sent2 - endOffsetMs - 6000);
      expect(end).toBeLessThanOrEqual(received2 - endOffsetMs + 6000);
      expect(e.parameters).toMatchObject({ binS: 900, directionAB: "northbound" });
    }

    // Node status: retained, operator tree.
    const status = t.all.messages.find((m) => m.topic === `${prefix}/v1/operator/nodes/${EUI_1}/status`)!;
    expect(JSON.parse(status.payload)).toMatchObject({
      fcnt: 3,
      firmware: "1.2.0",
      batteryV: 3.59,
      uptimeS: 86400,
    });

    // Radio metadata: one message per reception, operator topic only.
    const radio = t.all.json<Record<string, unknown>>(uplinks);
    expect(radio[0]).toMatchObject({
      fcnt: 1,
      fport: 1,
      devAddr: "26011BDA",
      source: { kind: "udp", id: FWD_A },
      rssi: -97,
      snr: 7.5,
      frequencyMhz: 868.1,
      dataRate: "SF9BW125",
      tmst: 3_512_348_611,
    });
    expect(radio[1]).toMatchObject({
      fcnt: 2,
      fport: 2,
      source: { kind: "serial", id: t.modem!.path },
      rssi: -97,
      snr: 9,
    });

    // Nothing radio-, gateway- or key-related on the open-data topics.
    const open = t.all.messages.filter(
      (m) => m.topic.startsWith(`${prefix}/v1/observations/`) || m.topic.startsWith(`${prefix}/v1/devices/`),
    );
    // Two climate and two bike batches, the device metadata; in them 6 climate and 4 bike observations.
    expect(open.length).toBe(2 + 2 + 1);
    expect(observationsOn(open, (topic) => topic.includes("/v1/observations/")).length).toBe(6 + 4);
    for (const m of open) {
      expect(m.payload).not.toMatch(/rssi|snr|tmst|frequency|dataRate|devAddr|26011BDA|gateway|serial/i);
      expect(m.payload).not.toContain(FWD_A);
    }
    for (const m of t.all.messages)
      for (const key of ALL_KEYS) expect(m.payload.toUpperCase()).not.toContain(key);
    expect(t.all.messages.some((m) => m.payload.includes("1970-"))).toBe(false);

    // Retained: device metadata and gateway status, as a subscriber arriving later sees them.
    const later = await collect(shared.broker.url, `${prefix}/v1/+/+/+/status`);
    cleanups.push(() => later.close());
    const devices = await collect(shared.broker.url, `${prefix}/v1/devices/+`);
    cleanups.push(() => devices.close());
    await devices.waitFor((ms) => ms.length === 1);
    await later.waitFor((ms) => ms.length === 2);
    expect(devices.messages[0]!.retain).toBe(true);
    expect(JSON.parse(devices.messages[0]!.payload)).toMatchObject({
      devEui: EUI_1,
      name: "bahnhofstrasse-12",
      sensors: ["climate", "bike"],
      licence: "CC-BY-4.0",
      location: { feature: { type: "Point", coordinates: [9.7386, 52.3745, 4.5] } },
    });
    const retained = Object.fromEntries(later.messages.map((m) => [m.topic, m]));
    expect(retained[`${prefix}/v1/operator/nodes/${EUI_1}/status`]?.retain).toBe(true);
    expect(JSON.parse(retained[`${prefix}/v1/operator/gateways/gw-${prefix}/status`]!.payload)).toMatchObject(
      {
        status: "online",
      },
    );

    const metrics = await t.gateway.metrics.metricsText();
    expect(metricValue(metrics, 'openherz_gateway_frames_received_total{source="udp"}')).toBe(2);
    expect(metricValue(metrics, 'openherz_gateway_frames_received_total{source="serial"}')).toBe(1);
    expect(metricValue(metrics, "openherz_gateway_frames_accepted_total")).toBe(3);
  });

  it('mqtt.observationGrouping "observation": one message per observation, with its own id', async () => {
    const t = await setup({ config: { mqtt: { observationGrouping: "observation" } } });
    const { prefix } = t;
    const obs = (ds: string) => `${prefix}/v1/observations/${EUI_1}/${ds}`;
    const fwd = await t.forwarder(FWD_A);
    const sent = Date.now();
    await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_1, 1))]);
    await fwd.pushAndWaitAck([rxpk(bikeUplink(DEVICE_1, 2))]);
    const acked = Date.now();
    const uplinks = `${prefix}/v1/operator/uplinks/${EUI_1}`;
    // Messages of one device leave the journal in order: after the second radio metadata, all is here.
    await t.all.waitFor((ms) => ms.filter((m) => m.topic === uplinks).length === 2);

    const expected: Array<[string, number, number[]]> = [
      ["air_temperature", 1, CLIMATE.temperatures.map((v) => v! / 100)],
      ["relative_humidity", 1, CLIMATE.humidities.map((v) => v! / 100)],
      ["bicycles_ab", 2, BIKE.bins.map((b) => b.ab)],
      ["bicycles_ba", 2, BIKE.bins.map((b) => b.ba)],
    ];
    for (const [ds, fcnt, values] of expected) {
      const envelopes = t.all.json<ObservationEnvelope & { Observations?: unknown }>(obs(ds));
      expect(envelopes.map((e) => [e["@iot.id"], e.result])).toEqual(
        values.map((v, i) => [`${EUI_1}-${fcntHex(fcnt)}-${ds}-${i}`, v]),
      );
      for (const [i, e] of envelopes.entries()) {
        expect(e.Observations).toBeUndefined();
        expect(e.Datastream["@iot.id"]).toBe(`${EUI_1}:${ds}`);
        expect(e.parameters).toMatchObject({ fcnt, sampleIndex: i, deviceName: "bahnhofstrasse-12" });
        expect(parseIso(e.resultTime)).toBeGreaterThanOrEqual(sent - 1);
        expect(parseIso(e.resultTime)).toBeLessThanOrEqual(acked + 1);
      }
    }
    const battery = t.all.json<ObservationEnvelope>(`${prefix}/v1/operator/nodes/${EUI_1}/battery_voltage`);
    expect(battery.map((b) => [b["@iot.id"], b.result])).toEqual([
      [`${EUI_1}-00000001-battery_voltage-0`, 3.6],
    ]);
    const metrics = await t.gateway.metrics.metricsText();
    // 6 climate observations, battery, radio metadata; 4 bike observations, radio metadata.
    expect(metricValue(metrics, "openherz_gateway_messages_journaled_total")).toBe(8 + 5);
  });

  it("sends PUSH_ACK only once the frame is durable (its journal row exists when the ACK arrives)", async () => {
    const t = await setup({ config: { journal: { commitIntervalMs: 150 } } });
    const db = new Database(t.files.journalPath, { readonly: true });
    cleanups.push(() => db.close());
    const fcntRow = db.prepare<[string], { fcnt32: number }>("SELECT fcnt32 FROM fcnt WHERE dev_eui = ?");
    const fwd = await t.forwarder(FWD_A);
    const atAck: Array<number | undefined> = [];
    fwd.onAck = () => atAck.push(fcntRow.get(EUI_1)?.fcnt32);
    for (const fcnt of [1, 2, 3]) {
      expect(fcntRow.get(EUI_1)?.fcnt32 ?? 0).toBe(fcnt - 1);
      const sent = Date.now();
      await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_1, fcnt))]);
      expect(Date.now() - sent).toBeGreaterThanOrEqual(100); // waited for the batch commit
    }
    expect(atAck).toEqual([1, 2, 3]);
    // A datagram with nothing to keep (unknown device) is handled, hence acknowledged, without a row.
    await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_2, 1))]);
    expect(fcntRow.get(EUI_2)).toBeUndefined();
    await t.all.waitFor((ms) => ms.filter((m) => m.topic.endsWith(`/uplinks/${EUI_1}`)).length === 3);
  });

  it("prefers the packet forwarder's GPS time (tmms) for sample times", async () => {
    const t = await setup();
    const fwd = await t.forwarder(FWD_A);
    const gps = Math.floor((Date.now() - 3_600_000) / 1000) * 1000 + 250; // an hour off the gateway's clock
    const sent = Date.now();
    await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_1, 1), { tmms: unixToGpsMs(gps) })]);
    const temps = `${t.prefix}/v1/observations/${EUI_1}/air_temperature`;
    await t.all.waitFor((ms) => observationsOn(ms, temps).length === 3);
    const envelopes = observationsOn(t.all.messages, temps);
    expect(envelopes.map((e) => e.phenomenonTime)).toEqual(
      [2, 1, 0].map((k) =>
        new Date(Math.round((gps - (10 + k * 300) * 1000) / 1000) * 1000).toISOString().replace(".000Z", "Z"),
      ),
    );
    // resultTime is the gateway's own reception time.
    within(parseIso(envelopes[0]!.resultTime), sent, 2000);
    // The radio metadata leaves after the observations: wait for it too.
    const uplinks = `${t.prefix}/v1/operator/uplinks/${EUI_1}`;
    await t.all.waitFor((ms) => ms.some((m) => m.topic === uplinks));
    const radio = t.all.json<{ gpsTime: string }>(uplinks);
    expect(radio[0]!.gpsTime).toBe(new Date(gps).toISOString());
  });

  it("deduplicates one frame heard by two forwarders and a serial modem: one set of observations", async () => {
    const t = await setup({ serial: true });
    const [a, b] = [await t.forwarder(FWD_A), await t.forwarder(FWD_B)];
    const phy = climateUplink(DEVICE_1, 1);
    await Promise.all([
      a.pushAndWaitAck([rxpk(phy, { rssi: -97 })]),
      b.pushAndWaitAck([rxpk(phy, { rssi: -112, lsnr: -3.5 })]),
      t.modem!.fake.send(`radio_rx  ${hex(phy)}`),
    ]);
    const uplinks = `${t.prefix}/v1/operator/uplinks/${EUI_1}`;
    await t.all.waitFor((ms) => ms.filter((m) => m.topic === uplinks).length === 3);
    // Messages of one device leave the journal in order: the copies' radio metadata came after the
    // observations of the first reception, so every observation that will ever come is here.
    const open = t.all.messages.filter((m) => m.topic.includes("/observations/"));
    expect(open.map((m) => JSON.parse(m.payload)["@iot.id"]).sort()).toEqual(
      ["air_temperature", "relative_humidity"].map((ds) => `${EUI_1}-${fcntHex(1)}-${ds}`).sort(),
    );
    const ids = observationsOn(open, () => true).map((o) => o["@iot.id"]);
    expect(ids.sort()).toEqual(
      ["air_temperature", "relative_humidity"]
        .flatMap((ds) => [0, 1, 2].map((i) => `${EUI_1}-${fcntHex(1)}-${ds}-${i}`))
        .sort(),
    );
    const sources = t.all.json<{ source: { kind: string; id: string }; rssi: number }>(uplinks);
    expect(sources.map((s) => `${s.source.kind}:${s.source.id}`).sort()).toEqual(
      [`udp:${FWD_A}`, `udp:${FWD_B}`, `serial:${t.modem!.path}`].sort(),
    );
    const metrics = await t.gateway.metrics.metricsText();
    expect(metricValue(metrics, "openherz_gateway_frames_accepted_total")).toBe(1);
    expect(metricValue(metrics, "openherz_gateway_frames_duplicate_total")).toBe(2);
  });

  it("picks up registry changes without a restart: a new device's frames are accepted", async () => {
    const t = await setup({ config: { registry: { pollIntervalMs: 0 } } });
    const fwd = await t.forwarder(FWD_A);
    await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_2, 1))]);
    expect(
      metricValue(
        await t.gateway.metrics.metricsText(),
        'openherz_gateway_frames_dropped_total{reason="lorawan_unknown_devaddr"}',
      ),
    ).toBe(1);

    await saveRegistry(t.files.registryPath, { version: 1, devices: [DEVICE_1, DEVICE_2].map(stored) });
    const device2 = `${t.prefix}/v1/devices/${EUI_2}`;
    await t.all.waitFor((ms) => ms.some((m) => m.topic === device2 && m.payload !== ""));
    await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_2, 1))]);
    const temps = `${t.prefix}/v1/observations/${EUI_2}/air_temperature`;
    await t.all.waitFor((ms) => observationsOn(ms, temps).length === 3);
    expect(observationsOn(t.all.messages, temps)[2]!["@iot.id"]).toBe(`${EUI_2}-00000001-air_temperature-2`);

    // Removing a device clears its retained metadata (an empty retained message).
    await saveRegistry(t.files.registryPath, { version: 1, devices: [stored(DEVICE_2)] });
    const device1 = `${t.prefix}/v1/devices/${EUI_1}`;
    await t.all.waitFor((ms) => ms.some((m) => m.topic === device1 && m.payload === ""));
    await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_1, 5))]);
    expect(
      metricValue(
        await t.gateway.metrics.metricsText(),
        'openherz_gateway_frames_dropped_total{reason="lorawan_unknown_devaddr"}',
      ),
    ).toBe(2);
  });

  it("with a clock at 1970, frames wait unacknowledged and are published with real times once it is valid", async () => {
    let wallMs = 12_345; // a Pi without RTC, before NTP
    const t = await setup({
      devices: [DEVICE_1, DEVICE_2],
      clock: { wallNow: () => wallMs, exists: () => false },
    });
    const fwd = await t.forwarder(FWD_A);
    const sent = Date.now();
    const held = fwd.push([rxpk(climateUplink(DEVICE_1, 1))]);
    // A later frame with GPS time needs no system clock: journaled, acknowledged and published at once.
    const gps = Math.floor(Date.now() / 1000) * 1000;
    await fwd.pushAndWaitAck([rxpk(climateUplink(DEVICE_2, 1), { tmms: unixToGpsMs(gps) })]);
    await t.all.waitFor((ms) => ms.some((m) => m.topic.startsWith(`${t.prefix}/v1/observations/${EUI_2}/`)));
    expect(fwd.acks).not.toContain(held);
    expect(t.all.messages.some((m) => m.topic.includes(EUI_1) && !m.topic.includes("/devices/"))).toBe(false);
    expect(t.gateway.health().degraded).toContain("frames waiting for a valid clock: 1");

    wallMs = Date.now(); // NTP synchronised
    expect(t.gateway.clock.check()).toBe(true);
    await fwd.signal.until(() => fwd.acks.includes(held), "PUSH_ACK after the clock became valid");
    const acked = Date.now();
    const temps = `${t.prefix}/v1/observations/${EUI_1}/air_temperature`;
    await t.all.waitFor((ms) => observationsOn(ms, temps).length === 3);
    const newest = observationsOn(t.all.messages, temps)[2]!;
    const at = parseIso(newest.phenomenonTime);
    expect(at).toBeGreaterThanOrEqual(sent - CLIMATE.ageS * 1000 - 1000);
    expect(at).toBeLessThanOrEqual(acked - CLIMATE.ageS * 1000 + 1000);
    expect(t.gateway.health().degraded).toEqual([]);
    for (const m of t.all.messages) expect(m.payload).not.toMatch(/"19\d\d-/);
  });
});

/** A device as the registry stores it (saveRegistry wants the stored form). */
function stored(d: typeof DEVICE_1) {
  return {
    ...d,
    devEui: d.devEui.toUpperCase(),
    devAddr: d.devAddr.toUpperCase(),
    nwkSKey: d.nwkSKey.toUpperCase(),
    appSKey: d.appSKey.toUpperCase(),
    licence: d.licence ?? "CC-BY-4.0",
  };
}
