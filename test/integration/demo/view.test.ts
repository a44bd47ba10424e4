// The demo's pure parts: --duration, the state built from broker messages, the rendering (fits the
// terminal, plain lines carry no ANSI codes).
import { describe, expect, it } from "vitest";
import {
  type DemoSnapshot,
  LiveState,
  nodeTable,
  parseDuration,
  plainSummary,
  renderScreen,
  speedText,
  subscribeCommands,
} from "../../../tools/demo/index.ts";
import { Truth } from "../../../tools/sim/index.ts";

describe("parseDuration", () => {
  it("reads simulated time with a unit and wall seconds without one", () => {
    expect(parseDuration("6h")).toEqual({ clock: "simulated", ms: 6 * 3_600_000 });
    expect(parseDuration("1.5d")).toEqual({ clock: "simulated", ms: 1.5 * 86_400_000 });
    expect(parseDuration("90m")).toEqual({ clock: "simulated", ms: 90 * 60_000 });
    expect(parseDuration("60")).toEqual({ clock: "wall", ms: 60_000 });
    for (const bad of ["", "0", "-1h", "2w", "h", "1e3"])
      expect(() => parseDuration(bad), bad).toThrow(RangeError);
  });
});

const EUI = "5EED000001000002";
const envelope = (time: string, result: number) => JSON.stringify({ phenomenonTime: time, result });

describe("LiveState", () => {
  it("keeps the newest reading, pairs the two directions of the newest bin, reads radio and battery", () => {
    const s = new LiveState("openherz");
    const t = (ds: string) => `openherz/v1/observations/${EUI}/${ds}`;
    s.handle(t("air_temperature"), envelope("2026-06-01T07:05:00Z", 17.5));
    s.handle(t("air_temperature"), envelope("2026-06-01T07:00:00Z", 17.1)); // older: ignored
    s.handle(t("bicycles_ab"), envelope("2026-06-01T07:00:00Z/2026-06-01T07:15:00Z", 3));
    s.handle(t("bicycles_ab"), envelope("2026-06-01T07:15:00Z/2026-06-01T07:30:00Z", 9));
    s.handle(t("bicycles_ba"), envelope("2026-06-01T07:00:00Z/2026-06-01T07:15:00Z", 4)); // older bin
    s.handle(t("bicycles_ba"), envelope("2026-06-01T07:15:00Z/2026-06-01T07:30:00Z", 2));
    s.handle(
      `openherz/v1/operator/uplinks/${EUI}`,
      JSON.stringify({ rssi: -101, snr: 7.25, source: { id: "g" } }),
    );
    s.handle(`openherz/v1/operator/nodes/${EUI}/status`, JSON.stringify({ batteryV: 3.61 }));
    s.handle(`openherz/v1/operator/nodes/${EUI}/status`, ""); // cleared retained message
    s.handle(t("relative_humidity"), "not json");
    s.handle("elsewhere/v1/observations/x/y", envelope("2026-06-01T08:00:00Z", 1));
    const node = s.nodes.get(EUI)!;
    expect(node.temperature).toEqual({ value: 17.5, tS: Date.parse("2026-06-01T07:05:00Z") / 1000 });
    expect(node.bikes).toMatchObject({ ab: 9, ba: 2, startS: Date.parse("2026-06-01T07:15:00Z") / 1000 });
    expect(node).toMatchObject({ rssi: -101, snr: 7.25, batteryV: 3.61 });
    expect(s.counts.observations).toBe(7);
  });
});

function snapshot(nodes: number): DemoSnapshot {
  return {
    simNowMs: Date.parse("2026-06-01T07:13:20Z"),
    simStartMs: Date.parse("2026-06-01T06:00:00Z"),
    simEndMs: undefined,
    speed: 600,
    wallMs: 7_300,
    topicPrefix: "openherz",
    broker: { host: "127.0.0.1", port: 1883, url: "mqtt://127.0.0.1:1883", description: "embedded aedes" },
    gateway: {
      framesReceived: 34,
      accepted: 34,
      dropped: 0,
      duplicates: 0,
      journalDepth: 0,
      published: 540,
      publishRate: 12,
      mqttConnected: true,
      udpPort: 40000,
      metricsUrl: undefined,
      warnings: 0,
      lastWarning: undefined,
    },
    brokerObservations: 480,
    brokerMessages: 540,
    nodes: Array.from({ length: nodes }, (_, i) => ({
      name: `sim-both-${String(i + 1).padStart(3, "0")}`,
      kind: "both" as const,
      devEui: EUI,
      live: { messages: 1, temperature: { value: 18.25, tS: 1_780_297_200 }, rssi: -99, snr: 8.5 },
      airtimeMs: 1234,
      budgetMs: 30_000,
      uplinks: 3,
    })),
  };
}

describe("view", () => {
  it("fits the terminal and summarises the nodes that do not fit", () => {
    const lines = renderScreen(snapshot(40), { mosquittoSub: false }, { columns: 80, rows: 30 });
    expect(lines.length).toBeLessThanOrEqual(30);
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(lines.join("\n")).toMatch(/… \d+ more nodes/);
    expect(lines.join("\n")).toContain(
      "npx mqtt sub -h 127.0.0.1 -p 1883 -t 'openherz/v1/observations/#' -v",
    );
  });

  it("plain lines: clock, gateway counters, nodes", () => {
    expect(plainSummary(snapshot(2))).toBe(
      "[sim 2026-06-01 Mon 07:13:20 UTC day 0.05 | wall 00:00:07] gateway: frames 34 received, 34 accepted, " +
        "0 dropped | journal 0 | published 540 (12.0/s) | mqtt connected | broker: 480 observations | " +
        "nodes reporting 2/2",
    );
    const table = nodeTable(snapshot(1).nodes);
    expect(table[1]).toMatch(/^sim-both-001 +18\.25 +– +07:00 +– +-99 +8\.5 +– +1\.2 \/ 30 s +3$/);
    expect(speedText(600)).toBe("600× (a simulated day in 2.4 min)");
    expect(subscribeCommands(snapshot(0), { mosquittoSub: true })[1]).toBe(
      "mosquitto_sub -h 127.0.0.1 -p 1883 -t 'openherz/v1/observations/#' -v",
    );
  });
});

describe("Truth.forget (keeps a long demo's memory bounded)", () => {
  it("drops the entries before the given time and keeps the rest in order", () => {
    const truth = new Truth();
    truth.nodes.set("n", {
      name: "n",
      devEui: EUI,
      climate: [100, 200, 300].map((tS) => ({
        tS,
        temperatureCenti: 1,
        humidityCenti: 1,
        rejected: { temperature: false, humidity: false },
      })),
      riders: [100_000, 250_000, 400_000].map((tMs) => ({ tMs, direction: "ab" as const })),
      frames: [],
      reboots: [{ tS: 50, cause: 0 }],
      notSent: 0,
    });
    truth.forget(250_000);
    const n = truth.node("n");
    expect(n.climate.map((s) => s.tS)).toEqual([300]);
    expect(n.riders.map((r) => r.tMs)).toEqual([250_000, 400_000]);
    expect(n.reboots).toEqual([]);
  });
});
