// The one-way flow for one frame (ARCHITECTURE.md): LoRaWAN decode (dedup, MIC, 32-bit FCnt, decrypt) →
// payload decode (shared decoder) → envelopes → journal.append → onJournaled (the publisher's notify()).
// The returned promise resolves once the frame is durable, and only then does a radio source acknowledge it.
// Nothing here waits for MQTT, and one frame's failure never touches another's.
//
// Outcomes, each counted (metrics) and logged rate-limited with its context, never with a key:
//  - rejected by the LoRaWAN layer (unknown DevAddr, bad MIC, replay, …): resolved at once, the datagram is
//    handled. A duplicate adds its radio metadata (another gateway's RSSI/SNR) to the operator topic; a
//    MAC-only frame (no FPort) still persists its counter.
//  - accepted but the payload does not decode: 'payload_malformed'; its FCnt and radio metadata are still
//    journaled, because a frame whose MIC verified has consumed its counter.
//  - accepted: observations, node status, battery and radio metadata, with the FCnt, in one journal entry.
//
// Time (gateway/README.md, "Time"): GPS time from the forwarder when present and trusted, else the system
// clock when the ClockGuard says it is valid. Otherwise the frame is HELD in memory with its monotonic
// reception time, its promise unresolved (so it is not acknowledged), until the clock becomes valid; then
// every held frame gets its wall time and is journaled in arrival order. While a device has held frames,
// its later frames are held behind them, so its counter and its messages stay in order. The decoder sees
// the held counters, so a held frame cannot be accepted twice.
import { type DecodedUplink, decodeUplink } from "../shared/payload/index.ts";
import { FRAME_RECORD_VERSION, type FrameRecord, renderFrame } from "./frame-record.ts";
import type { Journal, OutgoingMessage } from "./journal/journal.ts";
import { DedupCache } from "./lorawan/dedup.ts";
import type { Registry } from "./lorawan/registry.ts";
import {
  type AcceptedUplink,
  createUplinkDecoder,
  type FirstAcceptance,
  LORAWAN_DROP_REASONS,
  type LorawanDropReason,
  type UplinkDrop,
} from "./lorawan/uplink-decoder.ts";
import type { ObservationGrouping } from "./observations/envelope.ts";
import type { DeviceInfo, ObservationTimes, TopicScheme } from "./observations/index.ts";
import { chooseUplinkTime, isPlausibleTime, monotonicNowMs } from "./ops/clock.ts";
import type { RateLimitedLog } from "./ops/logger.ts";
import type { FrameDropReason, GatewayMetrics } from "./ops/metrics.ts";
import type { DropContext, DropReason, RadioFrame } from "./types.ts";

/** The drop reasons this module adds to those of the radio sources and the LoRaWAN decoder. */
export type PipelineDropReason =
  /** The MIC verified but the payload breaks shared/PAYLOAD.md (or its FPort carries no uplink kind). */
  | "payload_malformed"
  /** Building the envelopes failed (a bug, e.g. an impossible time); the FCnt is persisted anyway. */
  | "observation_build_failed"
  /** The clock is not valid and maxHeldFrames frames already wait for it: the frame is not acknowledged. */
  | "observation_clock_hold_full";

const RADIO_DROP_REASONS: Record<DropReason, true> = {
  udp_too_short: true,
  udp_too_large: true,
  udp_unknown_version: true,
  udp_unknown_identifier: true,
  udp_unexpected_packet: true,
  udp_bad_json: true,
  udp_malformed: true,
  udp_unknown_gateway: true,
  udp_unknown_source: true,
  udp_overloaded: true,
  udp_bad_rxpk: true,
  udp_bad_base64: true,
  udp_size_mismatch: true,
  udp_crc_bad: true,
  serial_garbage: true,
  serial_odd_hex: true,
  serial_frame_too_long: true,
  serial_line_too_long: true,
  serial_rx_error: true,
  serial_command_failed: true,
  frame_handler_failed: true,
};

