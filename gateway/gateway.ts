// The gateway (operator's view: ./README.md). Gateway.start() is the whole startup as a short ordered list
// and stop() the same list backwards; the parts are wired by callbacks along the one-way flow of
// ARCHITECTURE.md and never reach back into each other. startGateway() runs it in-process (tests, benchmarks,
// the demo); ./main.ts adds what a process needs. Only startup fails fast; once running, a faulty part is
// logged and counted, never fatal.
import { readFileSync } from "node:fs";
import type { DestinationStream } from "pino";
import { renderStoredFrame } from "./frame-record.ts";
import { Journal } from "./journal/journal.ts";
import type { Registry } from "./lorawan/registry.ts";
import { loadRegistry, type RegistryWatcher, watchRegistry } from "./lorawan/registry-file.ts";
import {
  buildDeviceMetadataMessage,
  buildDeviceRemovedMessage,
  createTopics,
  type TopicScheme,
} from "./observations/index.ts";
import { ClockGuard, type ClockGuardOptions } from "./ops/clock.ts";
import { type GatewayConfig, redactedConfig, serialModemOptions, udpForwarderOptions } from "./ops/config.ts";
import { type HealthSnapshot, OpsHttpServer } from "./ops/http.ts";
import {
  createLogger,
  createRateLimitedLog,
  type PinoLogger,
  type RateLimitedLog,
  SecretValues,
} from "./ops/logger.ts";
import { createGatewayMetrics, type GatewayMetrics } from "./ops/metrics.ts";
import { SystemdNotifier } from "./ops/systemd.ts";
import { createPipeline, KNOWN_DROP_REASONS, type Pipeline } from "./pipeline.ts";
import { type Announcement, MqttPublisher } from "./publisher/index.ts";
import type { SerialModemSource } from "./radio/serial-modem.ts";
import { UdpForwarder } from "./radio/udp-forwarder.ts";
import { errorText, type StartupError, startupError, step } from "./startup-error.ts";
import type { RadioSourceCallbacks } from "./types.ts";

export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

export interface StartGatewayOptions {
  /** Where the JSON log lines go (default stdout). */
  logDestination?: DestinationStream;
  /** Environment for systemd notifications (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** For tests: the clocks and files the ClockGuard looks at. */
  clock?: Pick<ClockGuardOptions, "wallNow" | "monotonicNow" | "exists" | "timesyncFlag">;
}

/** Starts the gateway in this process; on failure stops what was started and throws a StartupError. */
export async function startGateway(
  config: GatewayConfig,
  options: StartGatewayOptions = {},
): Promise<Gateway> {
  const gateway = new Gateway(config, options);
  try {
    await gateway.start();
  } catch (err) {
    const error = startupError(err, config);
    gateway.logStartupFailure(error);
    await gateway.stop("startup failed");
    throw error;
  }
  return gateway;
}

export class Gateway {
  readonly metrics: GatewayMetrics;
  readonly clock: ClockGuard;
  private readonly log: PinoLogger;
  private readonly secrets = new SecretValues();
  private readonly topics: TopicScheme;
  private readonly rateLog: RateLimitedLog;
  private readonly systemd: SystemdNotifier;
  private journal: Journal | undefined;
  private registry: Registry | undefined;
  /** Devices removed since start: their retained metadata is cleared with every announcement. */
  private readonly removed = new Set<string>();
  private watcher: RegistryWatcher | undefined;
  private http: OpsHttpServer | undefined;
  private publisher: MqttPublisher | undefined;
  private pipeline: Pipeline | undefined;
  private udp: UdpForwarder | undefined;
  private readonly serial: SerialModemSource[] = [];
  private started = false;
  private stopped: Promise<void> | undefined;
  private publishedSeen = 0;

  constructor(
    readonly config: GatewayConfig,
    private readonly options: StartGatewayOptions = {},
  ) {
    if (config.mqtt.password !== undefined) this.secrets.addLiteral(config.mqtt.password);
    this.log = createLogger({
      level: config.log.level,
      secrets: this.secrets,
      ...(options.logDestination && { destination: options.logDestination }),
    });
    this.topics = createTopics(config.mqtt.topicPrefix);
    this.metrics = createGatewayMetrics({ knownDropReasons: KNOWN_DROP_REASONS, version: VERSION });
    this.rateLog = createRateLimitedLog(this.log, {
      intervalMs: config.log.rateLimitIntervalS * 1000,
      burst: config.log.rateLimitBurst,
    });
    this.systemd = new SystemdNotifier({ env: options.env ?? process.env, logger: this.child("systemd") });
    this.clock = new ClockGuard({
      minValidUnixS: config.time.minValidUnixS,
      waitForNtpSync: config.time.waitForNtpSync,
      checkIntervalMs: config.time.checkIntervalS * 1000,
      ...options.clock,
    });
  }

