import { afterEach, describe, expect, it } from "vitest";
import {
  evaluateHealth,
  type HealthSnapshot,
  healthHttpCode,
  OpsHttpServer,
} from "../../../../gateway/ops/http.ts";
import { createGatewayMetrics } from "../../../../gateway/ops/metrics.ts";

const NOW = Date.parse("2026-05-04T12:00:00Z");

function snapshot(overrides: Partial<HealthSnapshot> = {}): HealthSnapshot {
  return {
    started: true,
    mqttConnected: true,
    journalDepth: 0,
    forwarders: [],
    clockSynced: true,
    ...overrides,
  };
}

describe("health evaluation", () => {
  it("is ok when everything works", () => {
    const report = evaluateHealth(
      snapshot({
        journalDepth: 3,
        journalBytes: 900,
        lastFrameMs: NOW - 4000,
        forwarders: [{ gatewayEui: "aa555a0000000000", lastSeenMs: NOW - 10_000 }],
        serial: [{ path: "/dev/ttyUSB0", state: "receiving" }],
      }),
      NOW,
    );
    expect(report).toEqual({
      status: "ok",
      reasons: [],
      mqtt: { connected: true },
      journal: { depth: 3, bytes: 900 },
      lastFrameAt: "2026-05-04T11:59:56.000Z",
      lastFrameAgeS: 4,
      forwarders: {
        count: 1,
        items: [{ gatewayEui: "aa555a0000000000", lastSeenAt: "2026-05-04T11:59:50.000Z", ageS: 10 }],
      },
      serial: [{ path: "/dev/ttyUSB0", state: "receiving" }],
      clock: { synced: true },
    });
    expect(healthHttpCode(report.status)).toBe(200);
  });

  it("is degraded (200) without broker or clock, with the reasons", () => {
    const report = evaluateHealth(
      snapshot({ mqttConnected: false, clockSynced: false, degraded: ["journal 95% full"] }),
      NOW,
    );
    expect(report.status).toBe("degraded");
    expect(report.reasons).toEqual(["mqtt disconnected", "clock not synchronised", "journal 95% full"]);
    expect(report.lastFrameAt).toBeNull();
    expect(healthHttpCode(report.status)).toBe(200);
  });

  it("is starting or failing (503) otherwise", () => {
    expect(evaluateHealth(snapshot({ started: false, mqttConnected: false }), NOW)).toMatchObject({
      status: "starting",
      reasons: ["starting"],
    });
    expect(evaluateHealth(snapshot({ failing: ["journal cannot commit: SQLITE_FULL"] }), NOW)).toMatchObject({
      status: "failing",
      reasons: ["journal cannot commit: SQLITE_FULL"],
    });
    expect(healthHttpCode("starting")).toBe(503);
    expect(healthHttpCode("failing")).toBe(503);
  });
});

describe("ops http server", () => {
  let server: OpsHttpServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function start(health: () => HealthSnapshot) {
    const metrics = createGatewayMetrics({ processMetrics: false });
    metrics.frameReceived("udp");
    server = new OpsHttpServer({ host: "127.0.0.1", port: 0, metrics, health, now: () => NOW });
    const { port } = await server.start();
    return `http://127.0.0.1:${port}`;
  }

  it("serves /metrics and /health over a real socket", async () => {
    let current = snapshot();
    const base = await start(() => current);

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toContain('openherz_gateway_frames_received_total{source="udp"} 1');

    let health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get("content-type")).toBe("application/json");
    expect(await health.json()).toMatchObject({ status: "ok", mqtt: { connected: true } });

    current = snapshot({ mqttConnected: false });
    health = await fetch(`${base}/health?verbose=1`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "degraded", reasons: ["mqtt disconnected"] });

    current = snapshot({ started: false });
    health = await fetch(`${base}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "starting" });

    const head = await fetch(`${base}/health`, { method: "HEAD" });
    expect(head.status).toBe(503);
    expect(await head.text()).toBe("");
  });

  it("answers 404 for other paths and 405 for other methods", async () => {
    const base = await start(() => snapshot());
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("answers 500 when the health callback throws, and keeps serving", async () => {
    let fail = true;
    const base = await start(() => {
      if (fail) throw new Error("boom");
      return snapshot();
    });
    expect((await fetch(`${base}/health`)).status).toBe(500);
    fail = false;
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it("stops symmetrically, also with a keep-alive connection open, and can start again", async () => {
    const base = await start(() => snapshot());
    await fetch(`${base}/health`, { keepalive: true });
    await server!.stop();
    await expect(fetch(`${base}/health`)).rejects.toThrow();
    await server!.stop();
    const { port } = await server!.start();
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });

  it("rejects start when the address is taken", async () => {
    const base = await start(() => snapshot());
    const port = Number(new URL(base).port);
    const second = new OpsHttpServer({
      host: "127.0.0.1",
      port,
      metrics: createGatewayMetrics({ processMetrics: false }),
      health: () => snapshot(),
    });
    await expect(second.start()).rejects.toThrow(/EADDRINUSE/);
  });
});
