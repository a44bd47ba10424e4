/**
 * The self-contained demo (`npm start`, `sensornet demo`): an MQTT broker (embedded aedes unless a URL is
 * given), the real gateway in this process (temp dir with registry and journal, trusting the forwarders'
 * GPS time so observations carry simulated time), a simulated fleet on the real firmware sending to it over
 * Semtech UDP, and a subscriber that feeds the live view. Started in that order, stopped in reverse:
 * fleet → gateway → view's subscriber → broker.
 *
 *   const demo = await startDemo({ nodes: 20, speed: 600 });
 *   setInterval(async () => console.log(plainSummary(await demo.snapshot())), 1000);
 *   await demo.run();       // until options.untilMs, or until demo.stop()
 *   await demo.close();
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Gateway, startGateway } from "../../gateway/gateway.ts";
import { parseConfig } from "../../gateway/ops/config.ts";
import { describeFleet, Fleet, type KindMix, type Speed, writeRegistry } from "../sim/index.ts";
import { type EmbeddedBroker, startEmbeddedBroker } from "./broker.ts";
import { LogTail } from "./log-tail.ts";
import { type Monitor, startMonitor } from "./monitor.ts";
import type { BrokerInfo, DemoSnapshot, GatewayFigures, NodeRow } from "./view.ts";

/** Counter 6 of the host ABI: airtime used in the current budget day, ms (hw/host-abi.md). */
const COUNTER_AIRTIME_TODAY = 6;
const DEFAULT_AIRTIME_BUDGET_MS = 30_000;
const RATE_WINDOW_MS = 5_000;
const DAY_MS = 86_400_000;

export interface DemoOptions {
  nodes: number;
  kind: KindMix;
  seed: number;
  speed: Speed;
  /** Start of simulated time, Unix s. */
  startS: number;
  /** Gateway sites (packet forwarders), all sending to the one gateway. */
  sites: number;
  /** Per frame and site. */
  loss: number;
  topicPrefix: string;
  /** An existing broker (MQTT_URL); otherwise an embedded one is started. */
  mqttUrl?: string;
  /** Port of the embedded broker; default 1883 if free, else any free port. */
  brokerPort?: number;
  /** Simulated end, Unix ms; without it the fleet runs until stop(). */
  untilMs?: number;
}

