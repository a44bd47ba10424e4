// The demo's pure parts: --duration, the state built from broker messages, the rendering (fits the
// terminal, plain lines carry no ANSI codes).
import { describe, expect, it } from "vitest";
import {
  buildObservationMessages,
  type DeviceInfo,
  type ObservationGrouping,
} from "../../../gateway/observations/index.ts";
import { decodeUplink, encodeBike, encodeClimate } from "../../../shared/payload/index.ts";
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
const DEVICE: DeviceInfo = {
  devEui: EUI,
  name: "sim-both-002",
  location: { lat: 52.37, lon: 9.73 },
  sensors: ["climate", "bike"],
  licence: "CC-BY-4.0",
};

/** What the gateway publishes for an uplink built at `at` (its observation topics and battery topic). */
function published(
  fport: 1 | 2,
  payload: Uint8Array,
  at: string,
  fcnt32: number,
  grouping: ObservationGrouping,
) {
  const t = Date.parse(at);
  return buildObservationMessages(
    { devEui: EUI, fcnt32, fport },
    decodeUplink(fport, payload),
    DEVICE,
    { uplinkTimeMs: t, resultTimeMs: t },
    { grouping },
  );
}

describe("LiveState", () => {
  it.each(["uplink", "observation"] as const)(
    "%s grouping: keeps the newest reading, pairs the two directions of the newest bin, reads radio and battery, counts observations",
    (grouping) => {
      const s = new LiveState("openherz");
      const climate = (temperatures: number[], humidities: number[]) =>
        encodeClimate({ intervalMin: 5, ageS: 10, batteryMv: 3600, temperatures, humidities });
      const messages = [
        // Samples at 07:00 and 07:05; then an older uplink arriving late (06:00, 06:05): ignored.
        ...published(1, climate([1710, 1750], [5000, 5100]), "2026-06-01T07:05:10Z", 2, grouping),
        ...published(1, climate([1600, 1650], [4000, 4100]), "2026-06-01T06:05:10Z", 1, grouping),
        // Bins 07:00–07:15 and 07:15–07:30.
        ...published(
          2,
          encodeBike({
            binS: 900,
            ageS: 0,
            bins: [
              { ab: 3, ba: 4 },
              { ab: 9, ba: 2 },
            ],
          }),
          "2026-06-01T07:30:00Z",
          3,
          grouping,
        ),
        {
          topic: `openherz/v1/operator/uplinks/${EUI}`,
          payload: '{"rssi":-101,"snr":7.25,"source":{"id":"g"}}',
        },
        { topic: `openherz/v1/operator/nodes/${EUI}/status`, payload: '{"batteryV":3.61}' },
        { topic: `openherz/v1/operator/nodes/${EUI}/status`, payload: "" }, // cleared retained message
        { topic: `openherz/v1/observations/${EUI}/relative_humidity`, payload: "not json" },
        { topic: `openherz/v1/observations/${EUI}/relative_humidity`, payload: '{"result":"x"}' },
        { topic: `openherz/v1/observations/${EUI}/air_temperature`, payload: '{"Observations":[1]}' },
      ];
      for (const m of messages) s.handle(m.topic, m.payload);
      // Another topic prefix: not this demo's.
      const [other] = published(1, climate([2000], [6000]), "2026-06-01T08:00:10Z", 4, grouping);
      s.handle(other!.topic.replace("openherz/", "elsewhere/"), other!.payload);

      const node = s.nodes.get(EUI)!;
      expect(node.temperature).toEqual({ value: 17.5, tS: Date.parse("2026-06-01T07:05:00Z") / 1000 });
      expect(node.humidity).toEqual({ value: 51, tS: Date.parse("2026-06-01T07:05:00Z") / 1000 });
      expect(node.bikes).toEqual({
        ab: 9,
        ba: 2,
        startS: Date.parse("2026-06-01T07:15:00Z") / 1000,
        endS: Date.parse("2026-06-01T07:30:00Z") / 1000,
      });
      expect(node).toMatchObject({ rssi: -101, snr: 7.25, heardVia: "g", batteryV: 3.61 });
      // 2 × (2 temperatures + 2 humidities) + 2 × 2 bike counts; the battery is not on the open-data tree.
      expect(s.counts.observations).toBe(12);
      expect(s.counts.messages).toBe(messages.length);
    },
  );

  it("reads the battery voltage from its own topic", () => {
    for (const grouping of ["uplink", "observation"] as const) {
      const s = new LiveState("openherz");
      const payload = encodeClimate({
        intervalMin: 5,
        ageS: 10,
        batteryMv: 3542,
        temperatures: [1710],
        humidities: [5000],
      });
      for (const m of published(1, payload, "2026-06-01T07:05:10Z", 1, grouping))
        s.handle(m.topic, m.payload);
      expect(s.nodes.get(EUI)!.batteryV, grouping).toBe(3.542);
    }
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
