/**
 * Deterministic conformance scenarios (format: firmware/host/scenario.ts), generated from the climate model
 * and the bicycle traffic generator. The same seed gives the same JSON on every machine, so a trace
 * difference between two hosts is a host (or firmware determinism) bug, never test noise.
 *
 *   tsx test/conformance/generate.ts <dir>    writes every scenario as <dir>/<name>.json
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigKey } from "../../firmware/host/abi.ts";
import type { Scenario, ScenarioStep } from "../../firmware/host/scenario.ts";
import { commuterProfile, constantRate, generateBikeTraffic } from "../../tools/sim/models/bike-traffic.ts";
import { type ClimateModel, createClimateModel } from "../../tools/sim/models/climate.ts";
import { cborMapHex } from "./cbor-config.ts";

/** Wednesday 2025-06-18 00:00 UTC: a weekday, so the commuter profile has its two peaks. */
export const DAY0_S = 1_750_204_800;
const HOUR = 3600;

/** One thing that happens at a true time; `apply` gets the node's clock at that moment. */
interface Event {
  atMs: number;
  /** Order among events in the same millisecond: control first, then pulses, then ticks. */
  prio: number;
  apply: (now: number, tMs: number) => ScenarioStep | ScenarioStep[] | null;
}

const PRIO_CONTROL = 0;
const PRIO_PULSE = 1;
const PRIO_TICK = 2;

/**
 * Collects events on a true-time axis and turns them into steps: the node's clock is uptime seconds until
 * the first `clock_set`, Unix time afterwards; its millisecond counter restarts at every reboot.
 */
class Timeline {
  private readonly events: Event[] = [];
  private clockSetAtMs = Number.POSITIVE_INFINITY;

  constructor(
    private readonly startMs: number,
    /** Node clock at true time `startMs` before the clock is set (uptime or already Unix). */
    private readonly nodeClockAtStart: number,
    /** Millisecond counter at the first boot (set near 2^32 to exercise the wrap). */
    private readonly firstBootTMs = 0,
  ) {}

  add(atMs: number, prio: number, apply: Event["apply"]): void {
    this.events.push({ atMs, prio, apply });
  }

  control(atMs: number, step: (now: number) => ScenarioStep): void {
    this.add(atMs, PRIO_CONTROL, (now) => step(now));
  }

  /** The clock learns Unix time at `atMs` (true time is Unix ms). */
  clockSet(atMs: number): void {
    this.clockSetAtMs = atMs;
    this.add(atMs, PRIO_CONTROL, () => ({ op: "clock_set", now: Math.floor(atMs / 1000) }));
  }

  /** Ticks every `everyS` from `fromMs` (inclusive) to `toMs` (exclusive); `sensors` gives values first. */
  ticks(
    fromMs: number,
    toMs: number,
    everyS: number,
    sensors?: (trueS: number) => ScenarioStep | null,
  ): void {
    for (let t = fromMs; t < toMs; t += everyS * 1000) {
      this.add(t, PRIO_TICK, (now) => {
        const s = sensors?.(t / 1000) ?? null;
        return s === null ? { op: "tick", now } : [s, { op: "tick", now }];
      });
    }
  }

  pulses(pulses: ReadonlyArray<{ channel: 0 | 1; tMs: number }>): void {
    for (const p of pulses)
      this.add(p.tMs, PRIO_PULSE, (now, tMs) => ({ op: "pulse", ch: p.channel, t_ms: tMs, now }));
  }

  build(name: string): Scenario {
    const sorted = this.events.map((e, seq) => ({ e, seq }));
    sorted.sort((x, y) => x.e.atMs - y.e.atMs || x.e.prio - y.e.prio || x.seq - y.seq);
    const steps: ScenarioStep[] = [];
    let bootMs = this.startMs;
    let bootTMs = this.firstBootTMs;
    for (const { e } of sorted) {
      const now =
        e.atMs >= this.clockSetAtMs
          ? Math.floor(e.atMs / 1000)
          : this.nodeClockAtStart + Math.floor((e.atMs - this.startMs) / 1000);
      const tMs = (bootTMs + Math.round(e.atMs - bootMs)) >>> 0;
      const out = e.apply(now, tMs);
      if (out === null) continue;
      for (const step of Array.isArray(out) ? out : [out]) {
        steps.push(step);
        if (step.op === "reboot") {
          bootMs = e.atMs;
          bootTMs = 0;
        }
      }
    }
    const first = steps.find((s): s is ScenarioStep & { now: number } => "now" in s);
    return { name, start_s: first?.now ?? this.nodeClockAtStart, steps };
  }
}

