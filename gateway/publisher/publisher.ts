/**
 * The gateway's MQTT session: connects (MQTT 5, falling back to 3.1.1 when the broker refuses it), announces
 * the retained gateway status and device metadata, re-subscribes, and publishes journal messages at QoS 1
 * through a bounded in-flight window. A message is acked to the journal only on its PUBACK; whatever is in
 * flight when the connection drops goes back to the journal and is re-sent, in order, after the reconnect.
 * Reconnects use jittered exponential backoff and never give up, also when the very first connect fails.
 * Behaviour and its reasons: ./README.md.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import mqtt, { type IConnackPacket, type MqttClient } from "mqtt";
import { gatewayStatusPayload } from "../observations/metadata.ts";
import { DEFAULT_TOPICS } from "../observations/topics.ts";
import type { Logger } from "../types.ts";
import { backoffDelayMs } from "./backoff.ts";
import {
  type Announcement,
  clientOptions,
  type MessageSource,
  type MqttProtocolVersion,
  type PublisherOptions,
  type ResolvedOptions,
  resolveOptions,
  type SourceMessage,
} from "./options.ts";

export interface PublisherState {
  running: boolean;
  connected: boolean;
  /** Protocol of the current or next connection attempt. */
  protocolVersion: MqttProtocolVersion;
  /** Successful connects (CONNACK 0), and of those the ones after the first. */
  connects: number;
  reconnects: number;
  /** Attempts that ended before a CONNACK 0 (refused, unreachable, TLS or auth failure, timeout). */
  connectFailures: number;
  /** Journal messages sent, acked on PUBACK, dropped because the broker refused them for good, released. */
  published: number;
  acked: number;
  rejected: number;
  released: number;
  /** Journal messages and announcements awaiting PUBACK. */
  inflight: number;
  /** Effective window: configured, capped by the broker's Receive Maximum. */
  window: number;
  lastError?: string;
  lastErrorAtMs?: number;
  /** While waiting to reconnect: when the next attempt starts (Date.now() clock) and its backoff attempt. */
  nextRetryAtMs?: number;
  retryAttempt: number;
}

export interface PublisherEvents {
  connect: [{ protocolVersion: MqttProtocolVersion; sessionPresent: boolean }];
  /** A connection that had been up ended. */
  disconnect: [{ error?: string }];
  /** A reconnect is scheduled. */
  retry: [{ attempt: number; delayMs: number; error?: string }];
  /** The broker refused MQTT 5; the next attempt uses 3.1.1. */
  fallback: [{ from: 5; to: 4 }];
  /** A journal message was acked (PUBACK) or dropped as refused for good. */
  /** latencyMs: from PUBLISH to PUBACK (or to the rejecting PUBACK). */
  ack: [{ seq: number; rejected: boolean; latencyMs: number }];
  /** The status and announcements of this connection are all acknowledged (or failed). */
  announced: [{ count: number }];
  /** The broker answered the (re-)subscription of this connection. */
  subscribed: [{ topics: string[] }];
}

interface Connection {
  readonly client: MqttClient;
  readonly protocolVersion: MqttProtocolVersion;
  /** performance.now() at CONNACK; undefined while connecting. */
  connectedAt?: number;
  refusedProtocol: boolean;
  announcements: Announcement[];
  announceInflight: number;
  announceSent: number;
  /** The last error this connection reported. */
  error?: string;
  /** Backstop in case mqtt.js never reports the end of a connection attempt. */
  watchdog?: NodeJS.Timeout;
}

/**
 * PUBACK reason codes (MQTT 5 §3.4.2.1) that will not change on a retry: the message is dropped and counted
 * as rejected rather than blocking its device's queue forever. Others (quota exceeded, unspecified) lead to a
 * reconnect with backoff and a re-send.
 */
const PERMANENT_PUBACK_CODES = new Set([
  0x87, // not authorized
  0x90, // topic name invalid
  0x95, // packet too large
  0x99, // payload format invalid
]);

/** CONNACK codes that mean "this protocol version is not supported": 1 (3.1.1) and 0x84 (MQTT 5). */
const PROTOCOL_REFUSED = new Set([1, 0x84]);

