/**
 * Mosquitto stopped for a long stretch of a steady uplink stream, then started again on the same port, with
 * the real gateway process in between. While the broker is away the gateway keeps acknowledging every
 * frame (nothing on the radio path waits for MQTT) and its journal grows by exactly the frames' messages,
 * as /metrics shows. After the restart everything arrives, in journal order per device, with fresh frames
 * flowing during the drain. With a small journal bound hit on purpose, exactly the oldest messages are
 * dropped and counted (journal_dropped_total{reason="size"}); the rest arrive.
 *
 * The subscriber keeps a persistent session (clean: false, Mosquitto persistence on), so that what the
 * broker accepted while the subscriber was reconnecting reaches it too: the test then sees what the
 * gateway delivered, not the subscriber's own gaps.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { VirtualForwarder } from "../../integration/gateway/helpers.ts";
import { metricValue, scrapeMetrics, spawnGateway, writeGatewayFiles } from "../../support/gateway.ts";
import { collect, mosquittoAvailable, startBroker, type TestBroker } from "../../support/mqtt-broker.ts";
import {
  analyse,
  frameKeys,
  frameObservationIds,
  MESSAGES_PER_FRAME,
  makeDevices,
  OBSERVATIONS_PER_FRAME,
  orderViolations,
  type StreamFrame,
  UplinkStream,
  waitForKeys,
  waitForMetric,
  wrongValues,
} from "./helpers.ts";

const DEVICES = 8;
const WINDOW = 16;
const FORWARDER = "b827ebfffe0d0e0f";
const OUTAGE_FRAMES = 2000;
const M = "openherz_gateway_";

let broker: TestBroker;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  if (!mosquittoAvailable()) return;
  // Unlimited queue per subscriber: the whole backlog may arrive while the subscriber reconnects.
  broker = await startBroker({ kind: "mosquitto", persistence: true, config: ["max_queued_messages 0"] });
});
afterAll(async () => {
  await broker?.dispose();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(name: string, journal: Record<string, unknown> = {}) {
  const devices = makeDevices(DEVICES, name.length * 7919);
  const prefix = `${name}-${process.pid}`;
  const files = await writeGatewayFiles({
    brokerUrl: broker.url,
    devices,
    gatewayId: `${name}-gw`,
    topicPrefix: prefix,
    config: { journal, log: { level: "info" } },
  });
  cleanups.push(() => files.dispose());
  const subscriber = await collect(broker.url, `${prefix}/v1/#`, {
    clientId: `${prefix}-subscriber`,
    clean: false,
  });
  cleanups.push(() => subscriber.close());
  const gateway = spawnGateway(files.configPath);
  cleanups.push(() => gateway.stop("SIGKILL"));
  const { udpPort, httpPort } = await gateway.ready;
  const forwarder = await VirtualForwarder.open(FORWARDER, { address: "127.0.0.1", port: udpPort! });
  cleanups.push(() => forwarder.close());
  const stream = new UplinkStream(forwarder, devices, { window: WINDOW });
  const keys = (frames: StreamFrame[]) =>
    frames.flatMap((f) => frameKeys(devices[f.device]!.devEui, f.fcnt, FORWARDER));
  const observationIds = (frames: StreamFrame[]) =>
    frames.flatMap((f) => frameObservationIds(devices[f.device]!.devEui, f.fcnt));
  const metrics = async () => {
    const text = await scrapeMetrics(httpPort!);
    return (series: string) => metricValue(text, M + series);
  };
  /** Stops the broker once the backlog is empty; resolves when the gateway has noticed. */
  const stopBroker = async () => {
    await waitForMetric(httpPort!, `${M}journal_messages`, (v) => v === 0);
    await broker.stop();
    await gateway.stdout.waitFor((r) => r.msg === "mqtt connection lost");
  };
  return {
    devices,
    subscriber,
    gateway,
    httpPort: httpPort!,
    stream,
    keys,
    observationIds,
    metrics,
    stopBroker,
  };
}

