/**
 * The gateway benchmark's plumbing: a Mosquitto configured for throughput, the gateway as a real child
 * process (`sensornet gateway --config …`) with the fleet's registry, its CPU, memory and disk figures
 * from /proc, and its /metrics and /health read over HTTP.
 */
import { readdirSync, readFileSync } from "node:fs";
import {
  type GatewayFiles,
  type GatewayLaunch,
  type GatewayProcess,
  metricValue,
  scrapeMetrics,
  spawnGateway,
  writeGatewayFiles,
} from "../support/gateway.ts";
import { startBroker, type TestBroker } from "../support/mqtt-broker.ts";
import type { BenchDevice } from "./gateway-fleet.ts";

/**
 * Mosquitto's defaults are made for many small clients: 20 QoS 1 messages in flight per client (its MQTT 5
 * Receive Maximum, which caps the publisher's window of 128), 1,000 queued per subscriber, and Nagle's
 * algorithm on its sockets, which with delayed ACKs stalls a windowed QoS 1 publisher for 40 ms at a time.
 * The benchmark raises the first two and turns Nagle off, for the gateway and the raw baseline alike.
 */
export const BENCH_BROKER_CONFIG = [
  "max_inflight_messages 1000",
  "max_queued_messages 1000000",
  "max_queued_bytes 0",
  "set_tcp_nodelay true",
];

export function startBenchBroker(): Promise<TestBroker> {
  return startBroker({ kind: "mosquitto", config: BENCH_BROKER_CONFIG });
}

export interface BenchGateway {
  readonly process: GatewayProcess;
  readonly pid: number;
  readonly udp: { address: string; port: number };
  readonly httpPort: number;
  readonly files: GatewayFiles;
  /** SIGTERM, wait for the exit, remove the temp dir. */
  dispose(): Promise<void>;
}

/**
 * The gateway as a process with the production defaults, except: loopback ports picked by the OS, log level
 * info, no wait for systemd-timesyncd, fast reconnects, and journal commits every 20 ms (the journal
 * README's recommended 20–50 ms; the default of 200 ms would put 100 ms of batching into every latency).
 */
export async function startBenchGateway(
  brokerUrl: string,
  fleet: readonly BenchDevice[],
  config: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
  launch: GatewayLaunch = {},
): Promise<BenchGateway> {
  const files = await writeGatewayFiles({
    brokerUrl,
    devices: fleet.map((d) => d.input),
    gatewayId: "bench-gw",
    config: {
      log: { level: "info" },
      journal: { commitIntervalMs: 20 },
      mqtt: { url: brokerUrl, reconnectMinMs: 100, reconnectMaxMs: 1000 },
      ...config,
    },
  });
  const proc = spawnGateway(files.configPath, env, launch);
  let ports: Awaited<GatewayProcess["ready"]>;
  try {
    ports = await proc.ready;
  } catch (err) {
    files.dispose();
    throw err;
  }
  if (ports.udpPort === undefined || ports.httpPort === undefined || proc.child.pid === undefined) {
    await proc.stop("SIGKILL");
    files.dispose();
    throw new Error("gateway did not report its UDP and HTTP ports");
  }
  return {
    process: proc,
    pid: proc.child.pid,
    udp: { address: "127.0.0.1", port: ports.udpPort },
    httpPort: ports.httpPort,
    files,
    async dispose() {
      const timer = setTimeout(() => proc.child.kill("SIGKILL"), 15_000);
      await proc.stop("SIGTERM");
      clearTimeout(timer);
      files.dispose();
    },
  };
}

/** Counters and gauges of the gateway the benchmark follows. */
export interface GatewayCounters {
  accepted: number;
  journaled: number;
  acked: number;
  journalMessages: number;
  journalFileBytes: number;
  dropped: number;
  /** V8 heap in use (prom-client's process metrics), bytes. */
  heapUsedBytes: number;
}

