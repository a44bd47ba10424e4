// Prometheus metrics of the gateway, in a registry of their own (never prom-client's global one, so tests
// and several gateways in one process do not collide). The pipeline calls the typed functions below and
// never spells a metric name. Label values are bounded: source kinds and drop reasons are closed sets,
// and anything that does not look like one is counted as "other".
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { LorawanDropReason } from "../lorawan/uplink-decoder.ts";
import type { DropReason, RadioSourceKind } from "../types.ts";

const PREFIX = "openherz_gateway_";

/** Every reason a frame can be dropped for, from radio to payload decoding. */
export type FrameDropReason = DropReason | LorawanDropReason | `payload_${string}` | `observation_${string}`;

/** What the journal reports (JournalStats has these fields); counters are totals since it was opened. */
export interface JournalSnapshot {
  messages: number;
  bytes: number;
  droppedBySize: number;
  droppedByAge: number;
  /** Stored messages whose record no longer rendered them (e.g. after an upgrade). */
  droppedUnrenderable?: number;
  fileBytes?: number;
}

/** journal_dropped_total's reasons and the journal's counter behind each. */
const JOURNAL_DROP_COUNTERS = [
  ["size", "droppedBySize"],
  ["age", "droppedByAge"],
  ["unrenderable", "droppedUnrenderable"],
] as const satisfies ReadonlyArray<readonly [string, keyof JournalSnapshot]>;

export interface GatewayMetricsOptions {
  /** Drop reasons to export as 0 before they first happen (so rate() and alerts work from the start). */
  knownDropReasons?: readonly string[];
  /** Gateway version, exported as openherz_gateway_build_info{version}. */
  version?: string;
  /** Node.js process metrics (RSS, heap, event loop lag, GC). Default true. */
  processMetrics?: boolean;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  frameReceived(source: RadioSourceKind): void;
  frameAccepted(): void;
  frameDropped(reason: FrameDropReason): void;
  duplicate(): void;
  /** An FCnt gap: `missed` frames were never received. */
  fcntGap(missed: number): void;
  messagesJournaled(count: number): void;
  /** Journal depth and drops; counters advance by the difference to the previous snapshot. */
  observeJournal(stats: JournalSnapshot): void;
  published(count?: number): void;
  acked(count?: number): void;
  mqttConnected(connected: boolean): void;
  mqttReconnect(): void;
  /** Time from PUBLISH to PUBACK. */
  publishLatencyMs(ms: number): void;
  clockSynced(synced: boolean): void;
  forwardersSeen(count: number): void;
  /** Called before each scrape, e.g. to take a journal snapshot. Errors are ignored. */
  onScrape(hook: () => void): void;
  /** Prometheus text exposition of every metric. */
  metricsText(): Promise<string>;
}

const LABEL_VALUE = /^[a-z0-9_]{1,64}$/;

export function createGatewayMetrics(options: GatewayMetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name: PREFIX + name, help, labelNames, registers });
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name: PREFIX + name, help, labelNames, registers });

  const received = counter("frames_received_total", "Radio frames received, by source kind", ["source"]);
  const accepted = counter("frames_accepted_total", "Frames accepted: authentic, fresh, decoded");
  const dropped = counter("frames_dropped_total", "Datagrams, lines or frames dropped, by reason", [
    "reason",
  ]);
  const duplicates = counter("frames_duplicate_total", "Frames dropped as duplicates of an accepted one");
  const fcntGaps = counter("fcnt_gaps_total", "Frame counter gaps (frames missing between two accepted)");
  const fcntMissed = counter("fcnt_missed_frames_total", "Frames missing in frame counter gaps");
  const journaled = counter(
    "messages_journaled_total",
    "Messages (observation batches, metadata) committed to the journal",
  );
  const journalMessages = gauge("journal_messages", "Messages queued in the journal");
  const journalBytes = gauge("journal_bytes", "Bytes of the messages queued in the journal");
  const journalFileBytes = gauge("journal_file_bytes", "Size of the journal's SQLite file");
  const journalDropped = counter(
    "journal_dropped_total",
    "Messages dropped by the journal: its bounds (size, age), or a stored record that no longer renders",
    ["reason"],
  );
  const published = counter("mqtt_published_total", "Messages published (QoS 1)");
  const acked = counter("mqtt_acked_total", "Messages acknowledged by the broker (PUBACK)");
  const connected = gauge("mqtt_connected", "1 while connected to the broker");
  const reconnects = counter("mqtt_reconnects_total", "Reconnect attempts to the broker");
  const latency = new Histogram({
    name: `${PREFIX}publish_latency_milliseconds`,
    help: "Time from PUBLISH to PUBACK in milliseconds",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000],
    registers,
  });
  const clock = gauge("clock_synced", "1 when the system clock is valid (synchronised)");
  const forwarders = gauge("forwarders_seen", "Packet forwarders heard from (tracked for health)");
  const lastFrame = gauge("last_frame_timestamp_seconds", "Unix time of the last frame received");
  const buildInfo = gauge("build_info", "Gateway version", ["version"]);

  buildInfo.set({ version: options.version ?? "unknown" }, 1);
  for (const source of ["udp", "serial"] as const) received.inc({ source }, 0);
  for (const reason of options.knownDropReasons ?? []) dropped.inc({ reason: label(reason) }, 0);
  for (const [reason] of JOURNAL_DROP_COUNTERS) journalDropped.inc({ reason }, 0);
  for (const c of [accepted, duplicates, fcntGaps, fcntMissed, journaled, published, acked, reconnects])
    c.inc(0);
  connected.set(0);
  clock.set(0);
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  let lastJournal: JournalSnapshot | undefined;
  const hooks: Array<() => void> = [];

  return {
    registry,
    contentType: registry.contentType,
    frameReceived(source) {
      received.inc({ source });
      lastFrame.set(Date.now() / 1000);
    },
    frameAccepted: () => accepted.inc(),
    frameDropped: (reason) => dropped.inc({ reason: label(reason) }),
    duplicate: () => duplicates.inc(),
    fcntGap(missed) {
      fcntGaps.inc();
      if (missed > 0) fcntMissed.inc(missed);
    },
    messagesJournaled: (count) => journaled.inc(count),
    observeJournal(stats) {
      journalMessages.set(stats.messages);
      journalBytes.set(stats.bytes);
      if (stats.fileBytes !== undefined) journalFileBytes.set(stats.fileBytes);
      for (const [reason, field] of JOURNAL_DROP_COUNTERS) {
        const total = stats[field] ?? 0;
        const increase = total - (lastJournal?.[field] ?? 0);
        // A reopened journal starts counting from 0 again: then the whole new value is the increase.
        journalDropped.inc({ reason }, increase >= 0 ? increase : total);
      }
      lastJournal = { ...stats };
    },
    published: (count = 1) => published.inc(count),
    acked: (count = 1) => acked.inc(count),
    mqttConnected: (isConnected) => connected.set(isConnected ? 1 : 0),
    mqttReconnect: () => reconnects.inc(),
    publishLatencyMs: (ms) => latency.observe(ms),
    clockSynced: (synced) => clock.set(synced ? 1 : 0),
    forwardersSeen: (count) => forwarders.set(count),
    onScrape: (hook) => void hooks.push(hook),
    async metricsText() {
      for (const hook of hooks) {
        try {
          hook();
        } catch {
          // A failing snapshot must not break the scrape; the stale values are still served.
        }
      }
      return registry.metrics();
    },
  };
}

function label(value: string): string {
  return LABEL_VALUE.test(value) ? value : "other";
}
