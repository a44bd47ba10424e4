// GET /metrics (Prometheus text) and GET /health (JSON) on node:http, by default on 127.0.0.1:9700.
//
// /health status and HTTP code:
//   starting  503  startup not finished (journal not open or inputs not listening yet)
//   failing   503  a part the gateway cannot work without is broken (e.g. the journal cannot commit)
//   degraded  200  working, but something needs attention: broker disconnected (observations wait in the
//                  journal), clock not synchronised (frames wait for their time), or a reason from main
//   ok        200  everything fine
// Degraded answers 200 on purpose: the gateway is doing its job (nothing is lost), and a load balancer or
// watchdog script must not restart it because the city's broker is down.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../types.ts";

export type HealthStatus = "ok" | "degraded" | "starting" | "failing";

/** What main knows about the gateway's state, taken at each /health request. */
export interface HealthSnapshot {
  /** Startup finished: journal open, radio inputs listening, publisher started (connected or not). */
  started: boolean;
  /** Problems that stop the gateway from doing its job. */
  failing?: readonly string[];
  /** Further reasons for "degraded" (e.g. "journal 90% full", "serial /dev/ttyUSB0 unplugged"). */
  degraded?: readonly string[];
  mqttConnected: boolean;
  journalDepth: number;
  journalBytes?: number;
  /** Wall-clock ms of the last frame received from any source. */
  lastFrameMs?: number;
  forwarders: ReadonlyArray<{ gatewayEui: string; lastSeenMs: number }>;
  serial?: ReadonlyArray<{ path: string; state: string }>;
  clockSynced: boolean;
}

export interface HealthReport {
  status: HealthStatus;
  reasons: string[];
  mqtt: { connected: boolean };
  journal: { depth: number; bytes?: number };
  lastFrameAt: string | null;
  lastFrameAgeS: number | null;
  forwarders: { count: number; items: Array<{ gatewayEui: string; lastSeenAt: string; ageS: number }> };
  serial: Array<{ path: string; state: string }>;
  clock: { synced: boolean };
}

/** Pure: the status and report for a snapshot at `nowMs`. */
export function evaluateHealth(snapshot: HealthSnapshot, nowMs: number): HealthReport {
  const reasons: string[] = [];
  let status: HealthStatus;
  if (!snapshot.started) {
    status = "starting";
    reasons.push("starting");
  } else if ((snapshot.failing ?? []).length > 0) {
    status = "failing";
    reasons.push(...(snapshot.failing ?? []));
  } else {
    if (!snapshot.mqttConnected) reasons.push("mqtt disconnected");
    if (!snapshot.clockSynced) reasons.push("clock not synchronised");
    reasons.push(...(snapshot.degraded ?? []));
    status = reasons.length > 0 ? "degraded" : "ok";
  }
  const iso = (ms: number) => new Date(ms).toISOString();
  const age = (ms: number) => Math.max(0, Math.round((nowMs - ms) / 1000));
  return {
    status,
    reasons,
    mqtt: { connected: snapshot.mqttConnected },
    journal: {
      depth: snapshot.journalDepth,
      ...(snapshot.journalBytes !== undefined && { bytes: snapshot.journalBytes }),
    },
    lastFrameAt: snapshot.lastFrameMs === undefined ? null : iso(snapshot.lastFrameMs),
    lastFrameAgeS: snapshot.lastFrameMs === undefined ? null : age(snapshot.lastFrameMs),
    forwarders: {
      count: snapshot.forwarders.length,
      items: snapshot.forwarders.map((f) => ({
        gatewayEui: f.gatewayEui,
        lastSeenAt: iso(f.lastSeenMs),
        ageS: age(f.lastSeenMs),
      })),
    },
    serial: (snapshot.serial ?? []).map((s) => ({ path: s.path, state: s.state })),
    clock: { synced: snapshot.clockSynced },
  };
}

export function healthHttpCode(status: HealthStatus): 200 | 503 {
  return status === "ok" || status === "degraded" ? 200 : 503;
}

export interface OpsHttpServerOptions {
  host: string;
  /** 0 picks a free port (tests); see address(). */
  port: number;
  metrics: { contentType: string; metricsText(): Promise<string> };
  health: () => HealthSnapshot;
  logger?: Logger;
  now?: () => number;
}

export class OpsHttpServer {
  private server: Server | undefined;
  private readonly now: () => number;

  constructor(private readonly options: OpsHttpServerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Listens; rejects when the address cannot be bound (startup fails fast). */
  start(): Promise<{ host: string; port: number }> {
    if (this.server) return Promise.resolve(this.address());
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.logger?.error({ err, path: req.url }, "http handler failed");
        if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error\n");
        else res.destroy();
      });
    });
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        this.server = undefined;
        reject(err);
      };
      server.once("error", onError);
      server.listen(this.options.port, this.options.host, () => {
        server.off("error", onError);
        server.on("error", (err) => this.options.logger?.warn({ err }, "http server error"));
        const address = this.address();
        this.options.logger?.info(address, "metrics and health endpoint listening");
        resolve(address);
      });
    });
  }

  /** Stops listening and closes open connections (keep-alive scrapers included). */
  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  address(): { host: string; port: number } {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error("http server not started");
    return { host: a.address, port: a.port };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics" && path !== "/health") {
      send(res, 404, "text/plain; charset=utf-8", "not found: try /metrics or /health\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
      return;
    }
    const head = req.method === "HEAD";
    if (path === "/metrics") {
      const text = await this.options.metrics.metricsText();
      send(res, 200, this.options.metrics.contentType, text, head);
      return;
    }
    const report = evaluateHealth(this.options.health(), this.now());
    send(res, healthHttpCode(report.status), "application/json", `${JSON.stringify(report)}\n`, head);
  }
}

function send(res: ServerResponse, code: number, type: string, body: string, head = false): void {
  res.writeHead(code, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(head ? undefined : body);
}