function climateSensors(model: ClimateModel): (trueS: number) => ScenarioStep {
  return (trueS) => {
    const r = model.at(trueS);
    return { op: "sensors", values: [r.temperatureCenti, r.humidityCenti, r.batteryMv] };
  };
}

/** A day of the default climate workload at SF9: 5-minute samples, hourly batches, a heat day. */
export function climateDay(seed = 1): Scenario {
  const start = DAY0_S * 1000;
  const model = createClimateModel({ seed, baseC: 19, amplitudeC: 6, heatDay: { dayS: DAY0_S, extraC: 7 } });
  const tl = new Timeline(start, DAY0_S);
  tl.control(start, (now) => ({ op: "init", now, cause: 0 }));
  tl.control(start, () => ({ op: "radio", sf: 9, bw_khz: 125, max_payload: 115 }));
  // Ticks every 150 s: on and between the 5-minute grid, as a host that wakes for other reasons would.
  tl.ticks(start, start + 24 * HOUR * 1000 + 1000, 150, climateSensors(model));
  return tl.build("climate-day");
}

/** A day of bicycle counting at SF12 (bins of 15 min, 2 h latency) on a commuter path with some noise. */
export function bikeDay(seed = 2): Scenario {
  const start = DAY0_S * 1000;
  const durationMs = 24 * HOUR * 1000;
  const traffic = generateBikeTraffic({
    seed,
    startMs: start,
    durationMs,
    rate: commuterProfile(60),
    noisePerHour: 2,
    missProbability: 0.01,
    jitterMs: 2,
  });
  const model = createClimateModel({ seed });
  const tl = new Timeline(start, DAY0_S);
  tl.control(start, (now) => ({ op: "init", now, cause: 0 }));
  tl.control(start, () => ({ op: "radio", sf: 12, bw_khz: 125, max_payload: 51 }));
  tl.control(start, (now) => ({
    op: "downlink",
    now,
    fport: 10,
    hex: cborMapHex([
      [ConfigKey.cfgId, 1],
      [ConfigKey.sensors, 2],
    ]),
  }));
  tl.pulses(traffic.pulses);
  tl.ticks(start, start + durationMs + 1000, 60, climateSensors(model));
  return tl.build("bike-day");
}

/** Configuration downlinks, valid and invalid, each with the code PAYLOAD.md requires (for readers). */
export const CONFIG_DOWNLINKS: ReadonlyArray<{ hex: string; fport?: number; expect: number; what: string }> =
  [
    {
      hex: cborMapHex([
        [ConfigKey.cfgId, 20],
        [ConfigKey.alertTHigh, 3000],
        [ConfigKey.alertTLow, null],
      ]),
      expect: 0,
      what: "alerts",
    },
    { hex: "ff", expect: 1, what: "garbage byte" },
    { hex: "", expect: 1, what: "empty" },
    { hex: "8100", expect: 1, what: "array, not a map" },
    { hex: "a2000101", expect: 1, what: "truncated map" },
    { hex: `${cborMapHex([[ConfigKey.cfgId, 21]])}00`, expect: 1, what: "trailing byte" },
    { hex: "bf0001ff", expect: 1, what: "indefinite-length map" },
    {
      hex: cborMapHex([
        [ConfigKey.cfgId, 22],
        [99, 1],
      ]),
      expect: 2,
      what: "unknown key",
    },
    {
      hex: cborMapHex([
        [ConfigKey.cfgId, 23],
        [ConfigKey.climateIntervalMin, 0],
      ]),
      expect: 3,
      what: "interval too short",
    },
    {
      hex: cborMapHex([
        [ConfigKey.cfgId, 24],
        [ConfigKey.bikeBinS, 700],
      ]),
      expect: 3,
      what: "bin not dividing a day",
    },
    {
      hex: cborMapHex([
        [ConfigKey.cfgId, 25],
        ...Array.from({ length: 20 }, (_, i) => [ConfigKey.tOffset, 1000 + i] as const),
      ]),
      expect: 4,
      what: "oversized (> 64 bytes)",
    },
    {
      hex: cborMapHex([
        [ConfigKey.cfgId, 26],
        [ConfigKey.speedMinKmh, 40],
        [ConfigKey.speedMaxKmh, 20],
      ]),
      expect: 5,
      what: "inconsistent",
    },
    {
      hex: cborMapHex([
        [ConfigKey.cfgId, 27],
        [ConfigKey.climateIntervalMin, "5"],
      ]),
      expect: 6,
      what: "wrong type",
    },
    { hex: cborMapHex([[ConfigKey.climateIntervalMin, 5]]), expect: 7, what: "cfg_id missing" },
    { hex: "a300181e02020204", expect: 8, what: "duplicate key" },
    {
      hex: cborMapHex([
        [ConfigKey.cfgId, 30],
        [ConfigKey.climateIntervalMin, 61],
      ]),
      expect: 3,
      what: "interval too long",
    },
    { hex: cborMapHex([[ConfigKey.cfgId, 28]]), fport: 11, expect: 255, what: "unknown port" },
    { hex: cborMapHex([[ConfigKey.cfgId, 0]]), expect: 3, what: "cfg_id 0" },
    {
      hex: cborMapHex([
        [ConfigKey.cfgId, 29],
        [ConfigKey.tOffset, -150],
        [ConfigKey.hOffset, 200],
      ]),
      expect: 0,
      what: "offsets",
    },
  ];