/** Every reason a frame can be dropped for, so the metrics export each one as 0 from the start. */
export const KNOWN_DROP_REASONS: readonly FrameDropReason[] = [
  ...(Object.keys(RADIO_DROP_REASONS) as DropReason[]),
  ...LORAWAN_DROP_REASONS,
  "payload_malformed",
  "observation_build_failed",
  "observation_clock_hold_full",
] satisfies Array<DropReason | LorawanDropReason | PipelineDropReason>;

/** Normal radio noise: logged at debug level only (still counted). */
const QUIET_REASONS = new Set<string>(["lorawan_duplicate", "lorawan_unknown_devaddr", "lorawan_not_uplink"]);

/** What the pipeline needs of the ClockGuard. */
export interface PipelineClock {
  readonly valid: boolean;
  /** Wall time of a monotonic instant, null while the clock is not valid. */
  wallTimeOf(monotonicMs: number): number | null;
  /** Called once, when the clock is (or becomes) valid. */
  onValid(listener: (offsetMs: number) => void): void;
}

export interface PipelineOptions {
  /** The current registry (main swaps it on reload); read per frame. */
  registry: () => Registry;
  journal: Pick<Journal, "append" | "lastFcnt">;
  metrics: GatewayMetrics;
  /** Per-frame problems, rate-limited per reason. */
  log: Pick<RateLimitedLog, "log">;
  clock: PipelineClock;
  time: { trustGpsTime: boolean; minValidUnixS: number };
  topics: TopicScheme;
  /** One message per uplink and datastream (default) or per observation (observations/README.md). */
  grouping?: ObservationGrouping;
  /** After each durable append: tell the publisher (its notify() is cheap and never waits). */
  onJournaled: () => void;
  /** Frames held while the clock is not valid, at most (default 10,000). */
  maxHeldFrames?: number;
  /** Monotonic clock of the reception instant; must be the ClockGuard's (default process.hrtime). */
  monotonicNow?: () => number;
  dedup?: DedupCache<FirstAcceptance>;
}

export interface PipelineStatus {
  /** Frames waiting for a valid clock. */
  heldFrames: number;
  /** receivedAtMs of the last frame. */
  lastFrameMs?: number;
  /** The last journal append failed (and none has succeeded since): why. */
  journalError?: string;
}

export interface Pipeline {
  /** A radio source's onFrame: resolves once the frame is durable (or rejected for good), never throws. */
  handleFrame(frame: RadioFrame): Promise<void>;
  /** A radio source's onDrop. */
  handleDrop(reason: DropReason, detail: string, context: DropContext): void;
  status(): PipelineStatus;
  /** Resolves when every append handed to the journal has settled. */
  drain(): Promise<void>;
  /** Shutdown: frames still waiting for a valid clock are given up (their promises reject). */
  close(): void;
}

export const DEFAULT_MAX_HELD_FRAMES = 10_000;

/** One journal entry to be: what a frame adds, and when it was received. */
interface Work {
  devEui: string;
  /** Persisted with the messages; undefined for entries that do not advance the counter. */
  fcnt32: number | undefined;
  frame: RadioFrame;
  receivedMonotonicMs: number;
  /** The clock was valid at reception, so frame.receivedAtMs is a wall time to trust. */
  clockValidAtReception: boolean;
  /** The frame's record for its times (its messages render from it); absent for an entry that only persists the FCnt. */
  record?: (times: ObservationTimes) => FrameRecord;
  /** The payload as decoded on acceptance (undefined: it did not decode); null: nothing decoded yet. */
  decoded: DecodedUplink | undefined | null;
}

interface Held {
  work: Work;
  resolve: () => void;
  reject: (err: Error) => void;
}

type Reception = Pick<Work, "receivedMonotonicMs" | "clockValidAtReception">;

const RESOLVED = Promise.resolve();

