/**
 * Runs a scenario JSON on the Node reference host and writes the trace:
 *   tsx firmware/host/run-scenario.ts [--wasm firmware/build/node.wasm] scenario.json [--trace out.json]
 * The wasmtime counterpart is firmware/host/wasmtime_host.py, with the same arguments.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseScenario, runScenario, serializeResult } from "./scenario.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { wasm: { type: "string" }, trace: { type: "string" } },
});
const file = positionals[0];
if (file === undefined || positionals.length > 1) {
  process.stderr.write("usage: run-scenario.ts [--wasm node.wasm] scenario.json [--trace out.json]\n");
  process.exit(2);
}
const scenario = parseScenario(JSON.parse(readFileSync(file, "utf8")));
const result = await runScenario(scenario, values.wasm === undefined ? {} : { wasmPath: values.wasm });
if (values.trace !== undefined) writeFileSync(values.trace, serializeResult(result));
process.stdout.write(`${JSON.stringify(result.summary)}\n`);
