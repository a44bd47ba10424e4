// The packet-forwarder server over real UDP sockets on the loopback interface.
//
// "Not sent yet" is shown with a barrier instead of a sleep: the test sends a PULL_DATA from the same
// client socket and waits for its PULL_ACK. The server answers datagrams in arrival order and would have
// sent a due PUSH_ACK before handling the next datagram, and loopback delivers in order, so an inbox
// holding the PULL_ACK but no PUSH_ACK proves the PUSH_ACK was held back.

import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import {
  encodePullData,
  encodePushAck,
  encodePushData,
  PULL_ACK,
  PUSH_ACK,
  type PushDataJson,
  rxpkFor,
} from "../../../gateway/radio/semtech-udp-codec.ts";
import { UdpForwarder, type UdpForwarderOptions } from "../../../gateway/radio/udp-forwarder.ts";
import type { DropContext, DropReason, RadioFrame } from "../../../gateway/types.ts";
import { type Deferred, deferred, Inbox, Signal } from "./helpers.ts";

const EUI = "aa555a0000000101";
const NOW = 1_760_000_000_000;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  server: UdpForwarder;
  client: Socket;
  inbox: Inbox;
  frames: Array<{ frame: RadioFrame; done: Deferred }>;
  drops: Array<{ reason: DropReason; detail: string; context: DropContext }>;
  stats: Array<[string, unknown, string]>;
  signal: Signal;
  send(bytes: Uint8Array): Promise<void>;
  barrier(token: number): Promise<void>;
  acksFor(token: number): number;
}

async function harness(
  options: Partial<UdpForwarderOptions> = {},
  onFrame?: (frame: RadioFrame) => Promise<void>,
): Promise<Harness> {
  const signal = new Signal();
  const frames: Harness["frames"] = [];
  const drops: Harness["drops"] = [];
  const stats: Harness["stats"] = [];
  const server = new UdpForwarder(
    { host: "127.0.0.1", port: 0, now: () => NOW, ...options },
    {
      onFrame:
        onFrame ??
        ((frame) => {
          const done = deferred();
          frames.push({ frame, done });
          signal.notify();
          return done.promise;
        }),
      onDrop: (reason, detail, context) => {
        drops.push({ reason, detail, context });
        signal.notify();
      },
      onStat: (eui, stat, remote) => {
        stats.push([eui, stat, remote]);
        signal.notify();
      },
    },
  );
  await server.start();
  cleanups.push(() => server.stop());
  const client = createSocket("udp4");
  await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => client.close(() => resolve())));
  const inbox = new Inbox(client);
  const { port } = server.address();
  const send = (bytes: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      client.send(bytes, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
    );
  const isAck = (id: number, token: number) => (b: Uint8Array) =>
    b.length === 4 && b[3] === id && ((b[1]! << 8) | b[2]!) === token;
  return {
    server,
    client,
    inbox,
    frames,
    drops,
    stats,
    signal,
    send,
    async barrier(token: number) {
      const from = inbox.messages.length;
      await send(encodePullData(token, EUI));
      await inbox.next(isAck(PULL_ACK, token), from, `PULL_ACK ${token}`);
    },
    acksFor: (token) => inbox.messages.filter((m) => isAck(PUSH_ACK, token)(m.bytes)).length,
  };
}

const phy = (n: number, len = 16) => Uint8Array.from({ length: len }, (_, i) => (n + i) & 0xff);

function push(token: number, json: PushDataJson, version: 1 | 2 = 2, eui = EUI) {
  return encodePushData(token, eui, json, version);
}