const NOOP_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export class MqttPublisher extends EventEmitter<PublisherEvents> {
  private readonly opts: ResolvedOptions;
  private readonly log: Logger;
  private readonly statusTopic: string;
  private readonly random: () => number;
  private readonly now: () => number;

  private running = false;
  private stopping = false;
  private stopPromise: Promise<void> | undefined;
  private conn: Connection | undefined;
  private protocolVersion: MqttProtocolVersion;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private nextRetryAtMs: number | undefined;
  private pumpScheduled = false;
  private serverReceiveMaximum = Number.POSITIVE_INFINITY;
  /** Journal messages in flight: seq → the connection that carries them. */
  private readonly inflight = new Map<number, Connection>();
  /** Called whenever in-flight state or the connection changes (stop() waits on it). */
  private changeWaiters: Array<() => void> = [];
  private lastLoggedError: string | undefined;
  private counters = {
    connects: 0,
    reconnects: 0,
    connectFailures: 0,
    published: 0,
    acked: 0,
    rejected: 0,
    released: 0,
  };
  private lastError: { message: string; atMs: number } | undefined;

  constructor(
    private readonly source: MessageSource,
    private readonly options: PublisherOptions,
  ) {
    super();
    this.opts = resolveOptions(options);
    this.log = options.logger ?? NOOP_LOGGER;
    this.statusTopic = (options.topics ?? DEFAULT_TOPICS).gatewayStatus(options.gatewayId);
    this.protocolVersion = this.opts.protocolVersion;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Starts connecting in the background; never waits for (or fails because of) the broker. */
  start(): void {
    if (this.running) return;
    if (this.stopping) throw new Error("publisher was stopped; create a new one");
    this.running = true;
    this.connect();
  }

  /** The journal has new messages: publish them if the window allows. Cheap; call it after every append. */
  notify(): void {
    this.schedulePump();
  }

  /** Re-publishes the status and announcements now (e.g. the registry changed); a reconnect does it anyway. */
  announce(): void {
    const conn = this.conn;
    if (conn?.connectedAt === undefined || this.stopping) return;
    conn.announcements.push(...this.announcements());
    this.schedulePump();
  }

  state(): PublisherState {
    const conn = this.conn;
    return {
      running: this.running,
      connected: conn?.connectedAt !== undefined,
      protocolVersion: conn?.protocolVersion ?? this.protocolVersion,
      ...this.counters,
      inflight: this.inflightCount(),
      window: this.effectiveWindow(),
      ...(this.lastError === undefined
        ? {}
        : { lastError: this.lastError.message, lastErrorAtMs: this.lastError.atMs }),
      ...(this.nextRetryAtMs === undefined ? {} : { nextRetryAtMs: this.nextRetryAtMs }),
      retryAttempt: this.retryAttempt,
    };
  }

  /**
   * Stops pulling from the journal, waits up to `timeoutMs` for the PUBACKs of what is in flight, publishes the
   * retained "offline" status (reason "shutdown") and disconnects normally, so the broker discards the Last
   * Will. Messages still unacknowledged go back to the journal.
   */
  stop(timeoutMs: number = this.opts.stopTimeoutMs): Promise<void> {
    this.stopPromise ??= this.doStop(timeoutMs);
    return this.stopPromise;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    this.stopping = true;
    this.running = false;
    this.clearRetry();
    const conn = this.conn;
    if (conn === undefined) return;
    if (conn.connectedAt !== undefined) {
      await this.waitForChange(() => this.conn !== conn || this.inflightCount() === 0, deadline);
    }
    if (this.conn === conn && conn.connectedAt !== undefined) {
      const offline = gatewayStatusPayload(this.options.gatewayId, "offline", "shutdown", this.now());
      await withDeadline(
        new Promise<void>((resolve) =>
          conn.client.publish(this.statusTopic, offline, { qos: 1, retain: true }, () => resolve()),
        ),
        deadline,
      );
      const ended = await withDeadline(
        new Promise<boolean>((resolve) => conn.client.end(false, {}, () => resolve(true))),
        deadline,
      );
      // end(true) is a no-op once end() has begun; destroying the stream is not.
      if (ended !== true) conn.client.stream?.destroy();
    } else {
      conn.client.end(true);
    }
    // The client's "close" may still be on its way; clean up now, whatever it does later is ignored.
    if (this.conn === conn) this.onClose(conn);
  }

  private connect(): void {
    this.retryTimer = undefined;
    this.nextRetryAtMs = undefined;
    if (!this.running) return;
    const protocolVersion = this.protocolVersion;
    const will = {
      topic: this.statusTopic,
      payload: gatewayStatusPayload(this.options.gatewayId, "offline", "connection-lost"),
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(this.opts.url, clientOptions(this.options, this.opts, protocolVersion, will));
    } catch (err) {
      // e.g. a TLS file missing or unreadable: count it and retry, the file may appear.
      this.counters.connectFailures++;
      this.recordError(err, "connect attempt failed");
      this.scheduleRetry();
      return;
    }
    const conn: Connection = {
      client,
      protocolVersion,
      refusedProtocol: false,
      announcements: [],
      announceInflight: 0,
      announceSent: 0,
    };
    this.conn = conn;
    // mqtt.js ends an attempt after connectTimeout; should it ever fail to report that, the loop must not stall.
    conn.watchdog = setTimeout(() => {
      if (this.conn !== conn || conn.connectedAt !== undefined) return;
      this.recordError(
        new Error("no CONNACK and no close: connection attempt abandoned"),
        "mqtt connect failed",
      );
      conn.client.stream?.destroy();
      this.onClose(conn);
    }, this.opts.connectTimeoutMs + 5000);
    client.on("connect", (connack) => this.onConnect(conn, connack));
    client.on("error", (err) => this.onClientError(conn, err));
    client.on("close", () => this.onClose(conn));
    client.on("message", (topic, payload) => this.onMessage(conn, topic, payload));
    // MQTT 5 brokers say why they end a session (e.g. 0x8E: another client took over this clientId).
    client.on("disconnect", (packet) => {
      if (this.conn !== conn) return;
      const reason = new Error(
        `broker sent DISCONNECT, reason code 0x${(packet.reasonCode ?? 0).toString(16)}`,
      );
      conn.error = reason.message;
      this.recordError(reason, "mqtt connection ended by the broker");
    });
    this.log.debug(
      { url: this.opts.displayUrl, protocolVersion, clientId: this.opts.clientId },
      "mqtt connecting",
    );
  }

  private onConnect(conn: Connection, connack: IConnackPacket): void {
    if (this.conn !== conn) return;
    clearTimeout(conn.watchdog);
    conn.connectedAt = performance.now();
    // Nagle's algorithm holds a PUBLISH back until the broker ACKs the previous segment, and TCP delays
    // that ACK by up to 40 ms: a window of QoS 1 messages then moves in 40 ms steps. Draining 104,000
    // journal messages into a Mosquitto without set_tcp_nodelay: 4,800 msgs/s with Nagle, 39,000 without.
    (conn.client.stream as Partial<Socket> | undefined)?.setNoDelay?.(true);
    this.counters.connects++;
    if (this.counters.connects > 1) this.counters.reconnects++;
    this.lastLoggedError = undefined;
    this.serverReceiveMaximum =
      conn.protocolVersion === 5 ? (connack.properties?.receiveMaximum ?? 65535) : Number.POSITIVE_INFINITY;
    const sessionPresent = connack.sessionPresent;
    this.log.info(
      {
        url: this.opts.displayUrl,
        protocolVersion: conn.protocolVersion,
        sessionPresent,
        window: this.effectiveWindow(),
      },
      "mqtt connected",
    );
    // Status first, then device metadata, then the journal: subscribers learn a device before its data.
    conn.announcements = this.announcements();
    this.subscribe(conn);
    this.fire("connect", { protocolVersion: conn.protocolVersion, sessionPresent });
    this.changed();
    this.pump();
  }

  private announcements(): Announcement[] {
    const online: Announcement = {
      topic: this.statusTopic,
      payload: gatewayStatusPayload(this.options.gatewayId, "online", undefined, this.now()),
      retain: true,
      qos: 1,
    };
    let extra: Announcement[] = [];
    try {
      extra = this.options.announce?.() ?? [];
    } catch (err) {
      this.recordError(err, "announce callback failed");
    }
    return [online, ...extra];
  }

  private subscribe(conn: Connection): void {
    const subs = this.options.subscriptions ?? [];
    if (subs.length === 0) return;
    const map = Object.fromEntries(subs.map((s) => [s.topic, { qos: s.qos ?? 1 }]));
    conn.client.subscribe(map, (err, granted) => {
      if (this.conn !== conn) return;
      if (err) this.recordError(err, "subscribe failed");
      for (const g of granted ?? []) {
        if (g.qos === 128) this.log.warn({ topic: g.topic }, "mqtt subscription refused by the broker");
      }
      if (!err) this.fire("subscribed", { topics: subs.map((x) => x.topic) });
    });
  }

  private onMessage(conn: Connection, topic: string, payload: Buffer): void {
    if (this.conn !== conn) return;
    try {
      this.options.onMessage?.(topic, payload);
    } catch (err) {
      this.log.error({ err: String(err), topic }, "mqtt message handler failed");
    }
  }

  private onClientError(conn: Connection, err: Error): void {
    if (this.conn !== conn) return;
    const code = (err as { code?: unknown }).code;
    const fallback = this.options.protocolFallback !== false;
    if (
      fallback &&
      conn.connectedAt === undefined &&
      conn.protocolVersion === 5 &&
      typeof code === "number"
    ) {
      if (PROTOCOL_REFUSED.has(code)) conn.refusedProtocol = true;
    }
    conn.error = describeError(err);
    this.recordError(err, conn.connectedAt === undefined ? "mqtt connect failed" : "mqtt connection error");
  }

  private onClose(conn: Connection): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    clearTimeout(conn.watchdog);
    conn.client.removeAllListeners();
    conn.client.on("error", () => {});
    conn.client.end(true);
    this.releaseInflight();
    const wasUp = conn.connectedAt !== undefined;
    if (wasUp) {
      if (performance.now() - conn.connectedAt! >= this.opts.stableAfterMs) this.retryAttempt = 0;
      const error = this.stopping ? undefined : conn.error;
      if (this.stopping) this.log.info({ url: this.opts.displayUrl }, "mqtt disconnected");
      else this.log.warn({ url: this.opts.displayUrl, error }, "mqtt connection lost");
      this.fire("disconnect", error === undefined ? {} : { error });
    } else {
      this.counters.connectFailures++;
    }
    this.changed();
    if (!this.running) return;
    if (conn.refusedProtocol) {
      this.protocolVersion = 4;
      this.log.warn({ url: this.opts.displayUrl }, "broker refused MQTT 5; using MQTT 3.1.1");
      this.fire("fallback", { from: 5, to: 4 });
      this.retryTimer = setTimeout(() => this.connect(), 0);
      return;
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (!this.running) return;
    const attempt = this.retryAttempt++;
    const delayMs = backoffDelayMs(attempt, this.opts.backoff, this.random);
    this.nextRetryAtMs = this.now() + delayMs;
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
    const error = this.lastError?.message;
    this.log.debug({ attempt, delayMs, error }, "mqtt reconnect scheduled");
    this.fire("retry", error === undefined ? { attempt, delayMs } : { attempt, delayMs, error });
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.nextRetryAtMs = undefined;
  }

  private effectiveWindow(): number {
    return Math.min(this.opts.window, this.serverReceiveMaximum);
  }

  private inflightCount(): number {
    return this.inflight.size + (this.conn?.announceInflight ?? 0);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // Coalesces the acks and notifies of one turn of the event loop into one take() from the journal.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Fills the window: announcements first, then the journal, fair across devices. */
  private pump(): void {
    const conn = this.conn;
    if (conn?.connectedAt === undefined) return;
    const window = this.effectiveWindow();
    while (conn.announcements.length > 0 && this.inflightCount() < window) {
      this.sendAnnouncement(conn, conn.announcements.shift()!);
    }
    if (this.stopping) return;
    for (;;) {
      const free = window - this.inflightCount();
      if (free <= 0) return;
      let batch: SourceMessage[];
      try {
        batch = this.source.take(free, this.opts.perGroup);
      } catch (err) {
        this.recordError(err, "journal take failed");
        return;
      }
      if (batch.length === 0) return;
      for (const msg of batch) this.send(conn, msg);
    }
  }

  private sendAnnouncement(conn: Connection, a: Announcement): void {
    conn.announceInflight++;
    conn.announceSent++;
    conn.client.publish(
      a.topic,
      a.payload,
      this.publishOptions(conn, a.qos ?? 1, a.retain ?? true),
      (err) => {
        if (this.conn !== conn) return;
        conn.announceInflight--;
        // A failed announcement is repeated after the next reconnect; nothing to retry here.
        if (err) this.recordError(err, "announcement not accepted");
        if (conn.announceInflight === 0 && conn.announcements.length === 0) {
          this.fire("announced", { count: conn.announceSent });
        }
        this.changed();
        this.schedulePump();
      },
    );
  }

  private send(conn: Connection, msg: SourceMessage): void {
    this.inflight.set(msg.seq, conn);
    this.counters.published++;
    const sentAtMs = performance.now();
    conn.client.publish(msg.topic, msg.payload, this.publishOptions(conn, msg.qos, msg.retain), (err) =>
      this.onPublished(conn, msg, err, sentAtMs),
    );
  }

  private publishOptions(conn: Connection, qos: 0 | 1, retain: boolean) {
    return conn.protocolVersion === 5
      ? { qos, retain, properties: { payloadFormatIndicator: true, contentType: "application/json" } }
      : { qos, retain };
  }

  /** mqtt.js calls this on PUBACK for QoS 1 (after the write for QoS 0). */
  private onPublished(
    conn: Connection,
    msg: SourceMessage,
    err: Error | null | undefined,
    sentAtMs: number,
  ): void {
    // Released on disconnect (possibly re-taken by a newer connection): this callback is stale.
    if (this.inflight.get(msg.seq) !== conn) return;
    this.inflight.delete(msg.seq);
    const code = (err as { code?: unknown } | undefined)?.code;
    if (err == null) {
      this.source.ack([msg.seq]);
      this.counters.acked++;
      this.fire("ack", { seq: msg.seq, rejected: false, latencyMs: performance.now() - sentAtMs });
    } else if (typeof code === "number" && PERMANENT_PUBACK_CODES.has(code)) {
      this.source.ack([msg.seq]);
      this.counters.rejected++;
      this.log.error(
        { id: msg.id, topic: msg.topic, reasonCode: code, error: err.message },
        "broker refused message; dropped",
      );
      this.fire("ack", { seq: msg.seq, rejected: true, latencyMs: performance.now() - sentAtMs });
    } else {
      this.source.release([msg.seq]);
      this.counters.released++;
      conn.error = describeError(err);
      this.recordError(err, "publish failed; reconnecting");
      conn.client.end(true);
    }
    this.changed();
    this.schedulePump();
  }

  private releaseInflight(): void {
    if (this.inflight.size === 0) return;
    const seqs = [...this.inflight.keys()];
    this.inflight.clear();
    this.counters.released += seqs.length;
    try {
      this.source.release(seqs);
    } catch (err) {
      this.recordError(err, "journal release failed");
    }
  }

  private recordError(err: unknown, context: string): void {
    const message = describeError(err);
    this.lastError = { message, atMs: this.now() };
    // One line per distinct problem: a broker that stays down for a day must not fill the SD card.
    if (message !== this.lastLoggedError) {
      this.lastLoggedError = message;
      this.log.warn({ url: this.opts.displayUrl, error: message }, context);
    } else {
      this.log.debug({ url: this.opts.displayUrl, error: message }, context);
    }
  }

  /** Listeners are the caller's code: one that throws must not break the session. */
  private fire<K extends keyof PublisherEvents>(event: K, ...args: PublisherEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: PublisherEvents[K]) => boolean).call(this, event, ...args);
    } catch (err) {
      this.log.error({ event, err: String(err) }, "publisher event listener threw");
    }
  }

  private changed(): void {
    for (const w of this.changeWaiters.splice(0)) w();
  }

  /** Resolves when `done()` holds (re-checked on every change) or at the deadline (performance.now() clock). */
  private waitForChange(done: () => boolean, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, deadline - performance.now()));
      const check = () => {
        if (settled) return;
        if (done()) finish();
        else this.changeWaiters.push(check);
      };
      check();
    });
  }
}

/** Resolves with the promise's value, or undefined at the deadline (performance.now() clock). */
function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - performance.now()));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const CLOCK_CODES = new Set(["CERT_NOT_YET_VALID", "CERT_HAS_EXPIRED"]);

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const hint =
    typeof code === "string" && CLOCK_CODES.has(code) ? " (check the system clock: NTP not synced yet?)" : "";
  return `${err.message}${hint}`;
}