/**
 * A node with both sensors that starts without Unix time, learns it, is reconfigured by valid and invalid
 * downlinks, reboots twice with its state restored, and changes data rate, including invalid ones.
 */
export function mixedNode(seed = 3): Scenario {
  const clockSetMs = (DAY0_S + 6 * HOUR) * 1000;
  const start = clockSetMs - 2 * HOUR * 1000;
  const end = start + 10 * HOUR * 1000;
  const model = createClimateModel({ seed, baseC: 12, amplitudeC: 4 });
  const traffic = generateBikeTraffic({
    seed,
    startMs: start,
    durationMs: end - start,
    rate: constantRate(40),
    noisePerHour: 6,
    jitterMs: 3,
  });
  // The node boots 100 s after power-on, its millisecond counter 60 s before the 2^32 wrap.
  const tl = new Timeline(start, 100, 0xffff_ffff - 60_000);
  const at = (h: number) => start + Math.round(h * HOUR * 1000);
  tl.control(start, (now) => ({ op: "init", now, cause: 0 }));
  tl.control(start, () => ({ op: "radio", sf: 10, bw_khz: 125, max_payload: 51 }));
  const provisioning = cborMapHex([
    [ConfigKey.cfgId, 1],
    [ConfigKey.sensors, 3],
    [ConfigKey.climateIntervalMin, 1],
    [ConfigKey.climateLatencyS, 900],
    [ConfigKey.bikeLatencyS, 1800],
    [ConfigKey.bikeBinS, 300],
    [ConfigKey.statusIntervalS, 3600],
  ]);
  tl.control(start, (now) => ({ op: "downlink", now, fport: 10, hex: provisioning }));
  tl.pulses(traffic.pulses);
  tl.ticks(start, end, 30, climateSensors(model));
  tl.clockSet(clockSetMs);

  CONFIG_DOWNLINKS.forEach((d, i) => {
    tl.control(at(0.5 + i * 0.25), (now) => ({ op: "downlink", now, fport: d.fport ?? 10, hex: d.hex }));
  });
  tl.control(at(1.2), () => ({ op: "radio", sf: 12, bw_khz: 125, max_payload: 51 }));
  tl.control(at(2.7), () => ({ op: "radio", sf: 7, bw_khz: 125, max_payload: 222 }));
  tl.control(at(3.1), () => ({ op: "radio", sf: 13, bw_khz: 125, max_payload: 51 }));
  tl.control(at(3.1), () => ({ op: "radio", sf: 9, bw_khz: 300, max_payload: 115 }));
  tl.control(at(3.1), () => ({ op: "radio", sf: 9, bw_khz: 125, max_payload: 5 }));
  tl.control(at(3.2), () => ({ op: "radio", sf: 7, bw_khz: 250, max_payload: 222 }));
  tl.control(at(4.05), (now) => ({ op: "reboot", now, cause: 1 }));
  tl.control(at(6.5), () => ({ op: "radio", sf: 11, bw_khz: 125, max_payload: 51 }));
  tl.control(at(7.33), (now) => ({ op: "reboot", now, cause: 2 }));
  tl.control(at(8), () => ({ op: "radio", sf: 9, bw_khz: 125, max_payload: 115 }));
  return tl.build("mixed-node");
}

