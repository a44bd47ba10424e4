/**
 * Draining a backlog: with the broker stopped, a forwarder fills the journal with the climate uplinks of
 * `backlogDevices` devices (several frames each, all acknowledged, so durable) that carry at least
 * `backlogObservations` observations; then the broker starts again while other devices keep sending at a
 * moderate rate. The drain rate is the backlog divided by the time from the gateway's reconnect until the
 * journal holds less than 1 % of it, in observations and in messages (a message carries one datastream's
 * observations of an uplink); the live frames' latency over that time shows whether fresh data waits for
 * the backlog.
 */
import type { TestBroker } from "../support/mqtt-broker.ts";
import { UdpFeeder } from "./gateway-feeder.ts";
import { type BenchDevice, buildDatagrams } from "./gateway-fleet.ts";
import {
  HealthPoller,
  readCounters,
  readHealth,
  sleep,
  startBenchGateway,
  waitUntil,
} from "./gateway-harness.ts";
import { type LatencySummary, ObservationWatcher, sendPaced, summarise } from "./gateway-latency.ts";
import { messagesOfOneFrame, observationsOfFrame } from "./gateway-raw-mqtt.ts";
import { waitConnected } from "./gateway-throughput.ts";

export interface DrainOptions {
  broker: TestBroker;
  fleet: readonly BenchDevice[];
  backlogObservations: number;
  /** Devices [0, backlogDevices) make the backlog; the last `liveDevices` of the fleet the live traffic. */
  backlogDevices: number;
  liveDevices: number;
  liveRatePerS: number;
  log: (message: string) => void;
}

export interface DrainResult {
  backlogObservations: number;
  backlogMessages: number;
  drainS: number;
  /** Backlog observations, and messages, per second of drain. */
  obsPerS: number;
  messagesPerS: number;
  /** All messages PUBACKed per second during the drain (backlog and live). */
  totalAckedPerS: number;
  /** Live frames sent between the reconnect and the end of the drain. */
  live: LatencySummary;
}

export async function benchDrain(o: DrainOptions): Promise<DrainResult> {
  const { broker, fleet } = o;
  const gw = await startBenchGateway(broker.url, fleet);
  let watcher: ObservationWatcher | undefined;
  try {
    await waitConnected(gw.httpPort);
    await broker.stop();
    await waitUntil(async () => !(await readHealth(gw.httpPort)).connected, "the gateway to notice", 10_000);

    const obsPerFrame = observationsOfFrame(messagesOfOneFrame(fleet[0]!, 1));
    const frames = Math.ceil(o.backlogObservations / obsPerFrame);
    o.log(`gateway drain: ${frames} frames into the journal with the broker stopped`);
    const feeder = await UdpFeeder.open(gw.udp);
    await feeder.closedLoop({
      datagrams: buildDatagrams(fleet, { frames, deviceRange: [0, o.backlogDevices], perDatagram: 8 }),
      window: 16,
    });
    await feeder.settle();
    await feeder.close();
    if (feeder.counts.lost > 0) throw new Error(`${feeder.counts.lost} datagrams were not acknowledged`);
    const backlog = (await readHealth(gw.httpPort)).depth;

    await broker.start();
    const liveEuis = fleet.slice(fleet.length - o.liveDevices).map((d) => d.input.devEui);
    watcher = await ObservationWatcher.open(broker.url, liveEuis);
    const health = new HealthPoller(gw.httpPort, 20);
    let done = false;
    const live = sendPaced(
      gw,
      fleet,
      {
        frames: o.liveRatePerS * 60,
        deviceRange: [fleet.length - o.liveDevices, fleet.length],
        firstFcnt: 1,
      },
      o.liveRatePerS,
      watcher,
      () => done,
    );
    o.log(
      `gateway drain: broker back, ${backlog} messages queued, live traffic at ${o.liveRatePerS} frames/s`,
    );
    let connectedAt: number | undefined;
    let ackedAtConnect = 0;
    const threshold = backlog / 100;
    const deadline = performance.now() + 120_000;
    for (;;) {
      if (connectedAt === undefined && health.connected) {
        connectedAt = performance.now();
        ackedAtConnect = (await readCounters(gw.httpPort)).acked;
      }
      if (connectedAt !== undefined && health.depth < threshold) break;
      if (performance.now() > deadline) throw new Error("the backlog did not drain within 120 s");
      await sleep(20);
    }
    const drainedAt = performance.now();
    const acked = (await readCounters(gw.httpPort)).acked - ackedAtConnect;
    await sleep(1000);
    done = true;
    const liveSent = await live;
    await health.stop();
    await waitUntil(() => watcher!.pending === 0, "the last live observations", 5000).catch(() => {});
    const drainS = (drainedAt - connectedAt!) / 1000;
    const lat = watcher.latencies(connectedAt, drainedAt);
    const sentInWindow = liveSent.filter((t) => t >= connectedAt! && t < drainedAt).length;
    // Drained: all but the 1 % left, of the messages and in proportion of the observations.
    const drainedShare = (backlog - threshold) / backlog;
    return {
      backlogObservations: frames * obsPerFrame,
      backlogMessages: backlog,
      drainS,
      obsPerS: (frames * obsPerFrame * drainedShare) / drainS,
      messagesPerS: (backlog * drainedShare) / drainS,
      totalAckedPerS: acked / drainS,
      live: summarise(lat, sentInWindow),
    };
  } finally {
    await watcher?.close();
    await gw.dispose();
    await broker.start();
  }
}
