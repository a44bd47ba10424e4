// Publisher options, their defaults and checks, and the mqtt.js client options of one connection attempt.
import { readFileSync } from "node:fs";
import type { IClientOptions } from "mqtt";
import type { OutgoingMessage } from "../journal/journal.ts";
import type { TopicScheme } from "../observations/topics.ts";
import type { Logger } from "../types.ts";
import { type BackoffOptions, DEFAULT_BACKOFF, validateBackoff } from "./backoff.ts";

export type MqttProtocolVersion = 4 | 5;

/** What the publisher needs from the journal: `Journal` satisfies it, tests pass an in-memory one. */
export interface MessageSource {
  /** Up to `limit` messages, at most `perGroup` per deviceKey, fair across groups; in flight until ack/release. */
  take(limit: number, perGroup: number): SourceMessage[];
  /** Delivered (PUBACK received): delete them. */
  ack(seqs: number[]): void;
  /** Not delivered: hand them out again, before newer messages of their group. */
  release(seqs: number[]): void;
}

export type SourceMessage = Pick<
  OutgoingMessage,
  "id" | "topic" | "payload" | "retain" | "qos" | "deviceKey"
> & {
  seq: number;
};

/** A retained message published (not journaled) after every connect, e.g. device metadata. */
export type Announcement = Pick<OutgoingMessage, "topic" | "payload"> &
  Partial<Pick<OutgoingMessage, "retain" | "qos">>;

export interface TlsFiles {
  /** PEM CA bundle that signed the broker's certificate (default: the system's trusted CAs). */
  caFile?: string;
  /** PEM client certificate and key, for brokers that require client certificates. */
  certFile?: string;
  keyFile?: string;
}

export interface PublisherOptions {
  /** mqtt://host:1883 or mqtts://host:8883. */
  url: string;
  /** Stable per gateway: the broker keeps the session (subscriptions, queued commands) under it. */
  clientId: string;
  /** Names the gateway in its status topic. */
  gatewayId: string;
  topics?: TopicScheme;
  /** First protocol tried (default 5); 5 falls back to 4 (3.1.1) when the broker refuses it. */
  protocolVersion?: MqttProtocolVersion;
  /** Default true; false keeps retrying MQTT 5 when the broker refuses it (config mqtt.protocolFallback). */
  protocolFallback?: boolean;
  username?: string;
  password?: string;
  /** Certificate verification is always on; there is deliberately no option to turn it off. */
  tls?: TlsFiles;
  /** Default 30 s. */
  keepaliveS?: number;
  /** MQTT 5 session expiry (default 7 days); 3.1.1 sessions (clean=false) last until the broker drops them. */
  sessionExpiryS?: number;
  /** Time for TCP + TLS + CONNACK (default 10 s). */
  connectTimeoutMs?: number;
  /** QoS 1 messages in flight (default 128); never more than the broker's Receive Maximum (MQTT 5). */
  window?: number;
  /** Messages per device in one take from the source (default 16), so one device's backlog cannot fill the window. */
  perGroup?: number;
  backoff?: Partial<BackoffOptions>;
  /** A connection that lasted this long resets the backoff (default 10 s). */
  stableAfterMs?: number;
  /** stop(): how long to wait for PUBACKs of in-flight messages and the offline status (default 5 s). */
  stopTimeoutMs?: number;
  /** Retained messages to publish after every connect, before any journal message (device metadata). */
  announce?: () => Announcement[];
  /** Subscribed after every connect (e.g. a command topic). */
  subscriptions?: Array<{ topic: string; qos?: 0 | 1 }>;
  onMessage?: (topic: string, payload: Buffer) => void;
  logger?: Logger;
  /** For tests: jitter source (default Math.random) and wall clock for status times (default Date.now). */
  random?: () => number;
  now?: () => number;
}

export interface ResolvedOptions {
  url: string;
  /** The URL without credentials, for logs. */
  displayUrl: string;
  secure: boolean;
  clientId: string;
  protocolVersion: MqttProtocolVersion;
  keepaliveS: number;
  sessionExpiryS: number;
  connectTimeoutMs: number;
  window: number;
  perGroup: number;
  backoff: BackoffOptions;
  stableAfterMs: number;
  stopTimeoutMs: number;
}

const MAX_U32 = 0xffff_ffff;

