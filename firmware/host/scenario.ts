/**
 * Host-independent scenarios for the node firmware: a list of host ABI operations with fixed times and sensor
 * values, run step by step by every host this repository ships (here on the Node reference host; the same
 * JSON on wasmtime by firmware/host/wasmtime_host.py). All results are read as u32. Two hosts that run the same scenario must produce the
 * same trace byte for byte: the conformance test (test/conformance/) checks that.
 *
 * Scenario JSON: { "name", "start_s", "steps": [ … ] } with steps
 *   { "op": "init", "now", "cause" }                    init(now, cause, 0) on the current instance
 *   { "op": "radio", "sf", "bw_khz", "max_payload" }    radio_set → result entry
 *   { "op": "sensors", "values": [t, h, batt], "errors"?: [e0, e1, e2] }
 *                                                       what subsequent sensor_read calls return (default
 *                                                       values 2000, 5000, 3700 and errors 0)
 *   { "op": "tick", "now" }                             tick → tick entry, then drain: uplink_build(now) →
 *                                                       uplink entry → uplink_done(now, 1), until 0
 *   { "op": "pulse", "ch", "t_ms", "now" }              pulse
 *   { "op": "downlink", "now", "fport", "hex" }         downlink → result entry
 *   { "op": "clock_set", "now" }                        clock_set
 *   { "op": "reboot", "now", "cause" }                  save the state region, new instance, copy it in,
 *                                                       init(now, cause, 1) → result entry
 *
 * Trace: { "name", "entries": [{ step, kind, fport?, hex?, value? }], "final": { status, counters, state_seq,
 * state } }, serialised compactly with keys in exactly this order (JSON.stringify / json.dumps with
 * separators=(",", ":")), hex in lower case.
 */
import { loadFirmwareModule, NodeHost, type SensorReading } from "./node-host.ts";

export type ScenarioStep =
  | { op: "init"; now: number; cause: number }
  | { op: "radio"; sf: number; bw_khz: number; max_payload: number }
  | { op: "sensors"; values: [number, number, number]; errors?: [number, number, number] }
  | { op: "tick"; now: number }
  | { op: "pulse"; ch: number; t_ms: number; now: number }
  | { op: "downlink"; now: number; fport: number; hex: string }
  | { op: "clock_set"; now: number }
  | { op: "reboot"; now: number; cause: number };

export interface Scenario {
  name: string;
  start_s: number;
  steps: ScenarioStep[];
}

export interface TraceEntry {
  step: number;
  kind: "uplink" | "result" | "tick";
  fport?: number;
  hex?: string;
  value?: number;
}

export interface TraceFinal {
  status: number;
  /** Diagnostic counters 0..10 (hw/host-abi.md). */
  counters: number[];
  state_seq: number;
  /** The persistent state region at the end, hex. */
  state: string;
}

export interface ScenarioTrace {
  name: string;
  entries: TraceEntry[];
  final: TraceFinal;
}

/** Host-specific figures that are not part of the conformance comparison. */
export interface ScenarioSummary {
  host: string;
  ticks: number;
  /** Ticks during which the module read at least one sample. */
  sampled_ticks: number;
  uplinks: number;
  uplink_bytes: number;
  [extra: string]: number | string;
}

export interface ScenarioResult {
  trace: ScenarioTrace;
  summary: ScenarioSummary;
}

export const DEFAULT_SENSOR_VALUES: readonly [number, number, number] = [2000, 5000, 3700];
export const COUNTER_IDS = 11;
/** A drain that produces more uplinks than this is a firmware bug (it never reports "nothing due"). */
export const MAX_UPLINKS_PER_DRAIN = 64;

const OPS = new Set(["init", "radio", "sensors", "tick", "pulse", "downlink", "clock_set", "reboot"]);
const FIELDS: Record<string, string[]> = {
  init: ["now", "cause"],
  radio: ["sf", "bw_khz", "max_payload"],
  sensors: [],
  tick: ["now"],
  pulse: ["ch", "t_ms", "now"],
  downlink: ["now", "fport"],
  clock_set: ["now"],
  reboot: ["now", "cause"],
};

function isU32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function isIntTriple(v: unknown): v is [number, number, number] {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isInteger(x));
}

