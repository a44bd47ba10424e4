// Reconnect behaviour against a real broker: a first connect that fails, the Last Will on a dead connection,
// re-announcing and re-subscribing after a broker restart, a broker outage mid-stream, MQTT 3.1.1 fallback.
import { randomBytes } from "node:crypto";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildDeviceMetadataMessage,
  createTopics,
  type DeviceInfo,
} from "../../../gateway/observations/index.ts";
import { backoffCeilingMs, MqttPublisher, type PublisherOptions } from "../../../gateway/publisher/index.ts";
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
  sensors: ["climate"],
  licence: "CC-BY-4.0",
};
const BACKOFF = { initialMs: 50, maxMs: 400 };

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function unique(): string {
  return randomBytes(4).toString("hex");
}

async function broker(options: Parameters<typeof startBroker>[0] = {}): Promise<TestBroker> {
  const b = await startBroker(options);
  cleanup.push(() => b.dispose());
  return b;
}

function publisher(
  source: MemorySource,
  options: Partial<PublisherOptions> & { url: string },
): MqttPublisher {
  const id = unique();
  const p = new MqttPublisher(source, {
    clientId: `gw-test-${id}`,
    gatewayId: `gw-${id}`,
    backoff: BACKOFF,
    stopTimeoutMs: 1000,
    ...options,
  });
  cleanup.push(() => p.stop(500));
  return p;
}

async function collector(
  url: string,
  filter: string,
  options: Parameters<typeof collect>[2] = {},
): Promise<Collector> {
  const c = await collect(url, filter, options);
  cleanup.push(() => c.close());
  return c;
}

