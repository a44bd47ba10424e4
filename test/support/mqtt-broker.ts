// A real MQTT broker for integration tests: Mosquitto on a free loopback port, with a generated config in a
// temp dir. stop() and start() again reuse the port, for broker-outage tests. Without Mosquitto, CI fails
// ("mosquitto is required in CI"); elsewhere an embedded aedes broker stands in, with a warning.
// collect() subscribes and gathers messages, with a waitFor(predicate) that re-checks on every message.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, connect as tcpConnect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { delimiter, join } from "node:path";
import { Aedes } from "aedes";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";

export type BrokerKind = "mosquitto" | "aedes";

export interface BrokerOptions {
  /** "auto" (default): Mosquitto, or aedes outside CI when Mosquitto is absent. */
  kind?: "auto" | BrokerKind;
  /** Port to listen on (default: a free one). */
  port?: number;
  /** Extra lines for the listener block (Mosquitto only), e.g. TLS settings. */
  listener?: string[];
  /** Extra global lines (Mosquitto only), e.g. password_file. */
  config?: string[];
  /** Default true. */
  allowAnonymous?: boolean;
  /** Keep sessions and queued messages across stop()/start() (Mosquitto saves them on SIGTERM). Default false. */
  persistence?: boolean;
  /** URL scheme in `url` (default "mqtt"). */
  scheme?: "mqtt" | "mqtts";
}

export interface TestBroker {
  readonly kind: BrokerKind;
  readonly port: number;
  /** e.g. "mqtt://127.0.0.1:41234" */
  readonly url: string;
  /** Temp dir of the config (Mosquitto), for files the test adds. */
  readonly dir: string;
  /** Starts the broker (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the broker: SIGTERM (clean) by default, SIGKILL for a crash. Idempotent. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the broker stays connected but answers nothing (Mosquitto only). */
  pause(): void;
  resume(): void;
  /** stop() and remove the temp dir. */
  dispose(): Promise<void>;
  /** The broker's log so far (Mosquitto), for failure messages. */
  log(): string;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

let mosquittoBinary: string | null | undefined;

/**
 * Path of the mosquitto binary (/usr/sbin/mosquitto or on PATH), or undefined. OPENHERZ_TEST_MOSQUITTO
 * overrides it: a path, or "none" to try the suite as on a machine without Mosquitto.
 */
export function findMosquitto(): string | undefined {
  const override = process.env.OPENHERZ_TEST_MOSQUITTO;
  if (override !== undefined && override !== "") return override === "none" ? undefined : override;
  if (mosquittoBinary === undefined) {
    const dirs = ["/usr/sbin", "/usr/local/sbin", ...(process.env.PATH ?? "").split(delimiter)];
    mosquittoBinary = dirs.map((d) => join(d, "mosquitto")).find((p) => existsSync(p)) ?? null;
  }
  return mosquittoBinary ?? undefined;
}

/** Whether tests that need Mosquitto itself (TLS, password file) can run; throws in CI when they cannot. */
export function mosquittoAvailable(): boolean {
  if (findMosquitto() !== undefined) return true;
  if (process.env.CI === "true") throw new Error("mosquitto is required in CI (apt-get install mosquitto)");
  return false;
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const kind = options.kind ?? "auto";
  const binary = findMosquitto();
  let useAedes = kind === "aedes";
  if (!useAedes && binary === undefined) {
    if (kind === "mosquitto" || process.env.CI === "true") {
      throw new Error("mosquitto is required in CI (apt-get install mosquitto)");
    }
    if (options.listener !== undefined || options.config !== undefined) {
      throw new Error("this test needs mosquitto (apt-get install mosquitto)");
    }
    console.warn(
      "mosquitto not found: falling back to the embedded aedes broker (apt-get install mosquitto)",
    );
    useAedes = true;
  }
  const port = options.port ?? (await freePort());
  const broker = useAedes ? new AedesBroker(port, options) : new MosquittoBroker(binary!, port, options);
  await broker.start();
  return broker;
}

class MosquittoBroker implements TestBroker {
  readonly kind = "mosquitto" as const;
  readonly url: string;
  readonly dir: string;
  private child: ChildProcess | undefined;
  private output = "";

  constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly options: BrokerOptions,
  ) {
    this.url = `${options.scheme ?? "mqtt"}://127.0.0.1:${port}`;
    this.dir = mkdtempSync(join(tmpdir(), "openherz-mosquitto-"));
  }

