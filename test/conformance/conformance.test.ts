/**
 * Host conformance: every scenario runs on the Node reference host (in-process) and on the wasmtime host
 * (python3 firmware/host/wasmtime_host.py); both must write the same trace, byte for byte, and every uplink
 * in it must decode with the project's payload decoder. Without a Python wasmtime the comparison is skipped
 * locally and fails in CI.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFirmwareModule, NodeHost } from "../../firmware/host/node-host.ts";
import {
  parseScenario,
  runScenario,
  type Scenario,
  type ScenarioResult,
  serializeTrace,
} from "../../firmware/host/scenario.ts";
import { wasmApi } from "../../firmware/host/wasm-api.ts";
import { decodeUplink } from "../../shared/payload/index.ts";
import { CONFIG_DOWNLINKS, DAY0_S, generateAll } from "./generate.ts";
import {
  REPO,
  runOnWasmtime,
  WASM_PATH,
  WASMTIME_MISSING,
  type WasmtimeRun,
  wasmtimeAvailable,
} from "./hosts.ts";

const inCI = process.env.CI === "true";
const haveWasmtime = wasmtimeAvailable();
if (!haveWasmtime && !inCI) {
  console.warn(
    "conformance: python3 cannot import wasmtime; fell back to the Node host only, byte-identical trace " +
      "comparison SKIPPED (pip install wasmtime to run it)",
  );
}

/** Every configuration downlink of PAYLOAD.md's result table, each acknowledged by a status uplink. */
function configResults(): Scenario {
  const steps: Scenario["steps"] = [
    { op: "init", now: DAY0_S, cause: 0 },
    { op: "radio", sf: 9, bw_khz: 125, max_payload: 115 },
  ];
  CONFIG_DOWNLINKS.forEach((d, i) => {
    const now = DAY0_S + 60 * (i + 1);
    steps.push({ op: "downlink", now, fport: d.fport ?? 10, hex: d.hex }, { op: "tick", now });
  });
  return { name: "config-results", start_s: DAY0_S, steps };
}

function committedScenarios(): Scenario[] {
  const dir = join(REPO, "test/conformance/scenarios");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => parseScenario(JSON.parse(readFileSync(join(dir, f), "utf8"))));
}

const scenarios = [...committedScenarios(), configResults(), ...generateAll()];

