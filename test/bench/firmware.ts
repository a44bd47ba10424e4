/**
 * Firmware figures: module size and the work the module does per sample and per uplink, measured as
 * wasmtime fuel (about one unit per executed WebAssembly instruction) on a day of the climate workload and
 * a day of bicycle counting.
 */
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { bikeDay, climateDay } from "../conformance/generate.ts";
import { runOnWasmtime, WASM_PATH, WASMTIME_MISSING, wasmtimeAvailable } from "../conformance/hosts.ts";
import { type Bench, type BenchSection, formatTable } from "./section.ts";

export const benchFirmware: Bench = async (ctx) => {
  const section: BenchSection = { metrics: {}, report: [], notes: [] };
  const wasmBytes = statSync(WASM_PATH).size;
  section.metrics["firmware.wasm_bytes"] = wasmBytes;
  const rows: Array<[string, string | number]> = [["module size (bytes)", wasmBytes]];

  if (!wasmtimeAvailable()) {
    if (ctx.ci) throw new Error(WASMTIME_MISSING);
    section.notes.push("fuel figures omitted: python3 cannot import wasmtime (pip install wasmtime)");
  } else {
    ctx.log("firmware: climate day and bike day on wasmtime");
    const climate = runOnWasmtime(climateDay());
    const bike = runOnWasmtime(bikeDay());
    const version = spawnSync(
      "python3",
      ["-c", "import importlib.metadata as m; print(m.version('wasmtime'))"],
      {
        encoding: "utf8",
      },
    ).stdout.trim();
    Object.assign(section.metrics, {
      "firmware.fuel_per_sample": climate.summary.fuel_per_sample,
      "firmware.fuel_per_uplink": climate.summary.fuel_per_uplink,
      "firmware.fuel_max_sample": climate.summary.fuel_max_sample,
      "firmware.fuel_max_uplink": climate.summary.fuel_max_uplink,
      "firmware.fuel_per_idle_tick": climate.summary.fuel_per_idle_tick,
      "firmware.fuel_max_idle_tick": climate.summary.fuel_max_idle_tick,
      "firmware.fuel_per_uplink_bike": bike.summary.fuel_per_uplink,
      "firmware.wasmtime_version": version,
    });
    rows.push(
      ["fuel per sampling tick (mean, climate day)", climate.summary.fuel_per_sample],
      ["fuel per sampling tick (max)", climate.summary.fuel_max_sample],
      ["fuel per tick without a sample (mean, climate day)", climate.summary.fuel_per_idle_tick],
      ["fuel per tick without a sample (max)", climate.summary.fuel_max_idle_tick],
      ["fuel per uplink_build (mean, climate day)", climate.summary.fuel_per_uplink],
      ["fuel per uplink_build (max)", climate.summary.fuel_max_uplink],
      ["fuel per uplink_build (mean, bike day)", bike.summary.fuel_per_uplink],
    );
  }
  section.report = formatTable(["firmware", "value"], rows);
  return section;
};
