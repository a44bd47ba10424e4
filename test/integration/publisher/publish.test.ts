// The publisher against a real broker: delivery, ack only on PUBACK, release and re-send after a cut
// connection, fairness, refusals, clean stop, and the real SQLite journal as the source.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Journal } from "../../../gateway/journal/journal.ts";
import {
  buildDeviceMetadataMessage,
  buildObservationMessages,
  createTopics,
  type DeviceInfo,
} from "../../../gateway/observations/index.ts";
import { MqttPublisher, type PublisherOptions } from "../../../gateway/publisher/index.ts";
import { decodeUplink, encodeBike, encodeClimate } from "../../../shared/payload/index.ts";
import {
  type Collector,
  collect,
  mosquittoAvailable,
  startBroker,
  type TestBroker,
} from "../../support/mqtt-broker.ts";
import { firstArrivals, MemorySource, messagesFor, startProxy, waitForState } from "./helpers.ts";

const DEVICE: DeviceInfo = {
  devEui: "70B3D57ED0061234",
  name: "bahnhofstrasse-12",
  location: { lat: 52.37, lon: 9.73 },
  sensors: ["climate", "bike"],
  licence: "CC-BY-4.0",
  directionAB: "northbound",
};
const T = Date.UTC(2025, 5, 1, 10, 15, 2);

let broker: TestBroker;
const cleanup: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker.dispose();
});
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function unique(): string {
  return randomBytes(4).toString("hex");
}

function publisher(source: MemorySource | Journal, options: Partial<PublisherOptions> = {}): MqttPublisher {
  const id = unique();
  const p = new MqttPublisher(source, {
    url: broker.url,
    clientId: `gw-test-${id}`,
    gatewayId: `gw-${id}`,
    backoff: { initialMs: 50, maxMs: 200 },
    stopTimeoutMs: 2000,
    ...options,
  });
  cleanup.push(() => p.stop(500));
  return p;
}

async function collector(filter: string, url = broker.url): Promise<Collector> {
  const c = await collect(url, filter);
  cleanup.push(() => c.close());
  return c;
}

