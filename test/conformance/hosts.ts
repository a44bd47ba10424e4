/**
 * Running scenarios on the two hosts: the Node reference host in-process, the wasmtime host as a Python
 * process. Shared by the conformance test and the benchmark.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Scenario, ScenarioSummary, ScenarioTrace } from "../../firmware/host/scenario.ts";

export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const WASM_PATH = join(REPO, "firmware/build/node.wasm");
export const WASMTIME_HOST = join(REPO, "firmware/host/wasmtime_host.py");
export const WASMTIME_MISSING = "wasmtime is required in CI: pip install wasmtime";

let probed: boolean | undefined;

/** Whether `python3 -c "import wasmtime"` works on this machine. */
export function wasmtimeAvailable(): boolean {
  probed ??= spawnSync("python3", ["-c", "import wasmtime"], { stdio: "ignore" }).status === 0;
  return probed;
}

export interface WasmtimeRun {
  /** The trace exactly as the wasmtime host wrote it. */
  traceText: string;
  trace: ScenarioTrace;
  summary: ScenarioSummary & {
    fuel_per_sample: number;
    fuel_max_sample: number;
    fuel_per_idle_tick: number;
    fuel_max_idle_tick: number;
    fuel_per_uplink: number;
    fuel_max_uplink: number;
    fuel_max_empty_build: number;
  };
}

/** Runs a scenario on the wasmtime host; throws with the host's stderr on failure. */
export function runOnWasmtime(scenario: Scenario, wasmPath = WASM_PATH): WasmtimeRun {
  if (!wasmtimeAvailable()) throw new Error(WASMTIME_MISSING);
  const dir = mkdtempSync(join(tmpdir(), "openherz-wasmtime-"));
  const input = join(dir, `${scenario.name}.json`);
  const output = join(dir, `${scenario.name}.trace.json`);
  writeFileSync(input, JSON.stringify(scenario));
  const run = spawnSync("python3", [WASMTIME_HOST, "--wasm", wasmPath, input, "--trace", output], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  if (run.status !== 0) {
    throw new Error(
      `wasmtime host failed on ${scenario.name} (exit ${run.status}): ${run.stderr || run.error}`,
    );
  }
  const text = readFileSync(output, "utf8");
  const doc = JSON.parse(text) as { trace: ScenarioTrace; summary: WasmtimeRun["summary"] };
  // The file is {"host":…,"trace":<canonical trace>,"summary":…}: cut the trace text out verbatim.
  const start = text.indexOf(',"trace":') + ',"trace":'.length;
  const end = text.lastIndexOf(',"summary":');
  return { traceText: text.slice(start, end), trace: doc.trace, summary: doc.summary };
}
