/**
 * Latency of the gateway process: a forwarder sends one frame per datagram at a fixed rate, a subscriber on
 * the broker waits for each frame's observations; a frame's latency is the time from sending its datagram
 * to the arrival of the last of its observation messages (with the default grouping, one batch per
 * open-data datastream, found by its batch id).
 */
import mqtt, { type MqttClient } from "mqtt";
import { batchId, formatFcnt } from "../../gateway/observations/index.ts";
import { UdpFeeder } from "./gateway-feeder.ts";
import { type BenchDevice, buildDatagrams, type FrameSchedule, scheduledFrame } from "./gateway-fleet.ts";
import { type BenchGateway, percentile, startBenchGateway, waitUntil } from "./gateway-harness.ts";
import { waitConnected } from "./gateway-throughput.ts";

/**
 * The open-data datastreams of a climate uplink: with the default grouping each is one message on the
 * observation topics, with the uplink's 12 samples.
 */
export const WATCHED_DATASTREAMS = ["air_temperature", "relative_humidity"] as const;

/** A batch's id at the start of its payload (a per-observation envelope's id ends in a sample index). */
const ID_PATTERN = /^\{"@iot\.id":"([0-9A-F]{16}-[0-9A-F]{8}-[a-z_]+)"/;

/** A subscriber that times frames: expect() when a frame is sent, its latency once all its messages came. */
export class ObservationWatcher {
  /** Frames awaited, by DevEUI-FCnt: send time and the batch ids still to come. */
  private readonly frames = new Map<string, { sentAt: number; remaining: number }>();
  /** Batch id → its frame. */
  private readonly frameOf = new Map<string, string>();
  /** [send time, latency in ms] of every completed frame. */
  readonly completed: Array<[number, number]> = [];

  private constructor(private readonly client: MqttClient) {
    client.on("message", (_topic, payload) => {
      const at = performance.now();
      const id = ID_PATTERN.exec(payload.toString("latin1", 0, 80))?.[1];
      if (id === undefined) return;
      const key = this.frameOf.get(id);
      if (key === undefined) return; // not awaited, or a second copy
      this.frameOf.delete(id);
      const frame = this.frames.get(key)!;
      if (--frame.remaining > 0) return;
      this.frames.delete(key);
      this.completed.push([frame.sentAt, at - frame.sentAt]);
    });
  }

  /** Subscribes (QoS 0) to the observation topics of the given devices, or of all devices. */
  static async open(url: string, devEuis?: readonly string[]): Promise<ObservationWatcher> {
    const client = await mqtt.connectAsync(url, {
      clientId: `bench-watcher-${process.pid}-${Date.now()}`,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    const filters =
      devEuis === undefined
        ? ["openherz/v1/observations/#"]
        : devEuis.map((eui) => `openherz/v1/observations/${eui}/#`);
    for (let i = 0; i < filters.length; i += 500) {
      await client.subscribeAsync(filters.slice(i, i + 500), { qos: 0 });
    }
    return new ObservationWatcher(client);
  }

  expect(devEui: string, fcnt32: number, sentAtMs: number): void {
    const key = `${devEui}-${formatFcnt(fcnt32)}`;
    this.frames.set(key, { sentAt: sentAtMs, remaining: WATCHED_DATASTREAMS.length });
    for (const ds of WATCHED_DATASTREAMS) this.frameOf.set(batchId(devEui, fcnt32, ds), key);
  }

  get pending(): number {
    return this.frames.size;
  }

  /** Latencies (ms) of the frames sent in [fromMs, toMs). */
  latencies(fromMs = Number.NEGATIVE_INFINITY, toMs = Number.POSITIVE_INFINITY): number[] {
    return this.completed.filter(([sent]) => sent >= fromMs && sent < toMs).map(([, ms]) => ms);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  frames: number;
  /** Frames sent in the window whose observation messages did not all arrive. */
  missing: number;
}

export function summarise(latencies: readonly number[], expected: number): LatencySummary {
  return {
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length === 0 ? Number.NaN : Math.max(...latencies),
    frames: latencies.length,
    missing: expected - latencies.length,
  };
}

/**
 * Sends the schedule's frames, one per datagram, at `ratePerS`, telling the watcher about each; returns the
 * send time of every frame.
 */
export async function sendPaced(
  gw: BenchGateway,
  fleet: readonly BenchDevice[],
  schedule: FrameSchedule,
  ratePerS: number,
  watcher: ObservationWatcher,
  stop: () => boolean = () => false,
): Promise<number[]> {
  const datagrams = buildDatagrams(fleet, { ...schedule, perDatagram: 1 });
  const feeder = await UdpFeeder.open(gw.udp);
  const sent: number[] = [];
  try {
    await feeder.paced({
      datagrams,
      ratePerS,
      stop,
      onSend: (k, at) => {
        const f = scheduledFrame(fleet, schedule, k);
        watcher.expect(f.devEui, f.fcnt32, at);
        sent.push(at);
      },
    });
    await feeder.settle();
  } finally {
    await feeder.close();
  }
  return sent;
}

export interface LatencyOptions {
  brokerUrl: string;
  fleet: readonly BenchDevice[];
  ratePerS: number;
  warmupMs: number;
  measureMs: number;
  log: (message: string) => void;
  /** Gateway config sections over the benchmark's (e.g. another journal.commitIntervalMs). */
  config?: Record<string, unknown>;
}

export async function benchLatency(o: LatencyOptions): Promise<LatencySummary> {
  const gw = await startBenchGateway(o.brokerUrl, o.fleet, o.config);
  const watcher = await ObservationWatcher.open(o.brokerUrl);
  try {
    await waitConnected(gw.httpPort);
    const frames = Math.round(((o.warmupMs + o.measureMs) / 1000) * o.ratePerS);
    o.log(`gateway latency: ${frames} frames at ${o.ratePerS} frames/s`);
    const sent = await sendPaced(gw, o.fleet, { frames, firstFcnt: 1 }, o.ratePerS, watcher);
    await waitUntil(() => watcher.pending === 0, "the last observations", 5000).catch(() => {});
    const from = sent[0]! + o.warmupMs;
    return summarise(watcher.latencies(from), sent.filter((t) => t >= from).length);
  } finally {
    await watcher.close();
    await gw.dispose();
  }
}
