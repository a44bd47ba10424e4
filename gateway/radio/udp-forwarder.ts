// Semtech UDP packet-forwarder server (node:dgram): RadioSource for concentrator gateways.
//
// Acknowledgement rule. PROTOCOL.TXT has the server acknowledge each PUSH_DATA "immediately"; this server
// sends PUSH_ACK only once every frame of the datagram has been handed to onFrame AND every one of those
// onFrame promises has resolved — the journal resolves them when the frame is durable. A datagram whose
// frames cannot all be made durable is not acknowledged. Forwarders do not retransmit (the ACK only feeds
// their `ackr` statistic), so a missing or late ACK never duplicates data; it makes storage trouble
// visible on the forwarder side instead of hiding it. Datagrams with no frame to keep (stat only, only
// rejected rxpk) are acknowledged at once. Datagrams that fail to parse, or come from senders outside the
// allow-lists, get no answer.
//
// PULL_DATA is answered with PULL_ACK at once and its source address is kept as the forwarder's downlink
// route. Per-forwarder health (last seen, last stat, counters) is kept for at most `maxForwarders`
// gateways, least recently seen evicted first.
//
// Isolation: the socket handler never throws, each datagram is handled on its own, and callbacks are
// guarded, so one bad datagram or one faulty callback cannot affect the next.

import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIP } from "node:net";
import type {
  DropContext,
  DropReason,
  Logger,
  RadioFrame,
  RadioSource,
  RadioSourceCallbacks,
} from "../types.ts";
import {
  encodePullAck,
  encodePushAck,
  type GatewayStat,
  normalizeEui,
  type ProtocolVersion,
  parseDatagram,
  type Rxpk,
} from "./semtech-udp-codec.ts";

export interface UdpForwarderOptions {
  /** Default "0.0.0.0"; an IPv6 address binds an IPv6 socket. */
  host?: string;
  /** Default 1700; 0 picks a free port (tests). */
  port?: number;
  /** Larger datagrams are dropped (udp_too_large). Default 65 507, the IPv4 UDP maximum. */
  maxDatagramBytes?: number;
  /** When set, PUSH_DATA/PULL_DATA from other gateway EUIs is dropped (udp_unknown_gateway). */
  allowedGatewayEuis?: readonly string[];
  /** When set, datagrams from other source IP addresses are dropped (udp_unknown_source). */
  allowedSources?: readonly string[];
  /** Forwarders tracked for health and downlink routes. Default 1000. */
  maxForwarders?: number;
  /** PUSH_DATA datagrams waiting for their frames to become durable; beyond it udp_overloaded. Default 1000. */
  maxPendingDatagrams?: number;
  /**
   * Use the rxpk `time` as gpsTimeMs when `tmms` is absent. Off by default: some forwarders fill `time`
   * from the host clock, which on a Pi without RTC can be anything.
   */
  trustForwarderTime?: boolean;
  name?: string;
  logger?: Logger;
  /** For tests. */
  now?: () => number;
}

export interface UdpForwarderCallbacks extends RadioSourceCallbacks {
  onStat?(gatewayEui: string, stat: GatewayStat, remote: string): void;
}

export interface ForwarderHealth {
  gatewayEui: string;
  protocolVersion: ProtocolVersion;
  /** "address:port" of the last datagram. */
  remote: string;
  firstSeenMs: number;
  lastSeenMs: number;
  lastPushDataMs?: number;
  lastPullDataMs?: number;
  lastStat?: GatewayStat;
  lastStatMs?: number;
  /** Where PULL_DATA came from: the route for downlinks (PULL_RESP). */
  pullRoute?: { address: string; port: number };
  pushData: number;
  pullData: number;
  txAck: number;
  /** Frames handed to onFrame. */
  frames: number;
  /** rxpk dropped (CRC, base64, size, overload, handler failure). */
  framesDropped: number;
  pushAcks: number;
}

const MAX_UDP_PAYLOAD = 65_507;

export class UdpForwarder implements RadioSource {
  readonly name: string;
  private socket: Socket | undefined;
  private readonly health = new Map<string, ForwarderHealth>();
  private readonly allowedEuis: Set<string> | undefined;
  private readonly allowedSources: Set<string> | undefined;
  private readonly maxDatagramBytes: number;
  private readonly maxForwarders: number;
  private readonly maxPending: number;
  private readonly now: () => number;
  private pending = 0;

