import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import {
  encodePullAck,
  encodePushAck,
  parseDatagram,
  type RxpkJson,
  type SemtechPacket,
} from "../../../gateway/radio/semtech-udp-codec.ts";
import { FrameOrder } from "../../../tools/sim/frame-order.ts";
import { PacketForwarder } from "../../../tools/sim/packet-forwarder.ts";
import { concentratorTmst, isoMicros, rxpkOf, statTime } from "../../../tools/sim/rxpk.ts";

describe("rxpk of a simulated reception", () => {
  it("tmst wraps at 2^32 µs; time and tmms are the virtual end of reception", () => {
    expect(concentratorTmst(0, 5)).toBe(5);
    expect(concentratorTmst(4_294_967.296, 0)).toBe(0);
    expect(concentratorTmst(4_294_967.297, 10)).toBe(11); // 4 294 967 297 µs wrapped: 1 µs, + offset
    expect(isoMicros(Date.UTC(2026, 5, 1, 10, 15, 2, 412) + 0.345)).toBe("2026-06-01T10:15:02.412345Z");
    expect(statTime(Date.UTC(2026, 5, 1, 10, 15, 2, 412))).toBe("2026-06-01 10:15:02 GMT");

    const endMs = Date.UTC(2026, 5, 1, 10, 15, 2, 412) + 0.5;
    const rxpk = rxpkOf(
      {
        phyPayload: Uint8Array.of(0x40, 1, 2, 3, 4, 0, 0, 0, 1, 9, 9, 9, 9, 9),
        endMs,
        freqMhz: 867.3,
        channel: 4,
        sf: 9,
        bwKhz: 125,
        rssiDbm: -101.4,
        snrDb: 3.26,
      },
      123,
    );
    expect(rxpk).toMatchObject({
      datr: "SF9BW125",
      freq: 867.3,
      chan: 4,
      rfch: 1,
      rssi: -101,
      lsnr: 3.3,
      stat: 1,
      size: 14,
    });
    // What the gateway reads back: GPS time (leap seconds applied) and the time string, to the ms.
    const datagram = new Uint8Array([
      2,
      0,
      1,
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      ...Buffer.from(JSON.stringify({ rxpk: [rxpk] })),
    ]);
    const parsed = parseDatagram(datagram);
    expect(parsed.ok).toBe(true);
    const packet = (parsed as { packet: Extract<SemtechPacket, { type: "push_data" }> }).packet;
    expect(packet.rxpk[0]!.gpsTimeMs).toBe(Math.floor(endMs));
    expect(packet.rxpk[0]!.timeMs).toBe(Math.floor(endMs));
  });
});

/** A gateway-side UDP socket that records datagrams and acknowledges when told. */
class FakeGateway {
  readonly received: Array<{ packet: SemtechPacket; port: number }> = [];
  autoAck = true;
  private constructor(readonly socket: Socket) {
    socket.on("message", (msg, remote) => {
      const r = parseDatagram(msg);
      if (!r.ok) return;
      this.received.push({ packet: r.packet, port: remote.port });
      if (r.packet.type === "pull_data")
        socket.send(encodePullAck(r.packet.token), remote.port, remote.address);
      if (r.packet.type === "push_data" && (this.autoAck || r.packet.rxpk.length === 0)) {
        socket.send(encodePushAck(r.packet.token), remote.port, remote.address);
      }
    });
  }
  static async open(): Promise<FakeGateway> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return new FakeGateway(socket);
  }
  get port(): number {
    return this.socket.address().port;
  }
  pushes() {
    return this.received.flatMap((r) =>
      r.packet.type === "push_data" && r.packet.rxpk.length > 0 ? [r] : [],
    );
  }
  ack(token: number, port: number): void {
    this.socket.send(encodePushAck(token), port, "127.0.0.1");
  }
}

