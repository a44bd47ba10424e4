// Shared by the gateway fault suites: seeded test devices, a steady stream of climate uplinks sent by a
// virtual packet forwarder (ACK-paced, recording which frames were PUSH_ACKed), the messages and the
// observations a frame must produce, and an analysis of what a subscriber collected (losses, duplicates
// per message and per observation, order per device).
import { createSocket } from "node:dgram";
import type { DeviceInput } from "../../../gateway/lorawan/registry.ts";
import { batchId, type ObservationEnvelope } from "../../../gateway/observations/index.ts";
import { encodeClimate } from "../../../shared/payload/index.ts";
import type { ClimateInput } from "../../../shared/payload/types.ts";
import { Random } from "../../../tools/sim/models/random.ts";
import { fcntHex, rxpk, uplink, type VirtualForwarder } from "../../integration/gateway/helpers.ts";
import { metricValue, scrapeMetrics } from "../../support/gateway.ts";
import type { CollectedMessage, Collector } from "../../support/mqtt-broker.ts";
import { observationsIn } from "../../support/observations.ts";

/** Devices with seeded random session keys and distinct DevAddrs. */
export function makeDevices(count: number, seed: number): DeviceInput[] {
  const random = new Random(seed);
  const hex = (bytes: number) =>
    Array.from({ length: bytes }, () => random.int(0, 255).toString(16).padStart(2, "0"))
      .join("")
      .toUpperCase();
  return Array.from({ length: count }, (_, i) => ({
    devEui: `70B3D57EF0${(0x100 + i).toString(16).toUpperCase().padStart(6, "0")}`,
    devAddr: `27${(0x1000 + i).toString(16).toUpperCase().padStart(6, "0")}`,
    nwkSKey: hex(16),
    appSKey: hex(16),
    name: `fault-node-${i}`,
    location: { lat: 52.37 + i / 1000, lon: 9.73 },
    sensors: ["climate" as const],
  }));
}

/** Climate samples that depend on device and FCnt, so a value in the wrong frame is noticed. */
export function climateFor(device: number, fcnt: number): ClimateInput {
  return {
    intervalMin: 5,
    ageS: 5,
    batteryMv: 3000 + ((fcnt * 7 + device) % 600),
    temperatures: [0, 1, 2].map((i) => 1500 + ((fcnt * 37 + device * 101 + i * 3) % 1000)),
    humidities: [0, 1, 2].map((i) => 4000 + ((fcnt * 53 + device * 7 + i) % 3000)),
  };
}

export function climateFrame(devices: DeviceInput[], device: number, fcnt: number): Uint8Array {
  return uplink(devices[device]!, fcnt, 1, encodeClimate(climateFor(device, fcnt)));
}

/** Datastreams of a climate frame, in the order the gateway journals their messages. */
const CLIMATE_DATASTREAMS = ["air_temperature", "relative_humidity", "battery_voltage"] as const;

/**
 * Messages a climate frame produces (the gateway's default grouping: one per uplink and datastream):
 * temperature, humidity and battery batches, then the radio metadata.
 */
export const MESSAGES_PER_FRAME = 4;

/** Observations a climate frame of climateFor() carries: 3 temperatures, 3 humidities, the battery. */
export const OBSERVATIONS_PER_FRAME = 7;

/** The keys of the messages of one climate frame (position in the list = order within the frame). */
export function frameKeys(devEui: string, fcnt: number, forwarderEui: string): string[] {
  return [
    ...CLIMATE_DATASTREAMS.map((ds) => batchId(devEui, fcnt, ds)),
    `${devEui}-${fcntHex(fcnt)}-uplink-udp:${forwarderEui}`,
  ];
}

/** The "@iot.id"s of the observations of one climate frame of climateFor(). */
export function frameObservationIds(devEui: string, fcnt: number): string[] {
  const base = `${devEui}-${fcntHex(fcnt)}`;
  return [
    ...["air_temperature", "relative_humidity"].flatMap((ds) => [0, 1, 2].map((i) => `${base}-${ds}-${i}`)),
    `${base}-battery_voltage-0`,
  ];
}