export async function readCounters(httpPort: number): Promise<GatewayCounters> {
  const text = await scrapeMetrics(httpPort);
  const m = (series: string) => metricValue(text, `openherz_gateway_${series}`) ?? 0;
  let dropped = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("openherz_gateway_frames_dropped_total{")) dropped += Number(line.split(" ").pop());
  }
  return {
    accepted: m("frames_accepted_total"),
    journaled: m("messages_journaled_total"),
    acked: m("mqtt_acked_total"),
    journalMessages: m("journal_messages"),
    journalFileBytes: m("journal_file_bytes"),
    dropped,
    heapUsedBytes: metricValue(text, "nodejs_heap_size_used_bytes") ?? 0,
  };
}

/** Journal depth and MQTT state from /health (cheaper than a scrape). */
export async function readHealth(
  httpPort: number,
): Promise<{ depth: number; connected: boolean; status: string }> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/health`);
  const body = (await response.json()) as {
    status: string;
    mqtt: { connected: boolean };
    journal: { depth: number };
  };
  return { depth: body.journal.depth, connected: body.mqtt.connected, status: body.status };
}

/**
 * Follows /health every `intervalMs` in the background: the journal's depth and the MQTT state. Often enough
 * that a feeder pausing on the depth does not let a small backlog run dry between two polls.
 */
export class HealthPoller {
  depth = 0;
  connected = false;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(httpPort: number, intervalMs = 20) {
    this.loop = (async () => {
      while (this.running) {
        try {
          const h = await readHealth(httpPort);
          this.depth = h.depth;
          this.connected = h.connected;
        } catch {
          // a scrape that fails during shutdown
        }
        await sleep(intervalMs);
      }
    })();
  }

  stop(): Promise<void> {
    this.running = false;
    return this.loop;
  }
}

const TICKS_PER_S = 100; // USER_HZ on Linux

/** What /proc says about a process (or its main thread, for CPU). */
export interface ProcSample {
  atMs: number;
  /** CPU seconds of all threads (JS, GC helpers, libuv pool) and of the main thread alone. */
  cpuS: number;
  mainThreadCpuS: number;
  /** VmRSS, and its parts: anonymous memory (heaps) and file pages (mostly the node binary itself). */
  rssMb: number;
  rssAnonMb: number;
  rssFileMb: number;
  hwmMb: number;
  writeBytes: number;
}

export function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  return {
    atMs: performance.now(),
    cpuS: cpuSeconds(`/proc/${pid}/stat`),
    mainThreadCpuS: cpuSeconds(`/proc/${pid}/task/${pid}/stat`),
    rssMb: kb("VmRSS") / 1024,
    rssAnonMb: kb("RssAnon") / 1024,
    rssFileMb: kb("RssFile") / 1024,
    hwmMb: kb("VmHWM") / 1024,
    writeBytes: Number(/^write_bytes:\s+(\d+)/m.exec(io)?.[1] ?? 0),
  };
}

/** CPU seconds of a process without the I/O figures (e.g. Mosquitto, or this process). */
export function cpuSecondsOf(pid: number): number {
  return cpuSeconds(`/proc/${pid}/stat`);
}

function cpuSeconds(statPath: string): number {
  // Fields after the parenthesised command name: state is field 3, utime 14 and stime 15 (proc(5)).
  const fields = readFileSync(statPath, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** The kernel's count of UDP datagrams dropped for a full receive buffer (all sockets of the host). */
export function udpReceiveBufferErrors(): number {
  const lines = readFileSync("/proc/net/snmp", "utf8")
    .split("\n")
    .filter((l) => l.startsWith("Udp:"));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf("RcvbufErrors")] ?? 0);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0…100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `intervalMs` until it holds; throws with `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Pid of the Mosquitto started with the config in `brokerDir` (found by its command line), for its CPU. */
export function brokerPid(brokerDir: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(`${brokerDir}/mosquitto.conf`)) {
        return Number(entry);
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return undefined;
}