/** Checks the options (startup fails fast on a bad configuration) and fills in defaults. */
export function resolveOptions(o: PublisherOptions): ResolvedOptions {
  let parsed: URL;
  try {
    parsed = new URL(o.url);
  } catch {
    throw new RangeError(
      `publisher url "${o.url}" is not a URL (expected mqtt://host:port or mqtts://host:port)`,
    );
  }
  if (parsed.protocol !== "mqtt:" && parsed.protocol !== "mqtts:") {
    throw new RangeError(`publisher url must start with mqtt:// or mqtts://, got ${parsed.protocol}//`);
  }
  const secure = parsed.protocol === "mqtts:";
  if (!secure && o.tls !== undefined && Object.values(o.tls).some((v) => v !== undefined)) {
    throw new RangeError("publisher tls files are set but the url is not mqtts://");
  }
  if (o.tls !== undefined && (o.tls.certFile === undefined) !== (o.tls.keyFile === undefined)) {
    throw new RangeError("publisher tls certFile and keyFile go together");
  }
  if (o.clientId.length === 0 || Buffer.byteLength(o.clientId) > 65535) {
    throw new RangeError("publisher clientId must not be empty");
  }
  const backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
  validateBackoff(backoff);
  const r: ResolvedOptions = {
    url: o.url,
    displayUrl: `${parsed.protocol}//${parsed.host}`,
    secure,
    clientId: o.clientId,
    protocolVersion: o.protocolVersion ?? 5,
    keepaliveS: o.keepaliveS ?? 30,
    sessionExpiryS: o.sessionExpiryS ?? 7 * 24 * 3600,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    window: o.window ?? 128,
    perGroup: o.perGroup ?? 16,
    backoff,
    stableAfterMs: o.stableAfterMs ?? 10_000,
    stopTimeoutMs: o.stopTimeoutMs ?? 5000,
  };
  if (r.protocolVersion !== 4 && r.protocolVersion !== 5)
    throw new RangeError("protocolVersion must be 4 or 5");
  positiveInt("window", r.window, 65535);
  positiveInt("perGroup", r.perGroup, 65535);
  positiveInt("keepaliveS", r.keepaliveS, 65535);
  positiveInt("connectTimeoutMs", r.connectTimeoutMs, 600_000);
  if (!Number.isInteger(r.sessionExpiryS) || r.sessionExpiryS < 0 || r.sessionExpiryS > MAX_U32) {
    throw new RangeError(`sessionExpiryS must be 0..2^32-1, got ${r.sessionExpiryS}`);
  }
  if (!(r.stableAfterMs >= 0) || !(r.stopTimeoutMs >= 0)) {
    throw new RangeError("stableAfterMs and stopTimeoutMs must be >= 0");
  }
  return r;
}

function positiveInt(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new RangeError(`${name} must be an integer 1..${max}, got ${v}`);
}

/**
 * mqtt.js options for one connection attempt. TLS files are read on every attempt, so renewed certificates
 * are picked up at the next reconnect; a missing file fails that attempt (and is retried), not the gateway.
 * mqtt.js's own reconnect and offline queue are off: the publisher reconnects itself and only publishes
 * while connected, from the journal.
 */
export function clientOptions(
  o: PublisherOptions,
  r: ResolvedOptions,
  protocolVersion: MqttProtocolVersion,
  will: { topic: string; payload: string },
): IClientOptions {
  const opts: IClientOptions = {
    clientId: r.clientId,
    protocolVersion,
    clean: false,
    keepalive: r.keepaliveS,
    connectTimeout: r.connectTimeoutMs,
    reconnectPeriod: 0,
    queueQoSZero: false,
    resubscribe: false,
    // mqtt-packet would otherwise build a table of 65,536 two-byte Buffers on the first packet, ~7 MB of heap
    // held for the life of the process, to save one tiny allocation per length field.
    writeCache: false,
    // mqtt.js logs through `debug` several times per packet, and a disabled `debug` still checks its
    // namespaces on every call; without DEBUG set nobody can see that log, so it goes nowhere at no cost.
    ...(process.env.DEBUG ? {} : { log: () => {} }),
    will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: true },
  };
  if (protocolVersion === 5) opts.properties = { sessionExpiryInterval: r.sessionExpiryS };
  if (o.username !== undefined) opts.username = o.username;
  if (o.password !== undefined) opts.password = o.password;
  if (r.secure) {
    opts.rejectUnauthorized = true;
    const tls = o.tls ?? {};
    if (tls.caFile !== undefined) opts.ca = readFileSync(tls.caFile);
    if (tls.certFile !== undefined) opts.cert = readFileSync(tls.certFile);
    if (tls.keyFile !== undefined) opts.key = readFileSync(tls.keyFile);
  }
  return opts;
}