const rx = (n: number): RxpkJson => ({ data: Buffer.from([n]).toString("base64"), size: 1, stat: 1 });
const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("PacketForwarder", () => {
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  async function setup(options: Partial<Parameters<typeof PacketForwarder.open>[0]> = {}) {
    const gw = await FakeGateway.open();
    open.push({ close: () => gw.socket.close() });
    const fwd = await PacketForwarder.open({
      id: "site-1",
      gatewayEui: "5EEDFFFE00000001",
      target: { host: "127.0.0.1", port: gw.port },
      location: { lat: 52.37, lon: 9.73, altM: 30 },
      virtualNow: () => Date.UTC(2026, 5, 1),
      ...options,
    });
    open.push(fwd);
    return { gw, fwd };
  }

  it("announces itself with PULL_DATA and a stat, batches rxpk, and keeps at most `window` unacknowledged", async () => {
    const { gw, fwd } = await setup({ window: 2, maxRxpkPerDatagram: 3 });
    gw.autoAck = false;
    for (let i = 0; i < 10; i++) fwd.enqueue(rx(i));
    await until(() => gw.pushes().length === 2);
    await new Promise((r) => setTimeout(r, 30));
    expect(gw.pushes()).toHaveLength(2); // the window is full
    expect(fwd.backlog()).toBe(10);
    // Sent at once while the window had room; the rest waits and goes in batches.
    const sizes = () => gw.pushes().map((p) => (p.packet as { rxpk: unknown[] }).rxpk.length);
    expect(sizes()).toEqual([1, 1]);
    const drained = fwd.whenBacklogAtMost(4);
    for (const p of gw.pushes()) gw.ack(p.packet.token, p.port);
    await until(() => gw.pushes().length === 4);
    expect(sizes()).toEqual([1, 1, 3, 3]);
    for (const p of gw.pushes().slice(2)) gw.ack(p.packet.token, p.port);
    await drained;
    await until(() => gw.pushes().length === 5);
    expect(sizes()).toEqual([1, 1, 3, 3, 2]);
    const types = gw.received.map((r) => r.packet.type);
    expect(types[0]).toBe("pull_data");
    const stat = gw.received.find((r) => r.packet.type === "push_data" && r.packet.stat !== undefined);
    expect(stat).toBeDefined();
    expect((stat!.packet as { stat?: { timeMs?: number } }).stat?.timeMs).toBe(Date.UTC(2026, 5, 1));
    await until(() => fwd.stats().pullAcks === 1);
  });

  it("frees a slot after the ACK timeout without resending", async () => {
    const { gw, fwd } = await setup({ window: 1, ackTimeoutMs: 50 });
    gw.autoAck = false;
    fwd.enqueue(rx(1));
    fwd.enqueue(rx(2));
    await until(() => gw.pushes().length === 1);
    await until(() => gw.pushes().length === 2, 1000);
    await until(() => fwd.stats().ackTimeouts === 2, 1000);
    expect(fwd.backlog()).toBe(0);
    const payloads = gw
      .pushes()
      .map((p) => [...(p.packet as { rxpk: Array<{ phyPayload: Uint8Array }> }).rxpk[0]!.phyPayload]);
    expect(payloads).toEqual([[1], [2]]);
  });

  it("restart: a new source port, announced with PULL_DATA", async () => {
    const { gw, fwd } = await setup();
    await until(() => gw.received.some((r) => r.packet.type === "pull_data"));
    const before = fwd.stats().port;
    await fwd.restart();
    expect(fwd.stats().port).not.toBe(before);
    fwd.enqueue(rx(7));
    await until(() => gw.pushes().length === 1);
    expect(gw.pushes()[0]!.port).toBe(fwd.stats().port);
    await until(() => gw.received.filter((r) => r.packet.type === "pull_data").length === 2);
    await until(() => fwd.backlog() === 0);
  });

  it("with a FrameOrder, a node's later frame waits until its earlier one is settled at every site", async () => {
    const order = new FrameOrder();
    const a = await setup({ order, window: 4 });
    const b = await setup({ order, window: 4 });
    a.gw.autoAck = false;
    const k = order.add("node", 0, 1);
    const k1 = order.add("node", 1, 1);
    a.fwd.enqueue(rx(0), k);
    b.fwd.enqueue(rx(1), k1); // heard only by the idle site
    await until(() => a.gw.pushes().length === 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(b.gw.pushes()).toHaveLength(0);
    const first = a.gw.pushes()[0]!;
    a.gw.ack(first.packet.token, first.port);
    await until(() => b.gw.pushes().length === 1);
  });
});

describe("FrameOrder", () => {
  it("releases a node's frames in order; other nodes are independent", () => {
    const order = new FrameOrder();
    let releases = 0;
    order.onRelease(() => releases++);
    const a0 = order.add("a", 0, 2);
    const a1 = order.add("a", 1, 1);
    const b0 = order.add("b", 0, 1);
    expect([order.ready(a0), order.ready(a1), order.ready(b0)]).toEqual([true, false, true]);
    order.settle(a0);
    expect(order.ready(a1)).toBe(false);
    order.settle(a0);
    expect(order.ready(a1)).toBe(true);
    expect(releases).toBe(1);
    expect(order.ready(order.add("c", 5, 0))).toBe(true);
  });
});