export function createPipeline(options: PipelineOptions): Pipeline {
  const { journal, metrics, log, clock, topics } = options;
  const grouping = options.grouping ?? "uplink";
  const { trustGpsTime, minValidUnixS } = options.time;
  const maxHeld = options.maxHeldFrames ?? DEFAULT_MAX_HELD_FRAMES;
  const monotonicNow = options.monotonicNow ?? monotonicNowMs;

  const held: Held[] = [];
  /** Devices with held entries, and the highest FCnt held for each. */
  const heldDevices = new Map<string, number | undefined>();
  const inflight = new Set<Promise<void>>();
  let lastFrameMs: number | undefined;
  let journalError: string | undefined;
  let closed = false;

  const decoder = createUplinkDecoder({
    registry: options.registry,
    // Held frames have consumed their counters too, though the journal has not seen them yet.
    lastFcnt: (devEui) => maxDefined(journal.lastFcnt(devEui), heldDevices.get(devEui)),
    dedup: options.dedup ?? new DedupCache<FirstAcceptance>(),
  });

  /** The part of a frame's record every reception has; renderFrame() shows the reception at the resolved time. */
  const recordOf = (
    devEui: string,
    devAddr: string,
    fcnt32: number,
    fport: number,
    frame: RadioFrame,
    times: ObservationTimes,
  ): FrameRecord => {
    const { source, radio } = frame;
    return {
      v: FRAME_RECORD_VERSION,
      devEui,
      devAddr,
      fcnt32,
      fport,
      times,
      reception: { ...gpsOf(frame), source, radio },
      topicPrefix: topics.prefix,
      grouping,
    };
  };

  const handleFrame = (frame: RadioFrame): Promise<void> => {
    const reception: Reception = { receivedMonotonicMs: monotonicNow(), clockValidAtReception: clock.valid };
    metrics.frameReceived(frame.source.kind);
    lastFrameMs = frame.receivedAtMs;
    if (closed) return Promise.reject(new Error("gateway is stopping"));
    try {
      const result = decoder.decode(frame);
      return result.ok ? accepted(result.accepted, reception) : rejected(result, frame, reception);
    } catch (err) {
      // Not a bad frame (those never throw) but a failing part, e.g. the journal's FCnt lookup.
      log.log("frame_failed", sourceOf(frame), `frame handling failed: ${errorText(err)}`, "error");
      return Promise.reject(err);
    }
  };

  const accepted = (a: AcceptedUplink, reception: Reception): Promise<void> => {
    const device = options.registry().byDevEui(a.devEui);
    if (device === undefined) throw new Error(`device ${a.devEui} vanished from the registry`);
    const ids = { ...sourceOf(a.frame), devEui: a.devEui, devAddr: a.devAddr, fcnt: a.fcnt32 };
    if (a.fcntStatus === "gap") {
      metrics.fcntGap(a.missed);
      log.log("fcnt_gap", { ...ids, missed: a.missed }, "frame counter jumped: frames were missed", "info");
    }
    let decoded: DecodedUplink | undefined;
    try {
      decoded = decodeUplink(a.fport, a.payload);
      metrics.frameAccepted();
    } catch (err) {
      metrics.frameDropped("payload_malformed");
      log.log(
        "payload_malformed",
        { ...ids, fport: a.fport, bytes: a.payload.length, detail: errorText(err) },
        "payload not decodable; frame counter kept",
      );
    }
    const info = deviceInfo(device);
    const payload = Buffer.from(a.payload.buffer, a.payload.byteOffset, a.payload.byteLength).toString("hex");
    return submit({
      devEui: a.devEui,
      fcnt32: a.fcnt32,
      frame: a.frame,
      ...reception,
      decoded,
      record: (times) => ({
        ...recordOf(a.devEui, a.devAddr, a.fcnt32, a.fport, a.frame, times),
        payload,
        device: info,
      }),
    });
  };

  const rejected = (drop: UplinkDrop, frame: RadioFrame, reception: Reception): Promise<void> => {
    metrics.frameDropped(drop.reason);
    const context = {
      ...sourceOf(frame),
      ...(drop.devEui === undefined ? {} : { devEui: drop.devEui }),
      ...(drop.fcnt32 === undefined ? {} : { fcnt: drop.fcnt32 }),
      detail: drop.detail,
    };
    log.log(drop.reason, context, "frame dropped", QUIET_REASONS.has(drop.reason) ? "debug" : "warn");
    if (drop.devEui === undefined) return RESOLVED;
    const devEui = drop.devEui;
    if (drop.reason === "lorawan_no_fport" && drop.fcnt32 !== undefined) {
      // MAC commands only: no data, but the counter is consumed (lorawan/README.md, "Who persists").
      return submit({ devEui, fcnt32: drop.fcnt32, frame, ...reception, decoded: null });
    }
    if (drop.reason !== "lorawan_duplicate") return RESOLVED;
    metrics.duplicate();
    const first = drop.firstReception?.first;
    // Same source twice (two rxpk of one datagram) would repeat the first reception's id: nothing new.
    // A first copy without FPort made no observations to attach this reception to.
    if (first === undefined || sameSource(first.source, frame.source)) return RESOLVED;
    const { devAddr, fcnt32, fport } = first;
    if (fport === undefined || fport === 0) return RESOLVED;
    return submit({
      devEui,
      fcnt32: undefined,
      frame,
      ...reception,
      decoded: null,
      record: (times) => recordOf(devEui, devAddr, fcnt32, fport, frame, times),
    });
  };

  /** Journals the work now, or holds it while its time is unknown or its device has held work. */
  const submit = (work: Work): Promise<void> => {
    const times = work.record === undefined ? undefined : timesOf(work);
    const needsTime = work.record !== undefined && times === undefined;
    if (needsTime || heldDevices.has(work.devEui)) return hold(work);
    return append(work, times);
  };

  /** The frame's times under the policy, or undefined while they cannot be known. */
  const timesOf = (work: Work): ObservationTimes | undefined => {
    const { frame } = work;
    const choice = chooseUplinkTime(
      { receivedAtMs: frame.receivedAtMs, receivedMonotonicMs: work.receivedMonotonicMs, ...gpsOf(frame) },
      { trustGpsTime, clockValid: work.clockValidAtReception, minValidUnixS },
    );
    // Reception on the gateway's clock: as received when the clock was valid then, else resolved now.
    const reception =
      work.clockValidAtReception && isPlausibleTime(frame.receivedAtMs, minValidUnixS)
        ? frame.receivedAtMs
        : (clock.wallTimeOf(work.receivedMonotonicMs) ?? undefined);
    if (choice.source === "gps")
      return { uplinkTimeMs: choice.wallMs, resultTimeMs: reception ?? choice.wallMs };
    return reception === undefined ? undefined : { uplinkTimeMs: reception, resultTimeMs: reception };
  };

  const hold = (work: Work): Promise<void> => {
    if (held.length >= maxHeld) {
      metrics.frameDropped("observation_clock_hold_full");
      log.log(
        "observation_clock_hold_full",
        { ...sourceOf(work.frame), devEui: work.devEui, held: held.length },
        "clock still not valid and the hold is full: frame not accepted",
        "error",
      );
      return Promise.reject(new Error(`${held.length} frames already wait for a valid clock`));
    }
    if (held.length === 0) {
      log.log(
        "clock_not_valid",
        { maxHeldFrames: maxHeld },
        "clock not valid yet: holding frames until it is",
      );
    }
    const fcnt = maxDefined(heldDevices.get(work.devEui), work.fcnt32);
    heldDevices.set(work.devEui, fcnt);
    return new Promise<void>((resolve, reject) => held.push({ work, resolve, reject }));
  };

  /** The clock became valid: journal every held frame, in arrival order. */
  const release = (): void => {
    const items = held.splice(0);
    heldDevices.clear();
    if (items.length > 0) {
      log.log("clock_valid", { frames: items.length }, "clock valid: journaling held frames", "info");
    }
    for (const h of items) {
      const times = h.work.record === undefined ? undefined : timesOf(h.work);
      if (h.work.record !== undefined && times === undefined) {
        h.reject(new Error("clock reported valid but the frame's time is still unknown"));
        continue;
      }
      append(h.work, times).then(h.resolve, h.reject);
    }
  };
  clock.onValid(release);

  const append = (work: Work, times: ObservationTimes | undefined): Promise<void> => {
    let messages: OutgoingMessage[] = [];
    let record: string | undefined;
    if (work.record !== undefined && times !== undefined) {
      try {
        const frameRecord = work.record(times);
        messages = renderFrame(frameRecord, topics, work.decoded);
        record = JSON.stringify(frameRecord);
      } catch (err) {
        metrics.frameDropped("observation_build_failed");
        log.log(
          "observation_build_failed",
          { ...sourceOf(work.frame), devEui: work.devEui, detail: errorText(err) },
          "building messages failed; frame counter kept",
          "error",
        );
      }
    }
    // Never lower the persisted counter (it only moves up; a held frame cannot overtake, but be sure).
    const last = journal.lastFcnt(work.devEui);
    const advances = work.fcnt32 !== undefined && (last === undefined || work.fcnt32 > last);
    if (messages.length === 0 && !advances) return RESOLVED;
    let appended: Promise<void>;
    try {
      appended = journal.append({
        devEui: work.devEui,
        messages,
        ...(record !== undefined && messages.length > 0 && { record }),
        ...(advances && { fcnt32: work.fcnt32 }),
      });
    } catch (err) {
      appended = Promise.reject(err);
    }
    const done = appended.then(
      () => {
        journalError = undefined;
        metrics.messagesJournaled(messages.length);
        options.onJournaled();
      },
      (err: unknown) => {
        journalError = errorText(err);
        log.log(
          "journal_append_failed",
          { devEui: work.devEui, detail: journalError },
          "journal append failed: frame not acknowledged",
          "error",
        );
        throw err;
      },
    );
    inflight.add(done);
    done.then(
      () => inflight.delete(done),
      () => inflight.delete(done),
    );
    return done;
  };

  return {
    handleFrame,
    handleDrop(reason, detail, context) {
      metrics.frameDropped(reason);
      log.log(
        reason,
        { ...context, detail },
        "input dropped",
        reason === "frame_handler_failed" ? "error" : "warn",
      );
    },
    status: () => ({
      heldFrames: held.length,
      ...(lastFrameMs === undefined ? {} : { lastFrameMs }),
      ...(journalError === undefined ? {} : { journalError }),
    }),
    async drain() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
    close() {
      closed = true;
      const items = held.splice(0);
      heldDevices.clear();
      if (items.length > 0) {
        log.log(
          "clock_not_valid",
          { frames: items.length },
          "stopping before the clock became valid: held frames were never acknowledged and are dropped",
          "warn",
        );
      }
      for (const h of items) h.reject(new Error("gateway stopped before the clock became valid"));
    },
  };
}

/**
 * The registry fields the envelopes use, and never the session keys: a record keeps them, so a later
 * change in the registry does not alter its messages.
 */
function deviceInfo(device: DeviceInfo): DeviceInfo {
  const { devEui, name, location, sensors, licence, directionAB, installedAt } = device;
  return { devEui, name, location, sensors, licence, directionAB, installedAt };
}

function gpsOf(frame: RadioFrame): { gpsTimeMs?: number } {
  return frame.gpsTimeMs === undefined ? {} : { gpsTimeMs: frame.gpsTimeMs };
}

function sourceOf(frame: RadioFrame): { source: string; sourceId: string } {
  return { source: frame.source.kind, sourceId: frame.source.id };
}

function sameSource(a: RadioFrame["source"], b: RadioFrame["source"]): boolean {
  return a.kind === b.kind && a.id === b.id;
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.max(a, b);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