describe("publisher → broker", () => {
  it("delivers envelopes, device metadata and status with the right topics and payloads (MQTT 5)", async () => {
    const topics = createTopics(`t${unique()}`);
    const climate = decodeUplink(
      1,
      encodeClimate({
        intervalMin: 5,
        ageS: 10,
        batteryMv: 3012,
        temperatures: [2157, null],
        humidities: [5512, 5530],
      }),
    );
    const bike = decodeUplink(2, encodeBike({ binS: 900, ageS: 2, bins: [{ ab: 12, ba: 7 }] }));
    const times = { uplinkTimeMs: T, resultTimeMs: T };
    const messages = [
      ...buildObservationMessages({ devEui: DEVICE.devEui, fcnt32: 41, fport: 1 }, climate, DEVICE, times, {
        topics,
      }),
      ...buildObservationMessages({ devEui: DEVICE.devEui, fcnt32: 42, fport: 2 }, bike, DEVICE, times, {
        topics,
      }),
    ];
    const source = new MemorySource();
    source.append(messages);
    const c = await collector(`${topics.prefix}/#`);
    const metadata = buildDeviceMetadataMessage(DEVICE, topics);
    const p = publisher(source, { topics, gatewayId: "gw-1", announce: () => [metadata] });
    p.start();

    await c.waitFor((ms) =>
      messages.every((m) => ms.some((x) => x.topic === m.topic && x.payload === m.payload)),
    );
    await waitForState(p, (s) => s.acked === messages.length);
    expect(source.depth).toBe(0);
    const state = p.state();
    // aedes (the fallback broker without Mosquitto) speaks 3.1.1 only.
    const protocolVersion = broker.kind === "mosquitto" ? 5 : 4;
    expect(state).toMatchObject({
      connected: true,
      protocolVersion,
      published: messages.length,
      rejected: 0,
    });
    expect(messages.map((m) => m.topic)).toContain(
      `${topics.prefix}/v1/observations/70B3D57ED0061234/air_temperature`,
    );
    expect(messages.map((m) => m.topic)).toContain(
      `${topics.prefix}/v1/operator/nodes/70B3D57ED0061234/battery_voltage`,
    );

    // Retained: a subscriber arriving later still gets the gateway status and the device metadata.
    const late = await collector(`${topics.prefix}/v1/+/#`);
    const statusTopic = topics.gatewayStatus("gw-1");
    await late.waitFor(
      (ms) => ms.some((m) => m.topic === metadata.topic) && ms.some((m) => m.topic === statusTopic),
    );
    const retainedMeta = late.messages.find((m) => m.topic === metadata.topic)!;
    expect(retainedMeta).toMatchObject({ retain: true, payload: metadata.payload });
    const status = late.messages.find((m) => m.topic === statusTopic)!;
    expect(status.retain).toBe(true);
    expect(JSON.parse(status.payload)).toMatchObject({ status: "online" });
    // Observations are not retained.
    expect(late.messages.some((m) => m.topic.includes("/observations/"))).toBe(false);
  });

  it.runIf(mosquittoAvailable())("acks a message only on its PUBACK", async () => {
    const source = new MemorySource();
    const c = await collector("ack-test/#");
    const p = publisher(source, { window: 8 });
    p.start();
    await new Promise((resolve) => p.once("announced", resolve));

    broker.pause(); // connected, but the broker answers nothing
    try {
      source.append(messagesFor("dev-a", 20, "ack-test"));
      p.notify();
      await waitForState(p, (s) => s.inflight === 8, 5000, "window full");
      expect(source.acked).toEqual([]);
      expect(source.inflight.size).toBe(8);
      expect(p.state().acked).toBe(0);
    } finally {
      broker.resume();
    }
    await waitForState(p, (s) => s.acked === 20);
    expect(source.acked).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await c.waitFor((ms) => ms.length === 20);
    expect(firstArrivals(c.messages.map((m) => m.payload)).get("dev-a")).toEqual([...Array(20).keys()]);
  });

  it.runIf(mosquittoAvailable())(
    "releases in-flight messages when the connection drops and re-sends them in order, none lost",
    async () => {
      const proxy = await startProxy(broker.port);
      cleanup.push(() => proxy.close());
      const source = new MemorySource();
      const c = await collector("cut-test/#");
      const p = publisher(source, { url: proxy.url, window: 16, perGroup: 4 });
      p.start();
      await new Promise((resolve) => p.once("announced", resolve));

      source.append([...messagesFor("dev-a", 50, "cut-test"), ...messagesFor("dev-b", 50, "cut-test")]);
      broker.pause();
      p.notify();
      await waitForState(p, (s) => s.inflight === 16, 5000, "window full");
      proxy.cut();
      await waitForState(p, (s) => !s.connected, 5000, "disconnected");
      expect(source.inflight.size).toBe(0);
      expect(p.state()).toMatchObject({ inflight: 0, released: 16, acked: 0 });
      broker.resume();

      await waitForState(p, (s) => s.acked === 100, 10_000);
      expect(p.state().reconnects).toBeGreaterThanOrEqual(1);
      await c.waitFor((ms) => new Set(ms.map((m) => m.payload)).size === 100);
      const arrivals = firstArrivals(c.messages.map((m) => m.payload));
      expect(arrivals.get("dev-a")).toEqual([...Array(50).keys()]);
      expect(arrivals.get("dev-b")).toEqual([...Array(50).keys()]);
    },
  );

  it("drains one device's backlog without starving the others", async () => {
    const source = new MemorySource();
    const c = await collector("fair-test/#");
    source.append(messagesFor("backlog", 600, "fair-test"));
    source.append(messagesFor("fresh", 20, "fair-test"));
    const p = publisher(source, { window: 16, perGroup: 4 });
    p.start();
    await c.waitFor((ms) => ms.length >= 620);
    const fresh = c.messages.filter((m) => m.topic.endsWith("/fresh"));
    expect(fresh).toHaveLength(20);
    // Round-robin across devices: the fresh device is done long before the backlog.
    expect(Math.max(...fresh.map((m) => m.index))).toBeLessThan(100);
    const arrivals = firstArrivals(c.messages.map((m) => m.payload));
    expect(arrivals.get("backlog")).toEqual([...Array(600).keys()]);
  });

  it("stop() waits for PUBACKs, publishes a retained offline status and leaves nothing in flight", async () => {
    const topics = createTopics(`t${unique()}`);
    const source = new MemorySource();
    const p = publisher(source, { topics, gatewayId: "gw-stop" });
    const c = await collector(topics.gatewayStatus("gw-stop"));
    p.start();
    await new Promise((resolve) => p.once("announced", resolve));
    source.append(messagesFor("dev-a", 200, "stop-test"));
    p.notify();
    await p.stop();
    expect(p.state()).toMatchObject({ running: false, connected: false, inflight: 0 });
    expect(source.inflight.size).toBe(0);
    expect(source.acked.length + source.depth).toBe(200);
    await c.waitFor((ms) => ms.some((m) => m.payload.includes('"offline"')));
    const statuses = c.messages.map((m) => JSON.parse(m.payload) as { status: string; reason?: string });
    expect(statuses.at(-1)).toMatchObject({ status: "offline", reason: "shutdown" });
    // Not the Last Will: the clean DISCONNECT discards it.
    expect(statuses.some((s) => s.reason === "connection-lost")).toBe(false);
    const late = await collector(topics.gatewayStatus("gw-stop"));
    await late.waitFor((ms) => ms.length > 0);
    expect(late.messages[0]).toMatchObject({ retain: true });
    expect(JSON.parse(late.messages[0]!.payload)).toMatchObject({ status: "offline", reason: "shutdown" });
  });

  it("takes its messages from the real SQLite journal and deletes them only after PUBACK", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openherz-pub-journal-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const journal = Journal.open({
      path: join(dir, "journal.db"),
      maxMessages: 10_000,
      maxBytes: 10_000_000,
      maxAgeS: 86_400,
      commitIntervalMs: 5,
      commitMaxEntries: 64,
    });
    cleanup.push(() => journal.close());
    const c = await collector("journal-test/#");
    const p = publisher(journal);
    const latencies: number[] = [];
    p.on("ack", ({ latencyMs }) => latencies.push(latencyMs));
    p.start();
    for (let i = 0; i < 10; i++) {
      await journal.append({
        devEui: "70B3D57ED0061234",
        fcnt32: i,
        messages: messagesFor("70B3D57ED0061234", 5, "journal-test", i * 5).map((m, j) => ({
          ...m,
          id: `j-${i}-${j}`,
        })),
      });
      p.notify();
    }
    await waitForState(p, (s) => s.acked === 50);
    expect(journal.depth().messages).toBe(0);
    // Each PUBACK reports its PUBLISH → PUBACK time (the gateway's publish latency histogram).
    expect(latencies).toHaveLength(50);
    for (const ms of latencies) expect(ms).toBeGreaterThanOrEqual(0);
    for (const ms of latencies) expect(ms).toBeLessThan(10_000);
    await c.waitFor((ms) => ms.length >= 50);
    expect(firstArrivals(c.messages.map((m) => m.payload)).get("70B3D57ED0061234")).toEqual([
      ...Array(50).keys(),
    ]);
  });
});

describe.runIf(mosquittoAvailable())("broker refusals", () => {
  let aclBroker: TestBroker;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "openherz-acl-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "acl"), "topic readwrite allowed/#\ntopic readwrite openherz/#\ntopic read #\n");
    aclBroker = await startBroker({ config: [`acl_file ${join(dir, "acl")}`] });
  });
  afterAll(async () => {
    await aclBroker?.dispose();
  });

  it("drops and counts a message the broker refuses for good (PUBACK 0x87), and goes on", async () => {
    const source = new MemorySource();
    const c = await collector("allowed/#", aclBroker.url);
    source.append([
      { topic: "denied/x", payload: "{}", retain: false, qos: 1, deviceKey: "dev-a" },
      ...messagesFor("dev-a", 3, "allowed"),
    ]);
    const p = publisher(source, { url: aclBroker.url });
    p.start();
    await waitForState(p, (s) => s.acked + s.rejected === 4);
    expect(p.state()).toMatchObject({ acked: 3, rejected: 1, connected: true });
    expect(source.depth).toBe(0);
    await c.waitFor((ms) => ms.length === 3);
  });
});
