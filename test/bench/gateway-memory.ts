/**
 * Memory of the gateway process with a 10,000-device registry: every device sends a frame (8 per datagram,
 * as fast as the gateway acknowledges them); once the journal is empty and the process has been idle for
 * `settleMs`, VmRSS and its parts are read from /proc/<pid>/status, the V8 heap from /metrics.
 *
 * Two setups: the gateway as deployed (`deployedLaunch()`: the bundle dist/sensornet.mjs with the node flags
 * of the systemd unit's ExecStart, the figure the target applies to) and the developer's entry
 * (bin/sensornet.js through tsx, no flags), whose V8 heap grows with the machine's memory.
 */

import { spawn } from "node:child_process";
import type { GatewayLaunch } from "../support/gateway.ts";
import { UdpFeeder } from "./gateway-feeder.ts";
import { type BenchDevice, buildDatagrams } from "./gateway-fleet.ts";
import {
  HealthPoller,
  type ProcSample,
  procSample,
  readCounters,
  readHealth,
  sleep,
  startBenchGateway,
  waitUntil,
} from "./gateway-harness.ts";
import { waitConnected } from "./gateway-throughput.ts";

export interface MemoryOptions {
  brokerUrl: string;
  fleet: readonly BenchDevice[];
  /** Script and node flags of the gateway process; default the developer's entry without flags. */
  launch?: GatewayLaunch;
  /** Names the setup in the progress log, e.g. "as deployed". */
  label: string;
  settleMs: number;
  log: (message: string) => void;
}

export interface MemoryResult {
  /** VmRSS after `settleMs` idle, and its parts: anonymous memory and file pages (the node binary). */
  rssMb: number;
  rssAnonMb: number;
  rssFileMb: number;
  /** The V8 heap in use at that moment (live objects and garbage not yet collected). */
  heapUsedMb: number;
  /** VmHWM: the highest RSS of the process. */
  peakRssMb: number;
  /** VmRSS once a second while idle. */
  samplesMb: number[];
}

export async function benchMemory(o: MemoryOptions): Promise<MemoryResult> {
  const gw = await startBenchGateway(o.brokerUrl, o.fleet, {}, {}, o.launch);
  try {
    await waitConnected(gw.httpPort);
    o.log(`gateway memory, ${o.label}: a frame from each of ${o.fleet.length} devices`);
    // With no devices there is nothing to send: the figure is what the gateway costs before any device.
    if (o.fleet.length > 0) await sendAFrameFromEach(o.fleet, gw.udp, gw.httpPort);
    await waitUntil(async () => (await readHealth(gw.httpPort)).depth === 0, "an empty journal", 60_000);
    const samplesMb: number[] = [];
    for (let t = 0; t < o.settleMs; t += 1000) {
      await sleep(1000);
      samplesMb.push(procSample(gw.pid).rssMb);
    }
    const last = procSample(gw.pid);
    const heap = (await readCounters(gw.httpPort)).heapUsedBytes;
    return {
      rssMb: last.rssMb,
      rssAnonMb: last.rssAnonMb,
      rssFileMb: last.rssFileMb,
      heapUsedMb: heap / 2 ** 20,
      peakRssMb: last.hwmMb,
      samplesMb,
    };
  } finally {
    await gw.dispose();
  }
}

async function sendAFrameFromEach(
  fleet: readonly BenchDevice[],
  udp: { address: string; port: number },
  httpPort: number,
): Promise<void> {
  const datagrams = buildDatagrams(fleet, { frames: fleet.length, perDatagram: 8 });
  const feeder = await UdpFeeder.open(udp);
  const health = new HealthPoller(httpPort);
  try {
    await feeder.closedLoop({ datagrams, window: 16, paused: () => health.depth > 20_000 });
    await feeder.settle();
  } finally {
    await health.stop();
    await feeder.close();
  }
}

/**
 * VmRSS of a bare node process (the launch's node flags and environment, a timer and nothing else) after
 * `settleMs`: the part of the gateway's RSS that no code of this project can lower.
 */
export async function bareNodeRss(
  launch: { nodeArgs: readonly string[]; env: NodeJS.ProcessEnv },
  settleMs: number,
): Promise<ProcSample> {
  const child = spawn(process.execPath, [...launch.nodeArgs, "-e", "setInterval(() => {}, 1000)"], {
    env: { ...process.env, ...launch.env },
    stdio: "ignore",
  });
  try {
    if (child.pid === undefined) throw new Error("could not start a bare node process");
    await sleep(settleMs);
    return procSample(child.pid);
  } finally {
    child.kill("SIGKILL");
  }
}
