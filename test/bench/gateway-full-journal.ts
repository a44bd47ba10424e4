/**
 * Memory with a full journal, as deployed: with the broker stopped, a forwarder sends frames until the
 * journal holds its default bound (256 MiB of messages) and drops the oldest; then the gateway is killed
 * (kill -9) and started again on the same journal, and the broker comes back and the backlog drains. RSS and
 * V8 heap at each step, and the highest RSS of each process (VmHWM), show whether the defaults fit the unit's
 * MemoryMax: a gateway killed for memory with a full journal would be killed again after every restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GatewayLaunch, metricValue, scrapeMetrics } from "../support/gateway.ts";
import type { TestBroker } from "../support/mqtt-broker.ts";
import { UdpFeeder } from "./gateway-feeder.ts";
import { type BenchDevice, buildDatagrams } from "./gateway-fleet.ts";
import {
  type BenchGateway,
  procSample,
  readCounters,
  readHealth,
  startBenchGateway,
  waitUntil,
} from "./gateway-harness.ts";

export interface FullJournalOptions {
  broker: TestBroker;
  fleet: readonly BenchDevice[];
  /** Frames sent with the broker stopped: enough to pass the journal's byte bound. */
  frames: number;
  launch: GatewayLaunch;
  log: (message: string) => void;
}

export interface MemoryPoint {
  rssMb: number;
  heapUsedMb: number;
}

export interface FullJournalResult {
  /** Messages in the journal once full, and messages it dropped to stay within its bound. */
  messages: number;
  droppedBySize: number;
  full: MemoryPoint;
  /** VmHWM of the process that filled the journal. */
  fillPeakRssMb: number;
  /** The new process, started on the full journal. */
  restarted: MemoryPoint;
  /** Highest RSS of the new process, through the drain. */
  drainPeakRssMb: number;
  drainS: number;
}

export async function benchFullJournal(o: FullJournalOptions): Promise<FullJournalResult> {
  const dir = mkdtempSync(join(tmpdir(), "openherz-full-journal-"));
  // Only the journal's place differs from startBenchGateway's defaults; its bounds are the production ones.
  const config = { journal: { path: join(dir, "journal.sqlite"), commitIntervalMs: 20 } };
  let gw: BenchGateway | undefined;
  try {
    await o.broker.stop();
    gw = await startBenchGateway(o.broker.url, o.fleet, config, {}, o.launch);
    o.log(`gateway full journal: ${o.frames} frames with the broker stopped`);
    const feeder = await UdpFeeder.open(gw.udp);
    try {
      await feeder.closedLoop({
        datagrams: buildDatagrams(o.fleet, { frames: o.frames, perDatagram: 8 }),
        window: 16,
      });
      await feeder.settle();
    } finally {
      await feeder.close();
    }
    if (feeder.counts.lost > 0) throw new Error(`${feeder.counts.lost} datagrams were not acknowledged`);
    const full = await memoryOf(gw);
    const messages = (await readHealth(gw.httpPort)).depth;
    const droppedBySize = await journalDroppedBySize(gw.httpPort);
    if (droppedBySize === 0) throw new Error(`the journal did not reach its bound with ${o.frames} frames`);
    const fillPeakRssMb = procSample(gw.pid).hwmMb;

    await gw.process.stop("SIGKILL");
    o.log(`gateway full journal: ${messages} messages; kill -9, restart on the same journal`);
    gw = await startBenchGateway(o.broker.url, o.fleet, config, {}, o.launch);
    const restarted = await memoryOf(gw);
    await o.broker.start();
    const started = performance.now();
    const current = gw;
    await waitUntil(async () => (await readHealth(current.httpPort)).depth === 0, "the drain", 300_000);
    return {
      messages,
      droppedBySize,
      full,
      fillPeakRssMb,
      restarted,
      drainPeakRssMb: procSample(gw.pid).hwmMb,
      drainS: (performance.now() - started) / 1000,
    };
  } finally {
    await gw?.dispose();
    await o.broker.start().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

async function memoryOf(gw: BenchGateway): Promise<MemoryPoint> {
  const heap = (await readCounters(gw.httpPort)).heapUsedBytes;
  return { rssMb: procSample(gw.pid).rssMb, heapUsedMb: heap / 2 ** 20 };
}

async function journalDroppedBySize(httpPort: number): Promise<number> {
  const text = await scrapeMetrics(httpPort);
  return metricValue(text, 'openherz_gateway_journal_dropped_total{reason="size"}') ?? 0;
}
