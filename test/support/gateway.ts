// Running the real gateway in tests: a temp directory with a config, a registry (mode 0600) and a journal
// path; the gateway started in-process (startGateway) or as a child process (`node bin/sensornet.js gateway
// --config …`), its JSON log lines captured, its ports read from its own log, its metrics scraped.
// For the integration, fault and bench suites alike.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { DestinationStream } from "pino";
import type { DeviceInput } from "../../gateway/lorawan/registry.ts";
import { saveRegistry } from "../../gateway/lorawan/registry-file.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const SENSORNET_BIN = join(REPO_ROOT, "bin/sensornet.js");

export interface GatewayFiles {
  dir: string;
  configPath: string;
  registryPath: string;
  journalPath: string;
  /** The config as written (sections merged with the test defaults). */
  config: Record<string, unknown>;
  dispose(): void;
}

export interface GatewayFilesOptions {
  brokerUrl: string;
  devices: DeviceInput[];
  gatewayId?: string;
  topicPrefix?: string;
  /** Sections merged over the defaults, e.g. { journal: { commitIntervalMs: 100 }, serial: [...] }. */
  config?: Record<string, unknown>;
}

/**
 * A config for tests: UDP and HTTP on 127.0.0.1 port 0 (read the real ports from the gateway), journal
 * commits every 20 ms, fast MQTT reconnects, no wait for systemd-timesyncd, debug logs.
 */
export async function writeGatewayFiles(options: GatewayFilesOptions): Promise<GatewayFiles> {
  const dir = mkdtempSync(join(tmpdir(), "openherz-gateway-"));
  const registryPath = join(dir, "devices.json");
  await saveRegistry(registryPath, { version: 1, devices: options.devices.map(normalise) });
  const gatewayId = options.gatewayId ?? "test-gw";
  const defaults: Record<string, Record<string, unknown>> = {
    registry: { path: "devices.json" },
    journal: { path: "journal.sqlite", commitIntervalMs: 20 },
    udp: { host: "127.0.0.1", port: 0 },
    mqtt: {
      url: options.brokerUrl,
      topicPrefix: options.topicPrefix ?? "openherz",
      reconnectMinMs: 100,
      reconnectMaxMs: 2000,
    },
    time: { waitForNtpSync: false },
    http: { host: "127.0.0.1", port: 0 },
    log: { level: "debug" },
  };
  const config: Record<string, unknown> = { gatewayId };
  const overrides = options.config ?? {};
  for (const key of new Set([...Object.keys(defaults), ...Object.keys(overrides)])) {
    const d = defaults[key];
    const o = overrides[key];
    config[key] =
      d !== undefined && o !== null && typeof o === "object" && !Array.isArray(o) ? { ...d, ...o } : (o ?? d);
  }
  const configPath = join(dir, "gateway.json");
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return {
    dir,
    configPath,
    registryPath,
    journalPath: join(dir, "journal.sqlite"),
    config,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function normalise(d: DeviceInput) {
  return {
    ...d,
    devEui: d.devEui.toUpperCase(),
    devAddr: d.devAddr.toUpperCase(),
    nwkSKey: d.nwkSKey.toUpperCase(),
    appSKey: d.appSKey.toUpperCase(),
    licence: d.licence ?? "CC-BY-4.0",
  };
}

/** A parsed JSON log line of the gateway. */
export type LogRecord = Record<string, unknown> & { level: string; msg?: string };

/** Log lines kept in memory (a pino destination for startGateway), with a wait that re-checks per line. */
export class LogCapture implements DestinationStream {
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];

  write(line: string): void {
    this.lines.push(line);
    for (const w of this.waiters.splice(0)) w();
  }

  records(): LogRecord[] {
    return this.lines.flatMap((l) => l.split("\n").filter((x) => x.trim() !== "")).map((l) => JSON.parse(l));
  }

  waitFor(predicate: (r: LogRecord) => boolean, timeoutMs = 10_000): Promise<LogRecord> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(
          new Error(`log line not seen within ${timeoutMs} ms; last:\n${this.lines.slice(-5).join("")}`),
        );
      }, timeoutMs);
      const check = () => {
        const found = this.records().find(predicate);
        if (found !== undefined) {
          clearTimeout(timer);
          resolvePromise(found);
        } else this.waiters.push(check);
      };
      check();
    });
  }
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** Every stdout line so far (JSON logs). */
  readonly stdout: LogCapture;
  stderr(): string;
  /** Resolves with the bound ports once the gateway logged "gateway started". */
  readonly ready: Promise<{ udpPort: number | undefined; httpPort: number | undefined }>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (SIGTERM for a clean stop, SIGKILL for a crash) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How the gateway process is started; the default is the developer entry without node flags. */
export interface GatewayLaunch {
  /** The script node runs (default bin/sensornet.js, TypeScript through tsx), e.g. the bundle dist/sensornet.mjs. */
  entry?: string;
  /** Node options before the script, e.g. V8 heap limits. */
  nodeArgs?: readonly string[];
  /** Environment of the process on top of this one's, e.g. the unit's Environment= (glibc malloc tunables). */
  env?: Readonly<Record<string, string>>;
}

/** `node [nodeArgs] bin/sensornet.js gateway --config <file>` as a real process. */
export function spawnGateway(
  configPath: string,
  env: NodeJS.ProcessEnv = {},
  launch: GatewayLaunch = {},
): GatewayProcess {
  const args = [...(launch.nodeArgs ?? []), launch.entry ?? SENSORNET_BIN, "gateway", "--config", configPath];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, NOTIFY_SOCKET: "", ...launch.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout = new LogCapture();
  let partial = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") stdout.write(`${line}\n`);
  });
  let err = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once("exit", (code, signal) => res({ code, signal })),
  );
  const started = stdout
    .waitFor((r) => r.msg === "gateway started", 30_000)
    .then((r) => ({
      udpPort: (r.udp as { port?: number } | undefined)?.port,
      httpPort: (r.http as { port?: number } | undefined)?.port,
    }));
  const ready = Promise.race([
    started,
    exited.then(({ code }) => {
      throw new Error(`gateway exited (${code}) before it started:\n${err}`);
    }),
  ]);
  ready.catch(() => {});
  return {
    child,
    stdout,
    stderr: () => err,
    ready,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `sensornet <args>` to completion (by default through bin/sensornet.js, without node flags). */
export function runSensornet(
  args: string[],
  launch: GatewayLaunch = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = [...(launch.nodeArgs ?? []), launch.entry ?? SENSORNET_BIN, ...args];
  const child = spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...launch.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => {
    stdout += c;
  });
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  return new Promise((res) => child.once("close", (code) => res({ code, stdout, stderr })));
}

/** GET /metrics of a running gateway. */
export async function scrapeMetrics(httpPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  return response.text();
}

/** The value of one series in Prometheus text, e.g. 'openherz_gateway_frames_dropped_total{reason="udp_bad_json"}'. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