describe("PUSH_DATA → PUSH_ACK only after every frame is durable", () => {
  it("holds the ACK until all onFrame promises resolve, then echoes token and version", async () => {
    const h = await harness();
    await h.send(push(0x1001, { rxpk: [rxpkFor(phy(1)), rxpkFor(phy(2)), rxpkFor(phy(3))] }, 1));
    await h.signal.until(() => h.frames.length === 3, "3 frames handed over");
    // Handed over in datagram order before any was awaited.
    expect(h.frames.map((f) => f.frame.phyPayload[0])).toEqual([1, 2, 3]);

    await h.barrier(1);
    expect(h.acksFor(0x1001)).toBe(0);

    h.frames[0]!.done.resolve();
    h.frames[2]!.done.resolve();
    await h.barrier(2);
    expect(h.acksFor(0x1001)).toBe(0);

    h.frames[1]!.done.resolve();
    const ack = await h.inbox.next((b) => b[3] === PUSH_ACK, 0, "PUSH_ACK");
    expect([...ack]).toEqual([...encodePushAck(0x1001, 1)]);
    expect(h.server.forwarders()[0]).toMatchObject({
      pushData: 1,
      frames: 3,
      pushAcks: 1,
      protocolVersion: 2,
    });
    expect(h.server.pendingDatagrams()).toBe(0);
  });

  it("never ACKs a datagram whose frame could not be made durable", async () => {
    const h = await harness();
    await h.send(push(0x2002, { rxpk: [rxpkFor(phy(1)), rxpkFor(phy(2))] }));
    await h.signal.until(() => h.frames.length === 2);
    h.frames[0]!.done.resolve();
    h.frames[1]!.done.reject(new Error("disk full"));
    await h.signal.until(() => h.drops.length === 1);
    await h.barrier(3);
    expect(h.acksFor(0x2002)).toBe(0);
    expect(h.drops[0]).toMatchObject({
      reason: "frame_handler_failed",
      detail: "disk full",
      context: { source: "udp", sourceId: EUI },
    });
    expect(h.server.forwarders()[0]).toMatchObject({ frames: 2, framesDropped: 1, pushAcks: 0 });
  });

  it("a throwing onFrame counts as a failure and the server carries on", async () => {
    let calls = 0;
    const h = await harness({}, () => {
      calls++;
      if (calls === 1) throw new Error("sync boom");
      return Promise.resolve();
    });
    await h.send(push(1, { rxpk: [rxpkFor(phy(1))] }));
    await h.send(push(2, { rxpk: [rxpkFor(phy(2))] }));
    await h.inbox.next((b) => b[3] === PUSH_ACK && b[2] === 2);
    expect(h.acksFor(1)).toBe(0);
    expect(h.drops.map((d) => d.reason)).toEqual(["frame_handler_failed"]);
  });

  it("stat-only and all-rejected datagrams are acknowledged at once", async () => {
    const h = await harness();
    await h.send(push(0x3003, { stat: { time: "2024-05-01 10:00:00 GMT", rxnb: 5, rxok: 4, ackr: 100 } }));
    await h.inbox.next((b) => b[3] === PUSH_ACK && b[2] === 0x03);
    expect(h.stats).toEqual([
      [
        EUI,
        { time: "2024-05-01 10:00:00 GMT", timeMs: Date.UTC(2024, 4, 1, 10), rxnb: 5, rxok: 4, ackr: 100 },
        expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      ],
    ]);
    expect(h.server.forwarders()[0]).toMatchObject({ lastStat: { rxnb: 5 }, lastStatMs: NOW });

    await h.send(push(0x3004, { rxpk: [{ ...rxpkFor(phy(1)), stat: -1 }] }));
    await h.inbox.next((b) => b[3] === PUSH_ACK && b[2] === 0x04);
    expect(h.drops.map((d) => d.reason)).toEqual(["udp_crc_bad"]);
    expect(h.frames).toEqual([]);
  });
});