describe("reconnect", () => {
  it.runIf(mosquittoAvailable())(
    "keeps retrying with jittered backoff when the very first connect fails, then delivers",
    async () => {
      const b = await broker({ persistence: true });
      // A persistent session survives the broker's stop/start, so nothing published meanwhile is missed.
      const c = await collector(b.url, "first/#", { clientId: `collector-${unique()}`, clean: false });
      await b.stop();

      const source = new MemorySource();
      source.append(messagesFor("dev-a", 10, "first"));
      const retries: Array<{ attempt: number; delayMs: number; error?: string }> = [];
      const p = publisher(source, { url: b.url });
      p.on("retry", (r) => retries.push(r));
      const started = performance.now();
      p.start();
      await waitForState(p, (s) => s.connectFailures >= 5, 10_000, "five failed attempts");
      const elapsed = performance.now() - started;
      expect(p.state()).toMatchObject({ connected: false, running: true, acked: 0 });
      expect(p.state().lastError).toMatch(/ECONNREFUSED/);
      // Exponential with full jitter: each delay within [initial/10, min(max, initial·2^attempt)].
      retries.forEach((r, i) => {
        expect(r.attempt).toBe(i);
        expect(r.delayMs).toBeGreaterThanOrEqual(BACKOFF.initialMs / 10);
        expect(r.delayMs).toBeLessThanOrEqual(backoffCeilingMs(i, BACKOFF));
      });
      // No spin: five attempts took at least the four floors between them.
      expect(elapsed).toBeGreaterThanOrEqual((4 * BACKOFF.initialMs) / 10);
      expect(p.state().connectFailures).toBeLessThan(50);

      await b.start();
      await waitForState(p, (s) => s.acked === 10, 10_000);
      expect(p.state()).toMatchObject({ connected: true, connects: 1 });
      await c.waitFor((ms) => ms.length >= 10);
      expect(firstArrivals(c.messages.map((m) => m.payload)).get("dev-a")).toEqual([...Array(10).keys()]);
    },
  );

  it("gives up on a broker that accepts TCP but never answers CONNECT, and keeps retrying", async () => {
    const silent = createServer(() => {}); // accepts and says nothing, like a wedged broker or middlebox
    const sockets = new Set<Socket>();
    silent.on("connection", (s) => sockets.add(s.on("close", () => sockets.delete(s))));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    cleanup.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const { port } = silent.address() as AddressInfo;
    const p = publisher(new MemorySource(), { url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 200 });
    p.start();
    await waitForState(p, (s) => s.connectFailures >= 2, 5000, "two timed-out attempts");
    expect(p.state()).toMatchObject({ connected: false, running: true });
    expect(p.state().lastError).toMatch(/timeout/i);
  });

  it("publishes the retained Last Will when the connection dies, and re-announces after reconnecting", async () => {
    const b = await broker();
    const proxy = await startProxy(b.port);
    cleanup.push(() => proxy.close());
    const topics = createTopics(`t${unique()}`);
    const metadata = buildDeviceMetadataMessage(DEVICE, topics);
    const statusTopic = topics.gatewayStatus("gw-lwt");
    let announced = 0;
    const p = publisher(new MemorySource(), {
      url: proxy.url,
      topics,
      gatewayId: "gw-lwt",
      announce: () => {
        announced++;
        return [metadata];
      },
    });
    const c = await collector(b.url, `${topics.prefix}/#`);
    p.start();
    await new Promise((resolve) => p.once("announced", resolve));

    proxy.block(); // the backhaul dies: no DISCONNECT reaches the broker, and reconnects fail
    await c.waitFor((ms) => ms.some((m) => m.topic === statusTopic && m.payload.includes('"offline"')));
    const late = await collector(b.url, statusTopic);
    await late.waitFor((ms) => ms.length > 0);
    expect(late.messages[0]!.retain).toBe(true);
    expect(JSON.parse(late.messages[0]!.payload)).toEqual({
      gatewayId: "gw-lwt",
      status: "offline",
      reason: "connection-lost",
    });
    await waitForState(p, (s) => !s.connected && s.connectFailures >= 1, 5000, "reconnect attempts");

    const metaBefore = c.messages.filter((m) => m.topic === metadata.topic).length;
    proxy.unblock();
    await waitForState(p, (s) => s.connected && s.reconnects === 1, 10_000, "reconnected");
    await c.waitFor((ms) => {
      const statuses = ms.filter((m) => m.topic === statusTopic);
      return statuses.at(-1)?.payload.includes('"online"') === true;
    });
    await c.waitFor((ms) => ms.filter((m) => m.topic === metadata.topic).length > metaBefore);
    expect(announced).toBe(2);
  });

  it("re-subscribes and re-announces after a broker restart that lost every session and retained message", async () => {
    const b = await broker(); // persistence off: the restarted broker knows nothing
    const topics = createTopics(`t${unique()}`);
    const metadata = buildDeviceMetadataMessage(DEVICE, topics);
    const commandTopic = `${topics.prefix}/v1/operator/gateways/gw-sub/command`;
    const commands: string[] = [];
    const p = publisher(new MemorySource(), {
      url: b.url,
      topics,
      gatewayId: "gw-sub",
      announce: () => [metadata],
      subscriptions: [{ topic: commandTopic }],
      onMessage: (_topic, payload) => commands.push(payload.toString()),
    });
    const subscribed = new Promise((resolve) => p.once("subscribed", resolve));
    p.start();
    await subscribed;

    const resubscribed = new Promise((resolve) => p.once("subscribed", resolve));
    await b.restart();
    await waitForState(p, (s) => s.connected && s.reconnects === 1, 10_000, "reconnected");
    await resubscribed;

    const late = await collector(b.url, `${topics.prefix}/#`);
    await late.waitFor(
      (ms) =>
        ms.some((m) => m.topic === metadata.topic) &&
        ms.some((m) => m.topic === topics.gatewayStatus("gw-sub")),
    );
    expect(late.messages.find((m) => m.topic === metadata.topic)).toMatchObject({
      retain: true,
      payload: metadata.payload,
    });
    await late.client.publishAsync(commandTopic, "ping", { qos: 1 });
    await waitForState(p, () => commands.includes("ping"), 5000, "command received");
  });

  it.runIf(mosquittoAvailable())(
    "loses nothing when the broker goes away mid-stream: in order per device, duplicates only identical",
    async () => {
      // Mosquitto queues at most 1,000 messages for an offline client by default: on a busy machine the
      // publisher resends more than that before the collector is back, and the broker would drop the rest.
      const b = await broker({ persistence: true, config: ["max_queued_messages 0"] });
      const c = await collector(b.url, "outage/#", { clientId: `collector-${unique()}`, clean: false });
      const source = new MemorySource();
      const devices = ["dev-a", "dev-b", "dev-c"];
      for (const d of devices) source.append(messagesFor(d, 300, "outage"));
      const p = publisher(source, { url: b.url, window: 16, perGroup: 4 });
      p.start();
      await waitForState(p, (s) => s.acked >= 200, 10_000, "stream running");
      await b.stop();
      await waitForState(p, (s) => !s.connected, 5000, "disconnected");
      // Fresh data keeps arriving during the outage.
      for (const d of devices) source.append(messagesFor(d, 100, "outage", 300));
      p.notify();
      await waitForState(p, (s) => s.connectFailures >= 1, 5000, "retrying");
      await b.start();

      await waitForState(p, (s) => s.acked === 1200, 15_000, "all acked");
      expect(source.depth).toBe(0);
      expect(new Set(source.acked).size).toBe(1200);
      await c.waitFor((ms) => new Set(ms.map((m) => m.payload)).size === 1200, 15_000);
      const arrivals = firstArrivals(c.messages.map((m) => m.payload));
      for (const d of devices) expect(arrivals.get(d)).toEqual([...Array(400).keys()]);
    },
  );
});

describe("protocol fallback", () => {
  it("falls back to MQTT 3.1.1 when the broker refuses MQTT 5 (aedes answers CONNACK 1)", async () => {
    const b = await broker({ kind: "aedes" });
    const c = await collector(b.url, "fallback/#", { protocolVersion: 4 });
    const source = new MemorySource();
    source.append(messagesFor("dev-a", 5, "fallback"));
    const p = publisher(source, { url: b.url });
    const fallback = new Promise((resolve) => p.once("fallback", resolve));
    p.start();
    expect(await fallback).toEqual({ from: 5, to: 4 });
    await waitForState(p, (s) => s.acked === 5, 10_000);
    expect(p.state()).toMatchObject({ connected: true, protocolVersion: 4, connects: 1, connectFailures: 1 });
    expect(p.state().lastError).toMatch(/protocol version/i);
    await c.waitFor((ms) => ms.length === 5);
  });

  it.runIf(mosquittoAvailable())("stays on MQTT 5 with a broker that speaks it", async () => {
    const b = await broker();
    const p = publisher(new MemorySource(), { url: b.url });
    p.start();
    await waitForState(p, (s) => s.connected);
    expect(p.state()).toMatchObject({ protocolVersion: 5, connectFailures: 0 });
  });
});
