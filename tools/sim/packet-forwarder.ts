/**
 * A virtual packet forwarder: one gateway site's concentrator seen from the network side, speaking the
 * Semtech UDP protocol (PROTOCOL.TXT) to a gateway address: PUSH_DATA with `rxpk` (several per datagram,
 * as a real forwarder batches what it received since its last send), periodic `stat`, PULL_DATA keepalives.
 *
 * Flow control. A real forwarder sends and forgets: PUSH_ACK only feeds its statistics. A simulated fleet
 * running thousands of times faster than real time would bury the gateway's UDP socket that way, so this
 * forwarder keeps at most `window` PUSH_DATA datagrams awaiting their PUSH_ACK (the gateway acknowledges
 * after its journal made the frames durable, gateway/radio/README.md). Further frames wait in the queue,
 * and the fleet holds its virtual clock while a queue is long (`backlog()`, `whenBacklogAtMost()`). A
 * datagram not acknowledged within `ackTimeoutMs` frees its slot and is counted (`ackTimeouts`): it is not
 * sent again, exactly as a real forwarder would not. Throughput is therefore about
 * window × maxRxpkPerDatagram frames per journal commit. With a shared FrameOrder (./frame-order.ts) a
 * frame also waits until the node's earlier frames are settled at every site.
 *
 * Keepalive and stat intervals are wall-clock times (they keep the UDP route alive); the times inside the
 * messages are virtual.
 */