describe("host conformance", () => {
  let module: WebAssembly.Module;
  const nodeResults = new Map<string, Promise<ScenarioResult>>();
  const fuel: Array<{
    name: string;
    samples: number;
    perSample: number;
    perIdleTick: number;
    uplinks: number;
    perUplink: number;
  }> = [];

  const wasmtimeResults = new Map<string, WasmtimeRun>();
  const onWasmtime = (s: Scenario): WasmtimeRun => {
    let r = wasmtimeResults.get(s.name);
    if (r === undefined) {
      r = runOnWasmtime(s);
      wasmtimeResults.set(s.name, r);
    }
    return r;
  };

  const onNode = (s: Scenario): Promise<ScenarioResult> => {
    let r = nodeResults.get(s.name);
    if (r === undefined) {
      r = runScenario(s, { module });
      nodeResults.set(s.name, r);
    }
    return r;
  };

  beforeAll(async () => {
    module = await loadFirmwareModule(WASM_PATH);
  });

  afterAll(() => {
    if (fuel.length === 0) return;
    const rows = fuel.map((f) => ({
      scenario: f.name,
      "sampled ticks": f.samples,
      "fuel/sample": f.perSample,
      "fuel/idle tick": f.perIdleTick,
      uplinks: f.uplinks,
      "fuel/uplink": f.perUplink,
    }));
    console.log(
      "wasmtime fuel (mean per tick that sampled, per tick that did not, per uplink_build that built)",
    );
    console.table(rows);
  });

  it.skipIf(!inCI)("has a Python wasmtime in CI", () => {
    expect(haveWasmtime, WASMTIME_MISSING).toBe(true);
  });

  describe("the module keeps to the host ABI's shape (hw/host-abi.md)", () => {
    it("imports only openherz.sensor_read and openherz.log_event", () => {
      const imports = wasmApi.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`);
      for (const i of imports)
        expect(["openherz.sensor_read:function", "openherz.log_event:function"]).toContain(i);
    });

    it("exports every ABI function and one memory of one page that cannot grow", async () => {
      const names = wasmApi.Module.exports(module).map((e) => e.name);
      for (const name of [
        "memory",
        "_initialize",
        "abi_version",
        "fw_version",
        "state_ptr",
        "state_size",
        "state_seq",
        "init",
        "clock_set",
        "radio_set",
        "tick",
        "pulse",
        "uplink_build",
        "uplink_fport",
        "uplink_done",
        "tx_ptr",
        "rx_ptr",
        "rx_cap",
        "downlink",
        "status",
        "counter",
      ]) {
        expect(names).toContain(name);
      }
      const host = await NodeHost.create({ sensors: () => ({ err: 1, value: 0 }), module });
      const memory = host.exports.memory as { buffer: ArrayBuffer; grow(pages: number): number };
      expect(memory.buffer.byteLength).toBe(65536);
      expect(() => memory.grow(1)).toThrow(RangeError);
    });

    const validate = spawnSync("wasm-validate", ["--version"], { stdio: "ignore" }).status === 0;
    it.skipIf(!validate)(
      "validates as WebAssembly MVP (wabt wasm-validate with every post-MVP feature off)",
      () => {
        const run = spawnSync(
          "wasm-validate",
          [
            "--disable-mutable-globals",
            "--disable-saturating-float-to-int",
            "--disable-sign-extension",
            "--disable-multi-value",
            "--disable-bulk-memory",
            "--disable-reference-types",
            "--disable-simd",
            WASM_PATH,
          ],
          { encoding: "utf8" },
        );
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
      },
    );
  });

  describe.each(scenarios.map((s) => [s.name, s] as const))("%s", (_name, scenario) => {
    it("runs on the Node host and every uplink decodes with shared/payload", async () => {
      const { trace } = await onNode(scenario);
      const uplinks = trace.entries.filter((e) => e.kind === "uplink");
      expect(uplinks.length).toBeGreaterThan(0);
      for (const e of uplinks) {
        const bytes = Buffer.from(e.hex ?? "", "hex");
        expect(
          () => decodeUplink(e.fport ?? 0, bytes),
          `step ${e.step} FPort ${e.fport} ${e.hex}`,
        ).not.toThrow();
      }
    });

    it.skipIf(!haveWasmtime && !inCI)("gives a byte-identical trace on wasmtime", async () => {
      const node = await onNode(scenario);
      const wasm = onWasmtime(scenario);
      // A structural comparison first, for a readable diff; then the bytes.
      expect(wasm.trace).toEqual(node.trace);
      expect(wasm.traceText).toBe(serializeTrace(node.trace));
      expect(wasm.summary.uplinks).toBe(node.summary.uplinks);
      expect(wasm.summary.sampled_ticks).toBe(node.summary.sampled_ticks);
      fuel.push({
        name: scenario.name,
        samples: wasm.summary.sampled_ticks,
        perSample: wasm.summary.fuel_per_sample,
        perIdleTick: wasm.summary.fuel_per_idle_tick,
        uplinks: wasm.summary.uplinks,
        perUplink: wasm.summary.fuel_per_uplink,
      });
    });

    it.skipIf(!haveWasmtime && !inCI)(
      "keeps ticks cheap: the state check costs no more than the work",
      () => {
        // A bitwise CRC-32 of the whole state region once cost ~180 000 fuel on every call. Now a tick that
        // samples stays well under 20 000, one that does not under 10 000 even with both buffers full.
        const { summary } = onWasmtime(scenario);
        expect(summary.fuel_max_sample).toBeLessThan(20_000);
        expect(summary.fuel_max_idle_tick).toBeLessThan(10_000);
      },
    );
  });

  it("answers every configuration downlink with the result code PAYLOAD.md defines", async () => {
    const { trace } = await onNode(configResults());
    const results = trace.entries.filter((e) => e.kind === "result").slice(2);
    expect(results.map((e) => e.value)).toEqual(CONFIG_DOWNLINKS.map((d) => d.expect));
  });
});
