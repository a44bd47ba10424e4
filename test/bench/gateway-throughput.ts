/**
 * Sustained throughput of the gateway process, UDP in → LoRaWAN → journal (SQLite, synchronous=FULL) →
 * MQTT PUBACK: a forwarder on its own socket sends pre-built PUSH_DATA datagrams of several frames as fast
 * as the gateway acknowledges them (a bounded window of unacknowledged datagrams), and pauses while the
 * journal holds more than `maxBacklog` messages, so that what goes in is what the broker acknowledges.
 * After a warm-up the counters, CPU and disk writes are read once per slice; rates are medians of slices.
 */
import type { GatewayLaunch } from "../support/gateway.ts";
import { UdpFeeder } from "./gateway-feeder.ts";
import { type BenchDevice, buildDatagrams } from "./gateway-fleet.ts";
import {
  cpuSecondsOf,
  type GatewayCounters,
  HealthPoller,
  median,
  type ProcSample,
  procSample,
  readCounters,
  readHealth,
  sleep,
  startBenchGateway,
  udpReceiveBufferErrors,
} from "./gateway-harness.ts";

export interface ThroughputOptions {
  brokerUrl: string;
  brokerPid: number | undefined;
  fleet: readonly BenchDevice[];
  framesPerDatagram: number;
  /** Datagrams awaiting PUSH_ACK at most. */
  window: number;
  /** Journal messages above which the forwarder pauses. */
  maxBacklog: number;
  /** Frames built in advance; the run ends early if they run out. */
  frames: number;
  warmupMs: number;
  slices: number;
  sliceMs: number;
  log: (message: string) => void;
  /** Extra environment for the gateway process (e.g. NODE_OPTIONS=--cpu-prof). */
  env?: NodeJS.ProcessEnv;
  /** Entry script and node flags (default: the developer entry, no flags). */
  launch?: GatewayLaunch;
}

export interface ThroughputResult {
  /** Median over slices: frames whose messages were all PUBACKed, per second. */
  framesPerS: number;
  /** Median over slices: frames accepted and journaled per second. */
  ingestFramesPerS: number;
  /** Median over slices: messages PUBACKed per second. */
  ackedMsgsPerS: number;
  /** Messages the gateway makes of one frame (observation batches, battery voltage, radio metadata). */
  msgsPerFrame: number;
  /** CPU of the gateway process (all threads) and of its main thread, % of one core, median over slices. */
  cpuPct: number;
  mainThreadCpuPct: number;
  brokerCpuPct: number;
  benchCpuPct: number;
  /** Over the measured interval: bytes the gateway wrote to storage per frame journaled. */
  diskBytesPerFrame: number;
  /** Journal database + WAL at the end of the measured interval. */
  journalFileBytes: number;
  journalDepthStart: number;
  journalDepthEnd: number;
  rssMb: number;
  lostDatagrams: number;
  /** Datagrams the kernel dropped for a full socket receive buffer during the run (host-wide count). */
  udpBufferDrops: number;
  droppedFrames: number;
  ranOut: boolean;
  slices: number[];
}

export async function benchThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  o.log(`gateway throughput: building ${o.frames} frames`);
  const datagrams = buildDatagrams(o.fleet, { frames: o.frames, perDatagram: o.framesPerDatagram });
  const gw = await startBenchGateway(o.brokerUrl, o.fleet, {}, o.env, o.launch);
  const feeder = await UdpFeeder.open(gw.udp);
  const udpErrorsBefore = udpReceiveBufferErrors();
  try {
    await waitConnected(gw.httpPort);
    let stopped = false;
    const health = new HealthPoller(gw.httpPort);
    const feeding = feeder.closedLoop({
      datagrams,
      window: o.window,
      stop: () => stopped,
      paused: () => health.depth > o.maxBacklog,
    });
    o.log(`gateway throughput: warm-up ${o.warmupMs} ms, then ${o.slices} × ${o.sliceMs} ms`);
    await sleep(o.warmupMs);

    type Point = { c: GatewayCounters; p: ProcSample; broker: number; bench: number };
    const point = async (): Promise<Point> => ({
      c: await readCounters(gw.httpPort),
      p: procSample(gw.pid),
      broker: o.brokerPid === undefined ? 0 : cpuSecondsOf(o.brokerPid),
      bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    });
    const points: Point[] = [await point()];
    let ranOut = false;
    for (let i = 0; i < o.slices; i++) {
      await sleep(o.sliceMs);
      points.push(await point());
      if (feeder.counts.sent >= datagrams.length) {
        ranOut = true;
        break;
      }
    }
    stopped = true;
    await feeding;
    await feeder.settle();
    await health.stop();
    // Messages per frame from the totals, once every commit of the run is counted.
    const totals = await readCounters(gw.httpPort);

    const first = points[0]!;
    const last = points[points.length - 1]!;
    const msgsPerFrame = totals.journaled / totals.accepted;
    const frames: number[] = [];
    const ingest: number[] = [];
    const acked: number[] = [];
    const cpu: number[] = [];
    const mainCpu: number[] = [];
    const brokerCpu: number[] = [];
    const benchCpu: number[] = [];
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1]!;
      const b = points[i]!;
      const s = (b.p.atMs - a.p.atMs) / 1000;
      acked.push((b.c.acked - a.c.acked) / s);
      frames.push((b.c.acked - a.c.acked) / msgsPerFrame / s);
      ingest.push((b.c.accepted - a.c.accepted) / s);
      cpu.push(((b.p.cpuS - a.p.cpuS) / s) * 100);
      mainCpu.push(((b.p.mainThreadCpuS - a.p.mainThreadCpuS) / s) * 100);
      brokerCpu.push(((b.broker - a.broker) / s) * 100);
      benchCpu.push(((b.bench - a.bench) / s) * 100);
    }
    const journaledFrames = last.c.accepted - first.c.accepted;
    return {
      framesPerS: median(frames),
      ingestFramesPerS: median(ingest),
      ackedMsgsPerS: median(acked),
      msgsPerFrame,
      cpuPct: median(cpu),
      mainThreadCpuPct: median(mainCpu),
      brokerCpuPct: median(brokerCpu),
      benchCpuPct: median(benchCpu),
      diskBytesPerFrame: (last.p.writeBytes - first.p.writeBytes) / journaledFrames,
      journalFileBytes: last.c.journalFileBytes,
      journalDepthStart: first.c.journalMessages,
      journalDepthEnd: last.c.journalMessages,
      rssMb: last.p.rssMb,
      lostDatagrams: feeder.counts.lost,
      udpBufferDrops: udpReceiveBufferErrors() - udpErrorsBefore,
      droppedFrames: last.c.dropped,
      ranOut,
      slices: frames,
    };
  } finally {
    await feeder.close();
    await gw.dispose();
  }
}

/** Waits until the gateway's publisher is connected (it starts connecting in the background). */
export async function waitConnected(httpPort: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await readHealth(httpPort)).connected) {
    if (performance.now() > deadline) throw new Error("gateway did not connect to the broker");
    await sleep(50);
  }
}