  private writeConfig(): string {
    const o = this.options;
    const lines = [
      // Running as root, Mosquitto would switch to the "mosquitto" user and lose access to the temp dir.
      `user ${userInfo().username}`,
      `persistence ${o.persistence === true ? "true" : "false"}`,
      ...(o.persistence === true ? [`persistence_location ${this.dir}/`] : []),
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "log_type notice",
      "log_type information",
      "connection_messages true",
      "log_timestamp_format %H:%M:%S",
      `allow_anonymous ${o.allowAnonymous === false ? "false" : "true"}`,
      ...(o.config ?? []),
      `listener ${this.port} 127.0.0.1`,
      ...(o.listener ?? []),
      "",
    ];
    const path = join(this.dir, "mosquitto.conf");
    writeFileSync(path, lines.join("\n"));
    return path;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const conf = this.writeConfig();
    const child = spawn(this.binary, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const exited = new Promise<never>((_, reject) => {
      child.once("exit", (code, signal) => {
        if (this.child === child) this.child = undefined;
        reject(
          new Error(`mosquitto exited (${code ?? signal}) before accepting connections:\n${this.output}`),
        );
      });
      child.once("error", reject);
    });
    exited.catch(() => {});
    // Mosquitto logs "... running" once its listeners are open; then one TCP connect confirms it.
    const running = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (/mosquitto version \S+ running/.test(this.output)) resolve();
      };
      child.stderr?.on("data", onData);
      child.stdout?.on("data", onData);
    });
    await withDeadline(
      Promise.race([running, exited]),
      READY_TIMEOUT_MS,
      () => `mosquitto not ready:\n${this.output}`,
    );
    await Promise.race([acceptsConnections(this.port, READY_TIMEOUT_MS), exited]);
  }

  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGCONT"); // a paused broker handles SIGTERM only when running
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  log(): string {
    return this.output;
  }
}

class AedesBroker implements TestBroker {
  readonly kind = "aedes" as const;
  readonly url: string;
  readonly dir: string;
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<import("node:net").Socket>();

  constructor(
    readonly port: number,
    options: BrokerOptions,
  ) {
    this.url = `mqtt://127.0.0.1:${port}`;
    this.dir = mkdtempSync(join(tmpdir(), "openherz-aedes-"));
    if (options.persistence === true) console.warn("aedes fallback: sessions do not survive stop()");
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const aedes = await Aedes.createBroker();
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      aedes.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.aedes = aedes;
    this.server = server;
  }

  async stop(): Promise<void> {
    const { server, aedes } = this;
    if (server === undefined) return;
    this.server = undefined;
    this.aedes = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes?.close(() => resolve()) ?? resolve());
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  pause(): void {
    throw new Error("pause() needs mosquitto");
  }

  resume(): void {
    throw new Error("resume() needs mosquitto");
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  log(): string {
    return "";
  }
}

/** Resolves once a TCP connection to the port succeeds; a refused attempt is retried once it has closed. */
function acceptsConnections(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = tcpConnect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", (err) => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} refuses connections: ${err.message}`));
        else setImmediate(attempt);
      });
    };
    attempt();
  });
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what()} (after ${ms} ms)`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export interface CollectedMessage {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
  /** Arrival order across the collector. */
  index: number;
}

export interface Collector {
  readonly client: MqttClient;
  readonly messages: CollectedMessage[];
  /** Resolves with the messages once `predicate(messages)` holds; re-checked on every arrival. */
  waitFor(
    predicate: (messages: CollectedMessage[]) => boolean,
    timeoutMs?: number,
  ): Promise<CollectedMessage[]>;
  /** Messages on one topic, parsed as JSON (empty payloads skipped). */
  json<T = unknown>(topic: string): T[];
  close(): Promise<void>;
}

/**
 * Subscribes (QoS 1) to `topicFilter` and records every message, retained ones included. Pass `options` for
 * TLS or credentials, or a fixed clientId with clean: false for a session that outlives a broker restart.
 */
export async function collect(
  url: string,
  topicFilter: string,
  options: IClientOptions = {},
): Promise<Collector> {
  const client = mqtt.connect(url, {
    clientId: `collector-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: 100,
    connectTimeout: 5000,
    ...options,
  });
  const messages: CollectedMessage[] = [];
  let waiters: Array<() => void> = [];
  client.on("message", (topic, payload, packet) => {
    messages.push({
      topic,
      payload: payload.toString(),
      retain: packet.retain,
      qos: packet.qos,
      index: messages.length,
    });
    for (const w of waiters.splice(0)) w();
  });
  client.on("error", () => {}); // reconnects on its own; a test fails through waitFor's deadline
  await withDeadline(
    new Promise<void>((resolve) => client.once("connect", () => resolve())),
    10_000,
    () => `collector could not connect to ${url}`,
  );
  await client.subscribeAsync(topicFilter, { qos: 1 });

  return {
    client,
    messages,
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== check);
          const last = messages.slice(-5).map((m) => `${m.topic} ${m.payload.slice(0, 200)}`);
          reject(
            new Error(
              `collector: condition not met within ${timeoutMs} ms; ${messages.length} messages, last:\n${last.join("\n")}`,
            ),
          );
        }, timeoutMs);
        const check = () => {
          if (predicate(messages)) {
            clearTimeout(timer);
            resolve(messages);
          } else waiters.push(check);
        };
        check();
      });
    },
    json<T>(topic: string): T[] {
      return messages
        .filter((m) => m.topic === topic && m.payload !== "")
        .map((m) => JSON.parse(m.payload) as T);
    },
    close: () => client.endAsync(true),
  };
}

/** Whether the openssl CLI can run (TLS tests). */
export function opensslAvailable(): boolean {
  return spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
}