/** The observations a message carries (batch or single envelope); none for other messages. */
export function observationsOf(m: CollectedMessage): ObservationEnvelope[] {
  if (m.payload === "" || m.retain) return [];
  if (!m.topic.includes("/observations/") && !m.topic.endsWith("/battery_voltage")) return [];
  return observationsIn(m);
}

/**
 * The id of a journaled message from what the subscriber got: a batch's (or an observation's) "@iot.id",
 * or the radio metadata's id (DevEUI, FCnt, source). Undefined for retained announcements (status, device
 * metadata).
 */
export function messageKey(m: CollectedMessage): string | undefined {
  if (m.payload === "" || m.retain) return undefined;
  const body = JSON.parse(m.payload) as Record<string, unknown>;
  if (typeof body["@iot.id"] === "string") return body["@iot.id"];
  if (m.topic.includes("/operator/uplinks/")) {
    const source = body.source as { kind: string; id: string };
    return `${body.devEui as string}-${fcntHex(body.fcnt as number)}-uplink-${source.kind}:${source.id}`;
  }
  return undefined;
}

export interface Delivery {
  /** Messages per key, in arrival order. */
  byKey: Map<string, CollectedMessage[]>;
  /** Keys in order of first arrival. */
  firstArrivals: string[];
  /** Extra copies (arrivals beyond the first). */
  duplicates: number;
  /** Keys whose copies differ in topic or payload. */
  conflicting: string[];
  /** Every copy of each observation, by its "@iot.id", taken out of the messages in arrival order. */
  observations: Map<string, ObservationEnvelope[]>;
  /** Observation ids whose copies differ in content, or that came on different topics. */
  conflictingObservations: string[];
}

export function analyse(messages: readonly CollectedMessage[]): Delivery {
  const byKey = new Map<string, CollectedMessage[]>();
  const firstArrivals: string[] = [];
  const observations = new Map<string, ObservationEnvelope[]>();
  const observationTopics = new Map<string, Set<string>>();
  let duplicates = 0;
  for (const m of messages) {
    const key = messageKey(m);
    if (key === undefined) continue;
    const list = byKey.get(key);
    if (list === undefined) {
      byKey.set(key, [m]);
      firstArrivals.push(key);
    } else {
      list.push(m);
      duplicates++;
    }
    for (const o of observationsOf(m)) {
      const id = o["@iot.id"];
      observations.set(id, [...(observations.get(id) ?? []), o]);
      observationTopics.set(id, (observationTopics.get(id) ?? new Set()).add(m.topic));
    }
  }
  const conflicting = [...byKey]
    .filter(([, list]) => list.some((m) => m.topic !== list[0]!.topic || m.payload !== list[0]!.payload))
    .map(([key]) => key);
  const conflictingObservations = [...observations]
    .filter(([id, copies]) => {
      const first = JSON.stringify(copies[0]);
      return observationTopics.get(id)!.size > 1 || copies.some((o) => JSON.stringify(o) !== first);
    })
    .map(([id]) => id);
  return { byKey, firstArrivals, duplicates, conflicting, observations, conflictingObservations };
}

/**
 * Observation values that do not match climateFor(device, fcnt) (a frame decoded with the wrong counter or
 * key), in any copy of any observation of the given devices.
 */