export interface Demo {
  readonly broker: BrokerInfo;
  readonly gateway: Gateway;
  readonly fleet: Fleet;
  readonly monitor: Monitor;
  /** The temp dir with registry and journal (removed by close()). */
  readonly dir: string;
  /** Runs the fleet until `untilMs` or stop(), then lets the gateway publish what it has. */
  run(): Promise<"finished" | "stopped">;
  /** Ends a run early (Ctrl-C). */
  stop(): void;
  snapshot(): Promise<DemoSnapshot>;
  /** Fleet → gateway → subscriber → broker; removes the temp dir. Idempotent. */
  close(): Promise<void>;
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  const cleanup: Array<() => Promise<void> | void> = [];
  const undo = async () => {
    for (const fn of cleanup.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // Keep stopping the rest; the broker and the temp dir must go even if one part fails.
      }
    }
  };
  try {
    let broker: BrokerInfo;
    let credentials: Credentials = {};
    if (options.mqttUrl === undefined) {
      const b: EmbeddedBroker = await startEmbeddedBroker(
        options.brokerPort === undefined ? {} : { port: options.brokerPort },
      );
      cleanup.push(() => b.close());
      broker = {
        host: b.host,
        port: b.port,
        url: b.url,
        description:
          b.portChoice === "standard"
            ? "embedded aedes, on the standard MQTT port 1883"
            : b.portChoice === "free"
              ? "embedded aedes; port 1883 was taken, so on a free port"
              : "embedded aedes",
      };
    } else ({ broker, credentials } = externalBroker(options.mqttUrl));

    const dir = await mkdtemp(join(tmpdir(), "openherz-demo-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const spec = describeFleet({
      nodes: options.nodes,
      kind: options.kind,
      seed: options.seed,
      sites: options.sites,
      startS: options.startS,
    });
    const registryPath = join(dir, "devices.json");
    await writeRegistry(registryPath, spec);

    const log = new LogTail();
    const config = parseConfig(
      {
        gatewayId: "demo-gw",
        registry: { path: registryPath, watch: false },
        journal: { path: join(dir, "journal.sqlite"), commitIntervalMs: 50 },
        udp: { host: "127.0.0.1", port: 0 },
        mqtt: {
          url: broker.url,
          ...credentials,
          // aedes speaks MQTT 3.1.1 only: ask for it rather than log a fallback warning at every start.
          ...(options.mqttUrl === undefined && { protocolVersion: 4 }),
          topicPrefix: options.topicPrefix,
          reconnectMinMs: 200,
          reconnectMaxMs: 5000,
        },
        // The forwarders send the simulated clock as GPS time: observations carry simulated time.
        time: { trustForwarderGpsTime: true, waitForNtpSync: false },
        http: { host: "127.0.0.1", port: 0 },
        log: { level: "warn" },
      },
      { env: {} },
      "demo gateway config",
    );
    const gateway = await startGateway(config, { logDestination: log, env: {} });
    cleanup.push(() => gateway.stop("demo stopped"));
    const udpPort = gateway.udpAddress()?.port ?? 0;
    const http = gateway.httpAddress();

    const monitor = await startMonitor(broker.url, options.topicPrefix, credentials);
    cleanup.push(() => monitor.close());

    const fleet = await Fleet.start({
      spec,
      loss: options.loss,
      speed: options.speed,
      forwarders: { target: { host: "127.0.0.1", port: udpPort } },
    });
    cleanup.push(() => fleet.close());

    // The demo never compares with the ground truth: keep only the last simulated day of it, so that a
    // demo left running for hours does not grow (about 2 MB per simulated day for 20 nodes otherwise).
    const forgetting = setInterval(() => fleet.truth.forget(fleet.nowMs - DAY_MS), 5_000);
    forgetting.unref();
    cleanup.push(() => clearInterval(forgetting));

    const wallStart = performance.now();
    const published: Array<{ wallMs: number; count: number }> = [];
    const budgets = new Map(
      spec.nodes.map((n) => [n.name, n.config.airtimeBudgetMs ?? DEFAULT_AIRTIME_BUDGET_MS]),
    );
    let stopRequested = false;

    const gatewayFigures = async (): Promise<GatewayFigures> => {
      const text = await gateway.metrics.metricsText();
      const health = gateway.health();
      const count = metric(text, "openherz_gateway_mqtt_published_total");
      const now = performance.now();
      published.push({ wallMs: now, count });
      while (published.length > 2 && published[0]!.wallMs < now - RATE_WINDOW_MS) published.shift();
      const first = published[0]!;
      const rate = now > first.wallMs ? ((count - first.count) * 1000) / (now - first.wallMs) : 0;
      return {
        framesReceived: metric(text, "openherz_gateway_frames_received_total"),
        accepted: metric(text, "openherz_gateway_frames_accepted_total"),
        dropped: metric(text, "openherz_gateway_frames_dropped_total"),
        duplicates: metric(text, "openherz_gateway_frames_duplicate_total"),
        journalDepth: health.journalDepth,
        published: count,
        publishRate: rate,
        mqttConnected: health.mqttConnected,
        udpPort,
        metricsUrl: http === undefined ? undefined : `http://${http.host}:${http.port}/metrics`,
        warnings: log.warnings,
        lastWarning: log.lastWarning,
      };
    };

    const settle = async (timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      await fleet.flush(timeoutMs);
      while (gateway.health().journalDepth > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      // The view's subscriber gets the last messages a moment after their PUBACK.
      await new Promise((r) => setTimeout(r, 200));
    };

    let closed: Promise<void> | undefined;
    return {
      broker,
      gateway,
      fleet,
      monitor,
      dir,
      async run() {
        await fleet.run(options.untilMs ?? Number.MAX_SAFE_INTEGER);
        await settle(stopRequested ? 3_000 : 30_000);
        return stopRequested ? "stopped" : "finished";
      },
      stop() {
        stopRequested = true;
        fleet.stop();
      },
      async snapshot(): Promise<DemoSnapshot> {
        const nodes: NodeRow[] = fleet.nodes.map((node) => {
          const stats = node.stats();
          const devEui = node.spec.session.devEui.toUpperCase();
          return {
            name: node.name,
            kind: node.spec.kind,
            devEui,
            live: monitor.state.nodes.get(devEui),
            airtimeMs: stats.counters[COUNTER_AIRTIME_TODAY] ?? 0,
            budgetMs: budgets.get(node.name) ?? DEFAULT_AIRTIME_BUDGET_MS,
            uplinks: stats.uplinks,
          };
        });
        return {
          simNowMs: fleet.nowMs,
          simStartMs: fleet.startMs,
          simEndMs: options.untilMs,
          speed: options.speed,
          wallMs: performance.now() - wallStart,
          topicPrefix: options.topicPrefix,
          broker,
          gateway: await gatewayFigures(),
          brokerObservations: monitor.state.counts.observations,
          brokerMessages: monitor.state.counts.messages,
          nodes,
        };
      },
      close() {
        closed ??= undo();
        return closed;
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

interface Credentials {
  username?: string;
  password?: string;
}

/** MQTT_URL, e.g. mqtt://user:secret@broker.local:1883: credentials are taken out of the URL shown. */
function externalBroker(text: string): { broker: BrokerInfo; credentials: Credentials } {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new Error(`MQTT_URL is not a URL: ${text}`);
  }
  if (parsed.protocol !== "mqtt:" && parsed.protocol !== "mqtts:") {
    throw new Error(`MQTT_URL must start with mqtt:// or mqtts://, got ${parsed.protocol}//…`);
  }
  const credentials: Credentials = {
    ...(parsed.username !== "" && { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password !== "" && { password: decodeURIComponent(parsed.password) }),
  };
  parsed.username = "";
  parsed.password = "";
  const tls = parsed.protocol === "mqtts:";
  const port = parsed.port === "" ? (tls ? 8883 : 1883) : Number(parsed.port);
  return {
    broker: {
      host: parsed.hostname,
      port,
      url: `${parsed.protocol}//${parsed.host}`,
      description: "from MQTT_URL; no embedded broker started",
    },
    credentials,
  };
}

/** Sum of every series of one metric in the Prometheus text (all label values). */
export function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== " " && next !== "{") continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