describe("frames", () => {
  it("carry the payload, radio metadata, GPS time from tmms and the gateway EUI", async () => {
    const h = await harness();
    const gps = 1388102418000; // 2024-01-01T00:00:00Z
    await h.send(
      push(5, {
        rxpk: [
          rxpkFor(phy(9, 23), {
            tmms: gps,
            tmst: 4294967000,
            time: "2024-01-01T00:00:00.000000Z",
            freq: 868.3,
            chan: 1,
            rfch: 0,
            datr: "SF9BW125",
            codr: "4/5",
            rssi: -103,
            lsnr: -4.5,
            unknownField: { nested: true },
          }),
        ],
      }),
    );
    await h.signal.until(() => h.frames.length === 1);
    expect(h.frames[0]!.frame).toEqual({
      phyPayload: phy(9, 23),
      receivedAtMs: NOW,
      gpsTimeMs: Date.UTC(2024, 0, 1),
      source: { kind: "udp", id: EUI },
      radio: {
        rssi: -103,
        snr: -4.5,
        frequencyMhz: 868.3,
        dataRate: "SF9BW125",
        channel: 1,
        tmst: 4294967000,
      },
    });
  });

  it("uses rxpk time as GPS time only when configured to trust it", async () => {
    const json = { rxpk: [rxpkFor(phy(1), { time: "2024-02-03T04:05:06Z" })] };
    const plain = await harness();
    await plain.send(push(1, json));
    await plain.signal.until(() => plain.frames.length === 1);
    expect(plain.frames[0]!.frame.gpsTimeMs).toBeUndefined();

    const trusting = await harness({ trustForwarderTime: true });
    await trusting.send(push(1, json));
    await trusting.signal.until(() => trusting.frames.length === 1);
    expect(trusting.frames[0]!.frame.gpsTimeMs).toBe(Date.UTC(2024, 1, 3, 4, 5, 6));
  });
});

describe("PULL_DATA", () => {
  it("is answered at once with PULL_ACK (same version, token) and remembered as the downlink route", async () => {
    const h = await harness();
    await h.send(encodePullData(0xbeef, EUI, 1));
    const ack = await h.inbox.next((b) => b[3] === PULL_ACK);
    expect([...ack]).toEqual([1, 0xbe, 0xef, PULL_ACK]);
    const route = h.server.downlinkRoute(EUI.toUpperCase());
    expect(route).toEqual({ address: "127.0.0.1", port: h.client.address().port, version: 1 });
    expect(h.server.forwarders()[0]).toMatchObject({ pullData: 1, lastPullDataMs: NOW });
    expect(h.server.downlinkRoute("0000000000000000")).toBeUndefined();
  });
});

describe("bad input", () => {
  it("each kind is counted by reason, answered by nothing, and the next good datagram still flows", async () => {
    const h = await harness({ maxDatagramBytes: 2048 });
    const header = [2, 0, 7, 0, 0xaa, 0x55, 0x5a, 0, 0, 0, 1, 1];
    const bad: Array<[DropReason, Uint8Array]> = [
      ["udp_too_short", Uint8Array.of(2, 0)],
      ["udp_too_short", Uint8Array.of(2, 0, 1, 2, 0xaa)],
      ["udp_unknown_version", Uint8Array.of(9, 0, 7, 0, ...header.slice(4))],
      ["udp_unknown_identifier", Uint8Array.of(2, 0, 7, 0x42)],
      ["udp_unexpected_packet", encodePushAck(7)],
      ["udp_bad_json", Uint8Array.from([...header, ...Buffer.from('{"rxpk":[')])],
      ["udp_malformed", Uint8Array.from([...header, ...Buffer.from('"text"')])],
      ["udp_too_large", new Uint8Array(4096)],
      ["udp_bad_base64", push(7, { rxpk: [{ data: "@@@@", size: 3 }] })],
      ["udp_size_mismatch", push(7, { rxpk: [{ data: "AQID", size: 9 }] })],
    ];
    for (const [, bytes] of bad) await h.send(bytes);
    // Pseudo-random junk too (never starting with a valid version byte, so none of it gets an answer).
    for (let i = 0; i < 50; i++) {
      await h.send(
        Uint8Array.from({ length: 1 + ((i * 37) % 300) }, (_, j) =>
          j === 0 ? 3 + i : (i * 31 + j * 7) & 0xff,
        ),
      );
    }
    await h.send(push(0x4004, { rxpk: [rxpkFor(phy(4))] }));
    await h.signal.until(() => h.frames.length === 1, "good frame after bad input");
    h.frames[0]!.done.resolve();
    await h.inbox.next((b) => b[3] === PUSH_ACK && b[1] === 0x40);
    const reasons = h.drops.map((d) => d.reason);
    for (const [reason] of bad) expect(reasons).toContain(reason);
    // bad base64 and size mismatch are rxpk-level: their datagrams are still acknowledged (token 7).
    expect(h.inbox.messages.every((m) => m.bytes[3] === PUSH_ACK)).toBe(true);
    expect(h.drops.find((d) => d.reason === "udp_bad_json")?.context).toMatchObject({
      source: "udp",
      sourceId: EUI,
      remote: expect.stringMatching(/^127\.0\.0\.1:/),
    });
  });

  it("a throwing onDrop does not break the server", async () => {
    const server = new UdpForwarder(
      { host: "127.0.0.1", port: 0 },
      {
        onFrame: () => Promise.resolve(),
        onDrop: () => {
          throw new Error("metrics broke");
        },
      },
    );
    await server.start();
    cleanups.push(() => server.stop());
    const client = createSocket("udp4");
    await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => client.close(() => resolve())));
    const inbox = new Inbox(client);
    client.send(Uint8Array.of(0), server.address().port, "127.0.0.1");
    client.send(push(0x0909, { rxpk: [rxpkFor(phy(1))] }), server.address().port, "127.0.0.1");
    expect([...(await inbox.next((b) => b[3] === PUSH_ACK))]).toEqual([2, 9, 9, 1]);
  });
});