/** Checks a parsed scenario JSON document; throws with the step index on the first problem. */
export function parseScenario(doc: unknown): Scenario {
  if (typeof doc !== "object" || doc === null) throw new Error("scenario: not an object");
  const { name, start_s, steps } = doc as Record<string, unknown>;
  if (typeof name !== "string") throw new Error("scenario: name must be a string");
  if (!isU32(start_s)) throw new Error("scenario: start_s must be a u32");
  if (!Array.isArray(steps)) throw new Error("scenario: steps must be an array");
  steps.forEach((raw: unknown, i) => {
    const step = raw as Record<string, unknown>;
    if (typeof step !== "object" || step === null || !OPS.has(step.op as string)) {
      throw new Error(`scenario step ${i}: unknown op ${JSON.stringify(step?.op)}`);
    }
    for (const f of FIELDS[step.op as string] ?? []) {
      if (!isU32(step[f])) throw new Error(`scenario step ${i} (${step.op}): ${f} must be a u32`);
    }
    if (step.op === "sensors") {
      if (!isIntTriple(step.values)) throw new Error(`scenario step ${i}: values must be 3 integers`);
      if (step.errors !== undefined && !isIntTriple(step.errors)) {
        throw new Error(`scenario step ${i}: errors must be 3 integers`);
      }
    }
    if (step.op === "downlink" && (typeof step.hex !== "string" || !/^([0-9a-f]{2})*$/i.test(step.hex))) {
      throw new Error(`scenario step ${i}: hex must be an even-length hex string`);
    }
  });
  return doc as Scenario;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export interface RunScenarioOptions {
  /** A compiled firmware module; loaded from `wasmPath` (or the default build) when absent. */
  module?: WebAssembly.Module;
  wasmPath?: string;
}

/** Runs a scenario on the Node reference host. */
export async function runScenario(
  scenario: Scenario,
  opts: RunScenarioOptions = {},
): Promise<ScenarioResult> {
  const module = opts.module ?? (await loadFirmwareModule(opts.wasmPath));
  let values: readonly number[] = DEFAULT_SENSOR_VALUES;
  let errors: readonly number[] = [0, 0, 0];
  const sensors = (channel: number): SensorReading =>
    channel >= 0 && channel < 3
      ? { err: errors[channel] ?? 1, value: values[channel] ?? 0 }
      : { err: 1, value: 0 };
  let host = await NodeHost.create({ sensors, module });

  const entries: TraceEntry[] = [];
  const summary: ScenarioSummary = { host: "node", ticks: 0, sampled_ticks: 0, uplinks: 0, uplink_bytes: 0 };
  const samplesSoFar = () => host.counter(0) + host.counter(1);

  for (const [i, step] of scenario.steps.entries()) {
    switch (step.op) {
      case "init":
        entries.push({ step: i, kind: "result", value: host.init(step.now, step.cause) >>> 0 });
        break;
      case "radio":
        entries.push({
          step: i,
          kind: "result",
          value: host.radioSet(step.sf, step.bw_khz, step.max_payload) >>> 0,
        });
        break;
      case "sensors":
        values = step.values;
        errors = step.errors ?? [0, 0, 0];
        break;
      case "tick": {
        const before = samplesSoFar();
        entries.push({ step: i, kind: "tick", value: host.tick(step.now) >>> 0 });
        summary.ticks++;
        if (samplesSoFar() !== before) summary.sampled_ticks++;
        for (let n = 0; ; n++) {
          if (n === MAX_UPLINKS_PER_DRAIN) throw new Error(`step ${i}: more than ${n} uplinks in one drain`);
          const up = host.uplinkBuild(step.now);
          if (up === null) break;
          entries.push({ step: i, kind: "uplink", fport: up.fport, hex: toHex(up.bytes) });
          summary.uplinks++;
          summary.uplink_bytes += up.bytes.length;
          host.uplinkDone(step.now, true);
        }
        break;
      }
      case "pulse":
        host.pulse(step.ch, step.t_ms, step.now);
        break;
      case "downlink":
        entries.push({
          step: i,
          kind: "result",
          value: host.downlink(step.now, step.fport, Buffer.from(step.hex, "hex")) >>> 0,
        });
        break;
      case "clock_set":
        host.clockSet(step.now);
        break;
      case "reboot": {
        const saved = host.saveState();
        host = await NodeHost.create({ sensors, module });
        entries.push({ step: i, kind: "result", value: host.init(step.now, step.cause, saved) >>> 0 });
        break;
      }
    }
  }

  const counters = Array.from({ length: COUNTER_IDS }, (_, id) => host.counter(id) >>> 0);
  const final: TraceFinal = {
    status: host.status() >>> 0,
    counters,
    state_seq: host.stateSeq() >>> 0,
    state: toHex(host.saveState()),
  };
  return { trace: { name: scenario.name, entries, final }, summary };
}

/** The canonical trace text that both hosts must produce identically. */
export function serializeTrace(trace: ScenarioTrace): string {
  return JSON.stringify(trace);
}

/** The file a runner writes: host, trace (canonical text), summary. */
export function serializeResult(result: ScenarioResult): string {
  return `{"host":${JSON.stringify(result.summary.host)},"trace":${serializeTrace(result.trace)},"summary":${JSON.stringify(result.summary)}}\n`;
}