  /** The startup, in order. Each part exists before anything that feeds it. */
  async start(): Promise<void> {
    const c = this.config;
    this.log.info({ version: VERSION, config: redactedConfig(c) }, "gateway starting");
    this.journal = await step("journal", () => this.openJournal()); // 1. durable state and FCnt
    await step("registry", () => this.loadRegistry()); // 2. who may talk to us (+ watch)
    await step("http", () => this.startOps()); // 3. metrics and /health
    this.startClock(); // 4. time policy
    this.publisher = await step("mqtt", () => this.startPublisher()); // 5. never waits for the broker
    this.pipeline = this.createPipeline(); // 6. radio → journal → publisher.notify
    await step("udp", () => this.startUdp()); // 7. radio inputs last
    await step("serial", () => this.startSerial());
    this.started = true;
    this.log.info(this.summary(), "gateway started");
    void this.systemd.ready(this.statusLine());
    this.systemd.startWatchdog(() => this.pipeline?.status().journalError === undefined);
  }

  /** The startup backwards: inputs first, so every frame received is durable before the journal closes. */
  stop(reason = "stop requested"): Promise<void> {
    this.stopped ??= this.doStop(reason);
    return this.stopped;
  }

  private async doStop(reason: string): Promise<void> {
    this.log.info({ reason }, "gateway stopping");
    void this.systemd.stopping("stopping");
    await this.quietly("radio inputs", () =>
      Promise.all([this.udp?.stop(), ...this.serial.map((s) => s.stop())]),
    );
    this.watcher?.close();
    this.pipeline?.close();
    await this.quietly("journal flush", () => this.pipeline?.drain());
    await this.quietly("mqtt", () => this.publisher?.stop());
    this.clock.stop();
    await this.quietly("http", () => this.http?.stop());
    this.rateLog.close();
    await this.quietly("systemd", () => this.systemd.close());
    await this.quietly("journal", () => this.journal?.close());
    this.started = false;
    this.log.info({}, "gateway stopped");
  }

  /** Bound UDP address (port 0 in the config resolves here); undefined when UDP is off. */
  udpAddress(): { address: string; port: number } | undefined {
    return this.udp?.address();
  }

  httpAddress(): { host: string; port: number } | undefined {
    return this.http?.address();
  }

  /** What /health reports. */
  health(): HealthSnapshot {
    const p = this.pipeline?.status();
    const degraded: string[] = [];
    if (p !== undefined && p.heldFrames > 0)
      degraded.push(`frames waiting for a valid clock: ${p.heldFrames}`);
    const serial = this.serial.map((s) => s.status());
    for (const s of serial) {
      if (s.state !== "receiving")
        degraded.push(`serial ${s.path} ${s.state}${s.lastError ? `: ${s.lastError}` : ""}`);
    }
    const depth = this.journal?.depth();
    return {
      started: this.started,
      failing: p?.journalError === undefined ? [] : [`journal cannot commit: ${p.journalError}`],
      degraded,
      mqttConnected: this.publisher?.state().connected ?? false,
      journalDepth: depth?.messages ?? 0,
      journalBytes: depth?.bytes ?? 0,
      ...(p?.lastFrameMs === undefined ? {} : { lastFrameMs: p.lastFrameMs }),
      forwarders: this.udp?.forwarders() ?? [],
      serial,
      clockSynced: this.clock.valid,
    };
  }

  logStartupFailure(error: StartupError): void {
    this.log.fatal({ error: error.message }, "gateway failed to start");
  }

  private async loadRegistry(): Promise<void> {
    const { path, watch, pollIntervalMs } = this.config.registry;
    this.setRegistry(await loadRegistry(path));
    if (!watch) return;
    this.watcher = watchRegistry(
      path,
      (next) => this.setRegistry(next),
      (err) =>
        this.log.warn({ error: err.message }, "device registry not reloaded; keeping the previous one"),
      { initial: this.registry, pollIntervalMs },
    );
  }

  /** A (re)loaded registry: the decoder reads it per frame; keys are scrubbed from logs; metadata re-announced. */
  private setRegistry(next: Registry): void {
    const previous = this.registry;
    this.registry = next;
    for (const d of next.devices) {
      // Keys of every registry seen since start, so that a removed device's keys stay out of the logs too.
      this.secrets.addHexKeys([d.nwkSKey, d.appSKey]);
      this.removed.delete(d.devEui);
    }
    if (previous === undefined) return;
    for (const d of previous.devices) if (next.byDevEui(d.devEui) === undefined) this.removed.add(d.devEui);
    this.log.info({ devices: next.devices.length, removed: [...this.removed] }, "device registry reloaded");
    this.publisher?.announce();
  }

  private async startOps(): Promise<void> {
    this.metrics.onScrape(() => this.observe());
    const { enabled, host, port } = this.config.http;
    if (!enabled) return;
    this.http = new OpsHttpServer({
      host,
      port,
      metrics: this.metrics,
      health: () => this.health(),
      logger: this.child("http"),
    });
    await this.http.start();
  }

  private startClock(): void {
    this.clock.onValid(() => {
      this.metrics.clockSynced(true);
      this.log.info({}, "system clock valid");
    });
    this.clock.start();
    if (!this.clock.valid) {
      this.log.warn(
        { state: this.clock.currentState },
        "system clock not valid yet: frames without GPS time wait for it",
      );
    }
  }