/** Sensor faults: bus and CRC errors, out-of-range values, a stuck channel, a dead battery gauge. */
export function sensorFaults(seed = 4): Scenario {
  const start = DAY0_S * 1000;
  const end = start + 8 * HOUR * 1000;
  const model = createClimateModel({ seed });
  const tl = new Timeline(start, DAY0_S);
  tl.control(start, (now) => ({ op: "init", now, cause: 0 }));
  tl.control(start, () => ({ op: "radio", sf: 9, bw_khz: 125, max_payload: 115 }));
  tl.control(start, (now) => ({
    op: "downlink",
    now,
    fport: 10,
    hex: cborMapHex([
      [ConfigKey.cfgId, 2],
      [ConfigKey.stuckCount, 5],
      [ConfigKey.statusIntervalS, 3600],
    ]),
  }));
  tl.ticks(start, end, 300, (trueS) => {
    const h = (trueS * 1000 - start) / (HOUR * 1000);
    const r = model.at(trueS);
    let values: [number, number, number] = [r.temperatureCenti, r.humidityCenti, r.batteryMv];
    let errors: [number, number, number] = [0, 0, 0];
    if (h >= 1 && h < 1.5)
      errors = [2, 0, 0]; // temperature: no acknowledge
    else if (h >= 1.5 && h < 2)
      errors = [0, 3, 0]; // humidity: CRC error
    else if (h >= 2 && h < 2.5)
      errors = [4, 4, 1]; // both busy, battery gauge not fitted
    else if (h >= 2.5 && h < 3)
      values = [9000, 10_050, 7000]; // out of range
    else if (h >= 3 && h < 3.2) values = [-4001, -1, 3700];
    else if (h >= 3.5 && h < 5)
      values = [2222, r.humidityCenti, r.batteryMv]; // temperature stuck
    else if (h >= 5.5 && h < 6) errors = [0x7fff_ffff, 99, 0]; // unspecified errors
    return { op: "sensors", values, errors };
  });
  return tl.build("sensor-faults");
}

/** The airtime budget: a tiny budget at SF12 defers and finally drops data, a larger one lets it through. */
export function radioBudget(seed = 5): Scenario {
  const start = DAY0_S * 1000 + 20 * HOUR * 1000;
  const end = start + 30 * HOUR * 1000;
  const model = createClimateModel({ seed });
  const tl = new Timeline(start, start / 1000);
  const at = (h: number) => start + Math.round(h * HOUR * 1000);
  tl.control(start, (now) => ({ op: "init", now, cause: 0 }));
  tl.control(start, () => ({ op: "radio", sf: 12, bw_khz: 125, max_payload: 51 }));
  tl.control(start, (now) => ({
    op: "downlink",
    now,
    fport: 10,
    hex: cborMapHex([
      [ConfigKey.cfgId, 3],
      [ConfigKey.airtimeBudgetMs, 1000],
      [ConfigKey.climateIntervalMin, 2],
      [ConfigKey.climateLatencyS, 600],
    ]),
  }));
  tl.ticks(start, end, 120, climateSensors(model));
  tl.control(at(9), (now) => ({
    op: "downlink",
    now,
    fport: 10,
    hex: cborMapHex([
      [ConfigKey.cfgId, 4],
      [ConfigKey.airtimeBudgetMs, 20_000],
    ]),
  }));
  tl.control(at(14), () => ({ op: "radio", sf: 7, bw_khz: 125, max_payload: 222 }));
  tl.control(at(22), (now) => ({ op: "reboot", now, cause: 3 }));
  return tl.build("radio-budget");
}

export const GENERATORS: ReadonlyArray<() => Scenario> = [
  climateDay,
  bikeDay,
  mixedNode,
  sensorFaults,
  radioBudget,
];

export function generateAll(): Scenario[] {
  return GENERATORS.map((g) => g());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write("usage: generate.ts <dir>\n");
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });
  for (const s of generateAll()) {
    writeFileSync(join(dir, `${s.name}.json`), `${JSON.stringify(s)}\n`);
    process.stdout.write(`${s.name}: ${s.steps.length} steps\n`);
  }
}