import { createSocket, type Socket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import {
  encodePullData,
  encodePushData,
  PULL_ACK,
  PUSH_ACK,
  type RxpkJson,
} from "../../gateway/radio/semtech-udp-codec.ts";
import type { FrameOrder, OrderTicket } from "./frame-order.ts";
import { type SiteLocation, statOf } from "./rxpk.ts";

export interface ForwarderTarget {
  host: string;
  port: number;
}

export interface PacketForwarderOptions {
  /** Name in logs and statistics, e.g. "site-1". */
  id: string;
  gatewayEui: string;
  target: ForwarderTarget;
  location: SiteLocation;
  /** Virtual time, Unix ms (for the `stat` time). */
  virtualNow: () => number;
  /** PUSH_DATA datagrams awaiting PUSH_ACK at most. Default 4. */
  window?: number;
  /** rxpk per PUSH_DATA at most. Default 8. */
  maxRxpkPerDatagram?: number;
  /** Wall ms after which an unacknowledged datagram frees its slot. Default 2000. */
  ackTimeoutMs?: number;
  /** Wall ms between PULL_DATA. Default 10 000 (the reference forwarder's keepalive_interval). */
  keepaliveIntervalMs?: number;
  /** Wall ms between stat messages. Default 30 000 (stat_interval). 0 = none. */
  statIntervalMs?: number;
  /** Frames queued at most; beyond, the oldest are dropped and counted. Default 100 000. */
  maxQueue?: number;
  /** Shared by the forwarders of a fleet: keeps each node's frames in order across sites. */
  order?: FrameOrder;
}

export interface ForwarderStats {
  /** Source port of the current socket. */
  port: number;
  pushData: number;
  rxpkSent: number;
  pushAcks: number;
  ackTimeouts: number;
  pullData: number;
  pullAcks: number;
  statMessages: number;
  restarts: number;
  sendErrors: number;
  /** Frames dropped from a full queue. */
  queueDropped: number;
  /** Frames in datagrams still unacknowledged when the socket was replaced. */
  lostOnRestart: number;
}

interface Queued {
  rxpk: RxpkJson;
  ticket: OrderTicket | undefined;
}

interface InFlight {
  tickets: Array<OrderTicket | undefined>;
  sentAtMs: number;
}

const SWEEP_INTERVAL_MS = 100;

export class PacketForwarder {
  readonly id: string;
  readonly gatewayEui: string;
  private socket: Socket | undefined;
  private address = "";
  private readonly queue: Queued[] = [];
  private head = 0;
  private readonly inFlight = new Map<number, InFlight>();
  private inFlightRxpk = 0;
  private token = 0;
  private waiters: Array<{ limit: number; resolve: () => void }> = [];
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  private readonly window: number;
  private readonly maxRxpk: number;
  private readonly ackTimeoutMs: number;
  private readonly maxQueue: number;
  private readonly counters: ForwarderStats = {
    port: 0,
    pushData: 0,
    rxpkSent: 0,
    pushAcks: 0,
    ackTimeouts: 0,
    pullData: 0,
    pullAcks: 0,
    statMessages: 0,
    restarts: 0,
    sendErrors: 0,
    queueDropped: 0,
    lostOnRestart: 0,
  };
  /** Since the last stat message. */
  private sinceStat = { rxnb: 0, pushed: 0, acked: 0 };

  private constructor(private readonly options: PacketForwarderOptions) {
    this.id = options.id;
    this.gatewayEui = options.gatewayEui;
    this.window = options.window ?? 4;
    this.maxRxpk = options.maxRxpkPerDatagram ?? 8;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 2000;
    this.maxQueue = options.maxQueue ?? 100_000;
  }

  /** Resolves the target, opens the socket, sends the first PULL_DATA (and stat) and starts the timers. */
  static async open(options: PacketForwarderOptions): Promise<PacketForwarder> {
    const forwarder = new PacketForwarder(options);
    forwarder.address =
      isIP(options.target.host) !== 0 ? options.target.host : (await lookup(options.target.host)).address;
    await forwarder.openSocket();
    forwarder.startTimers();
    forwarder.unsubscribe = options.order?.onRelease(() => forwarder.pump());
    return forwarder;
  }

  /**
   * Queues one received frame for the next PUSH_DATA. With a ticket (from the shared FrameOrder) it is
   * sent only after the node's earlier frames are settled everywhere.
   */
  enqueue(rxpk: RxpkJson, ticket?: OrderTicket): void {
    if (this.closed) {
      this.settle(ticket);
      return;
    }
    this.sinceStat.rxnb++;
    this.queue.push({ rxpk, ticket });
    if (this.queue.length - this.head > this.maxQueue) {
      this.settle(this.queue[this.head]!.ticket);
      this.head++;
      this.counters.queueDropped++;
    }
    this.pump();
  }

  /** Frames queued or in unacknowledged datagrams. */
  backlog(): number {
    return this.queue.length - this.head + this.inFlightRxpk;
  }

  /** Resolves once `backlog() <= limit` (at once if it already is, or when the forwarder closes). */
  whenBacklogAtMost(limit: number): Promise<void> {
    if (this.backlog() <= limit || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ limit, resolve }));
  }

  stats(): ForwarderStats {
    return { ...this.counters };
  }

  /**
   * A restart of the forwarder process: the socket closes (acknowledgements of datagrams in flight are
   * lost with it), a new one opens on a new source port and announces itself with PULL_DATA.
   */
  async restart(): Promise<void> {
    if (this.closed) return;
    this.counters.restarts++;
    this.counters.lostOnRestart += this.inFlightRxpk;
    const lost = [...this.inFlight.values()];
    this.inFlight.clear();
    this.inFlightRxpk = 0;
    for (const entry of lost) for (const t of entry.tickets) this.settle(t);
    this.closeSocket();
    await this.openSocket();
    this.pump();
    this.notify();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.closeSocket();
    const settled = [...this.inFlight.values()].flatMap((e) => e.tickets);
    settled.push(...this.queue.slice(this.head).map((q) => q.ticket));
    this.inFlight.clear();
    this.inFlightRxpk = 0;
    this.queue.length = 0;
    this.head = 0;
    for (const t of settled) this.settle(t);
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private async openSocket(): Promise<void> {
    const socket = createSocket(isIP(this.address) === 6 ? "udp6" : "udp4");
    socket.on("message", (msg) => this.onMessage(msg));
    socket.on("error", () => {
      this.counters.sendErrors++;
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    this.socket = socket;
    this.counters.port = socket.address().port;
    this.sendPullData();
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return;
    try {
      socket.close();
    } catch {
      // already closed
    }
  }

  private startTimers(): void {
    const keepalive = this.options.keepaliveIntervalMs ?? 10_000;
    const statInterval = this.options.statIntervalMs ?? 30_000;
    this.timers.push(setInterval(() => this.sendPullData(), keepalive));
    if (statInterval > 0) {
      this.sendStat();
      this.timers.push(setInterval(() => this.sendStat(), statInterval));
    }
    this.timers.push(setInterval(() => this.sweep(), SWEEP_INTERVAL_MS));
    for (const t of this.timers) t.unref();
  }

  private nextToken(): number {
    this.token = (this.token + 1) & 0xffff;
    return this.token;
  }

  private send(bytes: Uint8Array): void {
    const socket = this.socket;
    if (socket === undefined) return;
    socket.send(bytes, this.options.target.port, this.address, (err) => {
      if (err) this.counters.sendErrors++;
    });
  }

  private settle(ticket: OrderTicket | undefined): void {
    if (ticket !== undefined) this.options.order?.settle(ticket);
  }

  private ready(item: Queued): boolean {
    return (
      item.ticket === undefined || this.options.order === undefined || this.options.order.ready(item.ticket)
    );
  }

  /** Sends datagrams while the window has room, taking queued frames in order up to one not ready yet. */
  private pump(): void {
    while (this.socket !== undefined && this.inFlight.size < this.window && this.head < this.queue.length) {
      const rxpk: RxpkJson[] = [];
      const tickets: Array<OrderTicket | undefined> = [];
      while (rxpk.length < this.maxRxpk && this.head < this.queue.length) {
        const item = this.queue[this.head]!;
        if (!this.ready(item)) break;
        rxpk.push(item.rxpk);
        tickets.push(item.ticket);
        this.head++;
      }
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (rxpk.length === 0) return; // the head waits for another site to settle an earlier frame
      const token = this.nextToken();
      this.inFlight.set(token, { tickets, sentAtMs: performance.now() });
      this.inFlightRxpk += rxpk.length;
      this.counters.pushData++;
      this.counters.rxpkSent += rxpk.length;
      this.sinceStat.pushed++;
      this.send(encodePushData(token, this.gatewayEui, { rxpk }));
    }
  }

  private sendPullData(): void {
    this.counters.pullData++;
    this.send(encodePullData(this.nextToken(), this.gatewayEui));
  }

  private sendStat(): void {
    const { rxnb, pushed, acked } = this.sinceStat;
    this.sinceStat = { rxnb: 0, pushed: 0, acked: 0 };
    const stat = statOf(
      this.options.virtualNow(),
      { rxnb, rxok: rxnb, rxfw: rxnb, ackr: pushed === 0 ? 100 : (100 * acked) / pushed },
      this.options.location,
    );
    this.counters.statMessages++;
    // Outside the window: the gateway acknowledges a stat-only datagram at once.
    this.send(encodePushData(this.nextToken(), this.gatewayEui, { stat }));
  }

  private onMessage(msg: Buffer): void {
    if (msg.length < 4 || (msg[0] !== 1 && msg[0] !== 2)) return;
    const token = (msg[1]! << 8) | msg[2]!;
    if (msg[3] === PULL_ACK) {
      this.counters.pullAcks++;
      return;
    }
    if (msg[3] !== PUSH_ACK) return;
    const entry = this.inFlight.get(token);
    if (entry === undefined) return; // a stat's ACK, or one that came after its timeout
    this.inFlight.delete(token);
    this.inFlightRxpk -= entry.tickets.length;
    this.counters.pushAcks++;
    this.sinceStat.acked++;
    for (const t of entry.tickets) this.settle(t);
    this.pump();
    this.notify();
  }

  private sweep(): void {
    const deadline = performance.now() - this.ackTimeoutMs;
    let freed = false;
    for (const [token, entry] of this.inFlight) {
      if (entry.sentAtMs > deadline) continue;
      this.inFlight.delete(token);
      this.inFlightRxpk -= entry.tickets.length;
      this.counters.ackTimeouts++;
      for (const t of entry.tickets) this.settle(t);
      freed = true;
    }
    if (freed) {
      this.pump();
      this.notify();
    }
  }

  private notify(): void {
    if (this.waiters.length === 0) return;
    const backlog = this.backlog();
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (backlog <= w.limit) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}