export function wrongValues(
  delivery: Delivery,
  devices: DeviceInput[],
): Array<{ id: string; result: number; expected: number }> {
  const index = new Map(devices.map((d, i) => [d.devEui, i]));
  const out: Array<{ id: string; result: number; expected: number }> = [];
  for (const [id, copies] of delivery.observations) {
    const match =
      /^([0-9A-F]{16})-([0-9A-F]{8})-(air_temperature|relative_humidity|battery_voltage)-(\d+)$/.exec(id);
    const device = match === null ? undefined : index.get(match[1]!);
    if (match === null || device === undefined) {
      out.push({ id, result: Number.NaN, expected: Number.NaN }); // not an observation of these devices
      continue;
    }
    const input = climateFor(device, Number.parseInt(match[2]!, 16));
    const sample = Number(match[4]);
    const expected =
      match[3] === "battery_voltage"
        ? input.batteryMv! / 1000
        : (match[3] === "air_temperature" ? input.temperatures : input.humidities)[sample]! / 100;
    for (const o of copies) {
      if (!(Math.abs(o.result - expected) <= 1e-9)) out.push({ id, result: o.result, expected });
    }
  }
  return out;
}

/**
 * Per device, the first arrivals must follow the journal order: FCnt, then position within the frame.
 * Returns the first violation per device (empty when in order).
 */
export function orderViolations(delivery: Delivery, forwarderEui: string): string[] {
  const position = new Map<string, { devEui: string; rank: number }>();
  for (const key of delivery.byKey.keys()) {
    const m = /^([0-9A-F]{16})-([0-9A-F]{8})-/.exec(key);
    if (m === null) continue;
    const fcnt = Number.parseInt(m[2]!, 16);
    const pos = frameKeys(m[1]!, fcnt, forwarderEui).indexOf(key);
    if (pos >= 0) position.set(key, { devEui: m[1]!, rank: fcnt * MESSAGES_PER_FRAME + pos });
  }
  const last = new Map<string, { key: string; rank: number }>();
  const violations: string[] = [];
  const reported = new Set<string>();
  for (const key of delivery.firstArrivals) {
    const p = position.get(key);
    if (p === undefined) continue;
    const before = last.get(p.devEui);
    if (before !== undefined && p.rank <= before.rank && !reported.has(p.devEui)) {
      reported.add(p.devEui);
      violations.push(`${key} arrived after ${before.key}`);
    }
    last.set(p.devEui, { key, rank: p.rank });
  }
  return violations;
}

export interface StreamFrame {
  device: number;
  fcnt: number;
  phy: Uint8Array;
}

export interface UplinkStreamOptions {
  /** PUSH_DATA datagrams awaiting their PUSH_ACK at most (one frame each). */
  window: number;
}

/**
 * A steady stream of climate uplinks from a virtual packet forwarder: devices round-robin, increasing FCnt,
 * at most `window` datagrams awaiting their PUSH_ACK; each ACK sends the next frame. No timers: the pace is
 * the gateway's. `acked` is what the gateway promised to keep.
 */
export class UplinkStream {
  /** Frames whose PUSH_ACK arrived, in ACK order. */
  readonly acked: StreamFrame[] = [];
  /** Called after each PUSH_ACK has been recorded (before the next frame is sent). */
  onAck: ((frame: StreamFrame) => void) | undefined;
  private readonly outstanding = new Map<number, StreamFrame>();
  private readonly nextFcnt: number[];
  private nextDevice = 0;
  private running = false;
  /** Frames still to send before the stream pauses by itself (Infinity: until stop()). */
  private budget = Number.POSITIVE_INFINITY;
  private waiters: Array<() => void> = [];

  constructor(
    readonly forwarder: VirtualForwarder,
    readonly devices: DeviceInput[],
    private readonly options: UplinkStreamOptions,
  ) {
    this.nextFcnt = devices.map(() => 1);
    forwarder.onAck = (token) => this.handleAck(token);
  }

  /** Streams until stop(), or `frames` more frames when given. */
  start(frames = Number.POSITIVE_INFINITY): void {
    this.running = true;
    this.budget = frames;
    this.fill();
  }

  /** Sends no new frames; those in flight may still be acknowledged. */
  stop(): void {
    this.running = false;
  }