  constructor(
    private readonly options: UdpForwarderOptions,
    private readonly callbacks: UdpForwarderCallbacks,
  ) {
    this.name = options.name ?? "udp-forwarder";
    this.maxDatagramBytes = Math.min(options.maxDatagramBytes ?? MAX_UDP_PAYLOAD, MAX_UDP_PAYLOAD);
    this.maxForwarders = options.maxForwarders ?? 1000;
    this.maxPending = options.maxPendingDatagrams ?? 1000;
    this.now = options.now ?? Date.now;
    if (options.allowedGatewayEuis) {
      this.allowedEuis = new Set(
        options.allowedGatewayEuis.map((e) => {
          const n = normalizeEui(e);
          if (!n) throw new Error(`allowedGatewayEuis: ${JSON.stringify(e)} is not a 64-bit EUI`);
          return n;
        }),
      );
    }
    if (options.allowedSources) {
      this.allowedSources = new Set(
        options.allowedSources.map((a) => {
          if (!isIP(a)) throw new Error(`allowedSources: ${JSON.stringify(a)} is not an IP address`);
          return normalizeAddress(a);
        }),
      );
    }
  }

  /** Binds the socket; rejects when the address cannot be bound (startup fails fast). */
  start(): Promise<void> {
    if (this.socket) return Promise.resolve();
    const host = this.options.host ?? "0.0.0.0";
    const socket = createSocket({ type: isIP(host) === 6 ? "udp6" : "udp4" });
    this.socket = socket;
    socket.on("message", (msg, rinfo) => {
      try {
        this.handle(msg, rinfo);
      } catch (err) {
        this.options.logger?.error({ err, remote: remoteOf(rinfo) }, "udp datagram handler failed");
      }
    });
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        this.socket = undefined;
        socket.close();
        reject(err);
      };
      socket.once("error", onError);
      socket.bind(this.options.port ?? 1700, host, () => {
        socket.off("error", onError);
        // After binding, socket errors (e.g. ICMP-triggered send errors) are logged, never fatal.
        socket.on("error", (err) => this.options.logger?.warn({ err }, "udp socket error"));
        this.options.logger?.info({ address: socket.address() }, "packet-forwarder server listening");
        resolve();
      });
    });
  }

  stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return Promise.resolve();
    return new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** The bound address (port 0 in options resolves to the real port here). */
  address(): { address: string; port: number } {
    if (!this.socket) throw new Error("udp forwarder not started");
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Snapshot of per-forwarder health, most recently seen last. */
  forwarders(): ForwarderHealth[] {
    return [...this.health.values()].map((h) => ({
      ...h,
      ...(h.pullRoute && { pullRoute: { ...h.pullRoute } }),
      ...(h.lastStat && { lastStat: { ...h.lastStat } }),
    }));
  }

  /** Where to send a PULL_RESP for this gateway, if it has polled. */
  downlinkRoute(gatewayEui: string): { address: string; port: number; version: ProtocolVersion } | undefined {
    const eui = normalizeEui(gatewayEui);
    const h = eui === undefined ? undefined : this.health.get(eui);
    return h?.pullRoute ? { ...h.pullRoute, version: h.protocolVersion } : undefined;
  }

  /** PUSH_DATA datagrams whose frames are not yet all durable. */
  pendingDatagrams(): number {
    return this.pending;
  }

  private handle(msg: Buffer, rinfo: RemoteInfo): void {
    const remote = remoteOf(rinfo);
    const ctx: DropContext = { source: "udp", remote };
    if (this.allowedSources && !this.allowedSources.has(normalizeAddress(rinfo.address))) {
      this.drop("udp_unknown_source", `source ${rinfo.address} not in allowedSources`, ctx);
      return;
    }
    if (msg.length > this.maxDatagramBytes) {
      this.drop("udp_too_large", `${msg.length} bytes > ${this.maxDatagramBytes}`, ctx);
      return;
    }
    const parsed = parseDatagram(msg);
    if (!parsed.ok) {
      this.drop(
        parsed.reason,
        parsed.detail,
        parsed.gatewayEui ? { ...ctx, sourceId: parsed.gatewayEui } : ctx,
      );
      return;
    }
    const packet = parsed.packet;
    if (packet.type !== "push_data" && packet.type !== "pull_data" && packet.type !== "tx_ack") {
      this.drop("udp_unexpected_packet", `${packet.type} is sent by servers, not forwarders`, ctx);
      return;
    }
    const eui = packet.gatewayEui;
    ctx.sourceId = eui;
    if (this.allowedEuis && !this.allowedEuis.has(eui)) {
      this.drop("udp_unknown_gateway", `gateway ${eui} not in allowedGatewayEuis`, ctx);
      return;
    }
    const now = this.now();
    const h = this.touch(eui, packet.version, remote, now);
    switch (packet.type) {
      case "pull_data":
        h.pullData++;
        h.lastPullDataMs = now;
        h.pullRoute = { address: rinfo.address, port: rinfo.port };
        this.send(encodePullAck(packet.token, packet.version), rinfo);
        return;
      case "tx_ack":
        h.txAck++;
        return;
      case "push_data":
        h.pushData++;
        h.lastPushDataMs = now;
        break;
    }
    for (const r of packet.rejected) {
      h.framesDropped++;
      this.drop(r.reason, r.detail, ctx);
    }
    if (packet.stat) {
      h.lastStat = packet.stat;
      h.lastStatMs = now;
      this.guard("onStat", () => this.callbacks.onStat?.(eui, packet.stat!, remote));
    }
    const ack = () => {
      if (this.send(encodePushAck(packet.token, packet.version), rinfo)) h.pushAcks++;
    };
    if (packet.rxpk.length === 0) {
      ack();
      return;
    }
    if (this.pending >= this.maxPending) {
      h.framesDropped += packet.rxpk.length;
      this.drop(
        "udp_overloaded",
        `${packet.rxpk.length} frames: ${this.pending} datagrams awaiting the journal`,
        ctx,
      );
      return;
    }
    // Hand every frame over before awaiting any, in datagram order, so the journal can commit them in one
    // batch.
    const promises = packet.rxpk.map((rx) => {
      h.frames++;
      return this.handOver(this.toFrame(rx, eui, now));
    });
    this.pending++;
    void Promise.allSettled(promises).then((results) => {
      this.pending--;
      let failed = 0;
      for (const r of results) {
        if (r.status === "rejected") {
          failed++;
          this.drop("frame_handler_failed", errorText(r.reason), ctx);
        }
      }
      h.framesDropped += failed;
      if (failed === 0) ack();
    });
  }

  private toFrame(rx: Rxpk, eui: string, now: number): RadioFrame {
    const radio: RadioFrame["radio"] = {};
    if (rx.rssi !== undefined) radio.rssi = rx.rssi;
    if (rx.snr !== undefined) radio.snr = rx.snr;
    if (rx.frequencyMhz !== undefined) radio.frequencyMhz = rx.frequencyMhz;
    if (rx.dataRate !== undefined) radio.dataRate = rx.dataRate;
    if (rx.channel !== undefined) radio.channel = rx.channel;
    if (rx.tmst !== undefined) radio.tmst = rx.tmst;
    const frame: RadioFrame = {
      phyPayload: rx.phyPayload,
      receivedAtMs: now,
      source: { kind: "udp", id: eui },
      radio,
    };
    const gps = rx.gpsTimeMs ?? (this.options.trustForwarderTime ? rx.timeMs : undefined);
    if (gps !== undefined) frame.gpsTimeMs = gps;
    return frame;
  }

  private handOver(frame: RadioFrame): Promise<void> {
    try {
      return Promise.resolve(this.callbacks.onFrame(frame));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private touch(eui: string, version: ProtocolVersion, remote: string, now: number): ForwarderHealth {
    let h = this.health.get(eui);
    if (h) {
      // Map order is insertion order: re-inserting keeps the least recently seen forwarder first.
      this.health.delete(eui);
    } else {
      h = {
        gatewayEui: eui,
        protocolVersion: version,
        remote,
        firstSeenMs: now,
        lastSeenMs: now,
        pushData: 0,
        pullData: 0,
        txAck: 0,
        frames: 0,
        framesDropped: 0,
        pushAcks: 0,
      };
      while (this.health.size >= this.maxForwarders) {
        const oldest = this.health.keys().next().value;
        if (oldest === undefined) break;
        this.health.delete(oldest);
      }
    }
    h.protocolVersion = version;
    h.remote = remote;
    h.lastSeenMs = now;
    this.health.set(eui, h);
    return h;
  }

  private send(bytes: Uint8Array, rinfo: RemoteInfo): boolean {
    const socket = this.socket;
    if (!socket) return false;
    socket.send(bytes, rinfo.port, rinfo.address, (err) => {
      if (err) this.options.logger?.warn({ err, remote: remoteOf(rinfo) }, "udp send failed");
    });
    return true;
  }

  private drop(reason: DropReason, detail: string, context: DropContext): void {
    this.guard("onDrop", () => this.callbacks.onDrop(reason, detail, context));
  }

  private guard(name: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.options.logger?.error({ err }, `${name} callback threw`);
    }
  }
}

function remoteOf(rinfo: RemoteInfo): string {
  return rinfo.family === "IPv6" ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
}

/** "::ffff:10.0.0.1" (IPv4 on a dual-stack socket) and "10.0.0.1" are the same sender. */
function normalizeAddress(a: string): string {
  const lower = a.toLowerCase();
  return lower.startsWith("::ffff:") && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