  private startPublisher(): MqttPublisher {
    const m = this.config.mqtt;
    const publisher = new MqttPublisher(this.journal!, {
      url: m.url,
      clientId: m.clientId,
      gatewayId: this.config.gatewayId,
      topics: this.topics,
      protocolVersion: m.protocolVersion,
      protocolFallback: m.protocolFallback,
      username: m.username,
      password: m.password,
      tls: { caFile: m.ca, certFile: m.cert, keyFile: m.key },
      keepaliveS: m.keepaliveS,
      connectTimeoutMs: m.connectTimeoutMs,
      backoff: { initialMs: m.reconnectMinMs, maxMs: m.reconnectMaxMs },
      announce: () => this.announcements(),
      logger: this.child("mqtt"),
    });
    publisher.on("connect", () => this.metrics.mqttConnected(true));
    publisher.on("disconnect", () => this.metrics.mqttConnected(false));
    publisher.on("retry", () => this.metrics.mqttReconnect());
    publisher.on("ack", ({ rejected, latencyMs }) => {
      this.metrics.publishLatencyMs(latencyMs);
      if (!rejected) this.metrics.acked();
    });
    publisher.start();
    return publisher;
  }

  private createPipeline(): Pipeline {
    const { time } = this.config;
    return createPipeline({
      registry: () => this.registry!,
      journal: this.journal!,
      metrics: this.metrics,
      log: this.rateLog,
      clock: this.clock,
      time: { trustGpsTime: time.trustForwarderGpsTime, minValidUnixS: time.minValidUnixS },
      topics: this.topics,
      grouping: this.config.mqtt.observationGrouping,
      onJournaled: () => this.publisher?.notify(),
      ...(this.options.clock?.monotonicNow && { monotonicNow: this.options.clock.monotonicNow }),
    });
  }

  private radioCallbacks(): RadioSourceCallbacks {
    const pipeline = this.pipeline!;
    return {
      onFrame: (frame) => pipeline.handleFrame(frame),
      onDrop: (reason, detail, context) => pipeline.handleDrop(reason, detail, context),
    };
  }

  private async startUdp(): Promise<void> {
    if (!this.config.udp.enabled) return;
    const options = { ...udpForwarderOptions(this.config), logger: this.child("udp") };
    this.udp = new UdpForwarder(options, this.radioCallbacks());
    await this.udp.start();
  }

  private async startSerial(): Promise<void> {
    if (this.config.serial.length === 0) return;
    // Loaded only when used: serialport's native binding is not needed by a UDP-only gateway.
    const { SerialModemSource } = await import("./radio/serial-modem.ts");
    for (const s of this.config.serial) {
      const source = new SerialModemSource(
        { ...serialModemOptions(s), logger: this.child("serial") },
        this.radioCallbacks(),
      );
      this.serial.push(source);
      await source.start(); // resolves after the first attempt; a missing modem is retried in the background
    }
  }

  private announcements(): Announcement[] {
    const devices = this.registry?.devices ?? [];
    return [
      ...devices.map((d) => buildDeviceMetadataMessage(d, this.topics)),
      ...[...this.removed].map((devEui) => buildDeviceRemovedMessage(devEui, this.topics)),
    ];
  }

  /** The journal stores each frame's record and renders its messages again when it reads them back. */
  private openJournal(): Journal {
    return Journal.open({
      ...this.config.journal,
      render: renderStoredFrame,
      onUnrenderable: (id, detail) =>
        this.rateLog.log(
          "journal_unrenderable",
          { id, detail },
          "a stored message could not be rendered from its frame record: dropped",
          "error",
        ),
    });
  }

  /** Before each scrape: gauges and counters kept by the parts themselves. */
  private observe(): void {
    if (this.journal !== undefined) this.metrics.observeJournal(this.journal.stats());
    this.metrics.clockSynced(this.clock.valid);
    if (this.udp !== undefined) this.metrics.forwardersSeen(this.udp.forwarders().length);
    if (this.publisher !== undefined) {
      const s = this.publisher.state();
      this.metrics.mqttConnected(s.connected);
      this.metrics.published(Math.max(0, s.published - this.publishedSeen));
      this.publishedSeen = s.published;
    }
  }

  private summary(): object {
    return {
      gatewayId: this.config.gatewayId,
      devices: this.registry?.devices.length ?? 0,
      udp: this.udp?.address(),
      serial: this.serial.map((s) => s.status().path),
      http: this.http?.address(),
      clockValid: this.clock.valid,
    };
  }

  private statusLine(): string {
    const inputs = [
      ...(this.udp === undefined ? [] : [`udp :${this.udp.address().port}`]),
      ...this.serial.map((s) => s.status().path),
    ];
    return `receiving on ${inputs.join(", ")}; ${this.registry?.devices.length ?? 0} devices`;
  }

  private child(component: string): PinoLogger {
    return this.log.child({ component });
  }

  /** One part failing to stop must not keep the others (above all the journal) from stopping. */
  private async quietly(part: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.error({ part, error: errorText(err) }, "stopping a part failed");
    }
  }
}