  /** Frames sent but never acknowledged; forgets them (a real forwarder never re-sends). */
  takeUnacked(): StreamFrame[] {
    const frames = [...this.outstanding.values()];
    this.outstanding.clear();
    return frames;
  }

  /** Sends frames again, as they were (same bytes), e.g. after a gateway restart. */
  resend(frames: StreamFrame[]): void {
    for (const f of frames) this.sendFrame(f);
  }

  /** The devices' counters move on by up to `max` frames each: frames sent while nobody listened. */
  skip(random: Random, max: number): void {
    for (let i = 0; i < this.nextFcnt.length; i++) this.nextFcnt[i]! += random.int(0, max);
  }

  /** Resolves once `done()` holds, re-checked after every ACK. */
  until(done: () => boolean, label: string, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`${label}: not reached within ${timeoutMs} ms (${this.acked.length} acked)`));
      }, timeoutMs);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Streams `frames` more frames and resolves when every frame in flight has been acknowledged. */
  async streamFrames(frames: number, timeoutMs = 20_000): Promise<void> {
    const target = this.acked.length + frames;
    this.start(frames);
    await this.until(() => this.acked.length >= target && this.outstanding.size === 0, "stream", timeoutMs);
    this.stop();
  }

  private sendFrame(frame: StreamFrame): void {
    const token = this.forwarder.push([rxpk(frame.phy)]);
    this.outstanding.set(token, frame);
  }

  private handleAck(token: number): void {
    const frame = this.outstanding.get(token);
    if (frame === undefined) return;
    this.outstanding.delete(token);
    this.acked.push(frame);
    this.onAck?.(frame);
    for (const w of this.waiters.splice(0)) w();
    this.fill();
  }

  private fill(): void {
    while (this.running && this.budget > 0 && this.outstanding.size < this.options.window) {
      const device = this.nextDevice;
      this.nextDevice = (this.nextDevice + 1) % this.devices.length;
      const fcnt = this.nextFcnt[device]!++;
      this.budget--;
      this.sendFrame({ device, fcnt, phy: climateFrame(this.devices, device, fcnt) });
    }
  }
}

/** A free UDP port on 127.0.0.1 (bind port 0, read it, release it): the gateway's fixed port across restarts. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Polls /metrics until `predicate` holds for the series' value (for states that send no event). */
export async function waitForMetric(
  httpPort: number,
  series: string,
  predicate: (value: number | undefined) => boolean,
  timeoutMs = 20_000,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = metricValue(await scrapeMetrics(httpPort), series);
    if (predicate(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`${series} = ${value}: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every frames_dropped_total{reason} of a scrape. */
export function dropCounters(metrics: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of metrics.matchAll(/^openherz_gateway_frames_dropped_total\{reason="([^"]+)"\} (\S+)$/gm)) {
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Non-zero increments between two drop-counter snapshots. */
export function dropDeltas(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [reason, value] of after) {
    const delta = value - (before.get(reason) ?? 0);
    if (delta !== 0) out[reason] = delta;
  }
  return out;
}

/**
 * Resolves once each of `keys` has arrived (checked incrementally on every arrival): message keys
 * (frameKeys) or observation ids (frameObservationIds), which may be mixed.
 */
export async function waitForKeys(
  subscriber: Collector,
  keys: Iterable<string>,
  timeoutMs = 30_000,
): Promise<void> {
  const missing = new Set(keys);
  let next = 0;
  try {
    await subscriber.waitFor((messages) => {
      for (; next < messages.length; next++) {
        const m = messages[next]!;
        const key = messageKey(m);
        if (key !== undefined) missing.delete(key);
        for (const o of observationsOf(m)) missing.delete(o["@iot.id"]);
      }
      return missing.size === 0;
    }, timeoutMs);
  } catch (err) {
    const examples = [...missing].slice(0, 5).join(", ");
    throw new Error(`${missing.size} expected messages never arrived, e.g. ${examples}`, { cause: err });
  }
}