describe.runIf(mosquittoAvailable())(
  "broker outage during a steady stream (real process, Mosquitto)",
  { timeout: 120_000 },
  () => {
    it("keeps acknowledging into the journal, then delivers everything in order per device", async () => {
      const t = await setup("outage");
      const { stream } = t;
      // The broker goes away mid-stream, with messages in flight and on the wire.
      const warmUp = performance.now();
      stream.start();
      await stream.until(() => stream.acked.length >= 300, "warm-up");
      const warmUpRate = (300 / (performance.now() - warmUp)) * 1000;
      await waitForKeys(t.subscriber, t.keys(stream.acked.slice(0, 100)));
      await broker.stop();
      await t.gateway.stdout.waitFor((r) => r.msg === "mqtt connection lost");
      const started = performance.now();
      await stream.streamFrames(0); // quiet point: every frame sent so far is acknowledged
      let m = await t.metrics();
      expect(m("mqtt_connected")).toBe(0);
      const depthBefore = m("journal_messages")!;
      const outageStart = stream.acked.length;
      await stream.streamFrames(OUTAGE_FRAMES / 2);
      m = await t.metrics();
      expect(m("journal_messages"), "backlog halfway through the outage").toBe(
        depthBefore + (OUTAGE_FRAMES / 2) * MESSAGES_PER_FRAME,
      );
      await stream.streamFrames(OUTAGE_FRAMES / 2);
      const outageMs = performance.now() - started;
      m = await t.metrics();
      expect(m("journal_messages"), "backlog at the end of the outage").toBe(
        depthBefore + OUTAGE_FRAMES * MESSAGES_PER_FRAME,
      );
      expect(m('journal_dropped_total{reason="size"}')).toBe(0);
      expect(m('journal_dropped_total{reason="age"}')).toBe(0);
      expect(m("frames_accepted_total")).toBe(stream.acked.length);
      expect(m("journal_file_bytes")).toBeGreaterThan(0);
      const backlog = m("journal_messages")!;
      const retries = m("mqtt_reconnects_total")!;

      // Back again, with fresh frames during the drain.
      const drainStart = performance.now();
      stream.start();
      await broker.start();
      await stream.until(() => stream.acked.length >= outageStart + OUTAGE_FRAMES + 400, "after the outage");
      await stream.streamFrames(0);
      await waitForKeys(t.subscriber, t.keys(stream.acked), 30_000);
      const drainMs = performance.now() - drainStart;
      await waitForMetric(t.httpPort, `${M}journal_messages`, (v) => v === 0);
      m = await t.metrics();
      expect(m("mqtt_connected")).toBe(1);
      expect(m('journal_dropped_total{reason="size"}')).toBe(0);
      expect(m('journal_dropped_total{reason="unrenderable"}')).toBe(0);

      const delivery = analyse(t.subscriber.messages);
      const lost = t.keys(stream.acked).filter((k) => !delivery.byKey.has(k));
      expect(lost, "acknowledged but never delivered").toEqual([]);
      const lostObservations = t.observationIds(stream.acked).filter((id) => !delivery.observations.has(id));
      expect(lostObservations, "observations of acknowledged frames never delivered").toEqual([]);
      expect(delivery.conflicting).toEqual([]);
      expect(delivery.conflictingObservations).toEqual([]);
      expect(wrongValues(delivery, t.devices)).toEqual([]);
      expect(orderViolations(delivery, FORWARDER), "first arrivals out of journal order").toEqual([]);
      expect(await t.gateway.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      console.log(
        `broker outage: ${OUTAGE_FRAMES} frames acknowledged during a ${Math.round(outageMs)} ms outage ` +
          `(${Math.round((OUTAGE_FRAMES / outageMs) * 1000)} frames/s; ${Math.round(warmUpRate)} frames/s ` +
          "with the broker up), " +
          `${retries} reconnect attempts, backlog ${backlog} messages (${OUTAGE_FRAMES * OBSERVATIONS_PER_FRAME} observations of the outage); ` +
          `drained with fresh frames in ${Math.round(drainMs)} ms; ${stream.acked.length} frames, ` +
          `${delivery.byKey.size} messages delivered, 0 lost, in order per device, ${delivery.duplicates} duplicates`,
      );
    });

    it("with the journal bound hit on purpose: the oldest are dropped and counted, the rest arrive", async () => {
      const bound = 100 * MESSAGES_PER_FRAME;
      const t = await setup("bounded", { maxMessages: bound });
      const { stream } = t;
      await stream.streamFrames(50);
      await waitForKeys(t.subscriber, t.keys(stream.acked));

      await t.stopBroker();
      const before = stream.acked.length;
      await stream.streamFrames(500);
      const outage = stream.acked.slice(before);
      let m = await t.metrics();
      const dropped = outage.length * MESSAGES_PER_FRAME - bound;
      expect(outage.length, "every frame acknowledged although the journal is full").toBe(500);
      expect(m("journal_messages")).toBe(bound);
      expect(m('journal_dropped_total{reason="size"}')).toBe(dropped);

      await broker.start();
      const kept = outage.slice(-bound / MESSAGES_PER_FRAME);
      const lostOnPurpose = outage.slice(0, -bound / MESSAGES_PER_FRAME);
      await waitForKeys(t.subscriber, t.keys(kept), 30_000);
      const after = stream.acked.length;
      await stream.streamFrames(50);
      await waitForKeys(t.subscriber, t.keys(stream.acked.slice(after)));
      await waitForMetric(t.httpPort, `${M}journal_messages`, (v) => v === 0);
      m = await t.metrics();
      expect(m('journal_dropped_total{reason="size"}'), "no drops once the broker is back").toBe(dropped);

      const delivery = analyse(t.subscriber.messages);
      const expected = [...stream.acked.slice(0, before), ...kept, ...stream.acked.slice(after)];
      expect(t.keys(expected).filter((k) => !delivery.byKey.has(k))).toEqual([]);
      expect(t.observationIds(expected).filter((id) => !delivery.observations.has(id))).toEqual([]);
      expect(
        t.keys(lostOnPurpose).filter((k) => delivery.byKey.has(k)),
        "dropped yet delivered",
      ).toEqual([]);
      expect(
        t.observationIds(lostOnPurpose).filter((id) => delivery.observations.has(id)),
        "observations of dropped messages delivered",
      ).toEqual([]);
      expect(delivery.conflicting).toEqual([]);
      expect(orderViolations(delivery, FORWARDER)).toEqual([]);
      expect(await t.gateway.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      console.log(
        `bounded journal (maxMessages ${bound}): ${outage.length} frames (${outage.length * MESSAGES_PER_FRAME} messages) ` +
          `during the outage, ${dropped} oldest dropped and counted, the newest ${bound} delivered, ` +
          `${delivery.byKey.size} messages delivered in all`,
      );
    });
  },
);