describe("allow-lists and bounds", () => {
  it("drops unknown gateway EUIs and source addresses without answering", async () => {
    const h = await harness({ allowedGatewayEuis: ["AA-55-5A-00-00-00-01-01"] });
    await h.send(push(0x11, { rxpk: [rxpkFor(phy(1))] }, 2, "0000000000000bad"));
    await h.send(encodePullData(0x12, "0000000000000bad"));
    await h.barrier(0x13);
    expect(h.drops.map((d) => d.reason)).toEqual(["udp_unknown_gateway", "udp_unknown_gateway"]);
    expect(h.inbox.messages).toHaveLength(1);
    expect(h.server.forwarders().map((f) => f.gatewayEui)).toEqual([EUI]);

    const strict = await harness({ allowedSources: ["10.9.8.7"] });
    await strict.send(encodePullData(1, EUI));
    await strict.signal.until(() => strict.drops.length === 1);
    expect(strict.drops[0]).toMatchObject({ reason: "udp_unknown_source" });
    expect(strict.server.forwarders()).toEqual([]);
  });

  it("tracks at most maxForwarders, evicting the least recently seen", async () => {
    const h = await harness({ maxForwarders: 2 });
    for (const eui of ["0000000000000001", "0000000000000002", "0000000000000001", "0000000000000003"]) {
      const from = h.inbox.messages.length;
      await h.send(encodePullData(1, eui));
      await h.inbox.next((b) => b[3] === PULL_ACK, from);
    }
    expect(h.server.forwarders().map((f) => f.gatewayEui)).toEqual(["0000000000000001", "0000000000000003"]);
  });

  it("drops frames beyond maxPendingDatagrams while the journal is stalled", async () => {
    const h = await harness({ maxPendingDatagrams: 1 });
    await h.send(push(0x21, { rxpk: [rxpkFor(phy(1))] }));
    await h.signal.until(() => h.frames.length === 1);
    await h.send(push(0x22, { rxpk: [rxpkFor(phy(2)), rxpkFor(phy(3))] }));
    await h.signal.until(() => h.drops.length === 1);
    expect(h.drops[0]).toMatchObject({ reason: "udp_overloaded" });
    h.frames[0]!.done.resolve();
    await h.inbox.next((b) => b[3] === PUSH_ACK && b[2] === 0x21);
    await h.barrier(9);
    expect(h.acksFor(0x22)).toBe(0);
    expect(h.frames).toHaveLength(1);
  });

  it("start() rejects when the port is taken; stop() is idempotent", async () => {
    const h = await harness();
    const other = new UdpForwarder(
      { host: "127.0.0.1", port: h.server.address().port },
      { onFrame: () => Promise.resolve(), onDrop: () => {} },
    );
    await expect(other.start()).rejects.toThrow(/EADDRINUSE/);
    await other.stop();
    await h.server.stop();
    await h.server.stop();
  });
});
