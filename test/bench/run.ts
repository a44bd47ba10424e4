/**
 * Benchmarks: `npm run bench -- [--json out.json] [--only firmware,airtime]`. Prints readable tables and
 * writes one JSON object with flat keys (section.metric), plus machine.* keys describing where it ran.
 * Targets are reported as PASS/OVER; the exit code is non-zero only if a benchmark could not run.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { benchAirtime } from "./airtime.ts";
import { benchFirmware } from "./firmware.ts";
import { benchGateway } from "./gateway.ts";
import { machineInfo } from "./machine.ts";
import type { Bench, BenchContext, Metric } from "./section.ts";
import { benchSim } from "./sim.ts";

/** In run order. */
const SECTIONS: Record<string, Bench> = {
  firmware: benchFirmware,
  airtime: benchAirtime,
  gateway: benchGateway,
  sim: benchSim,
};

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { json: { type: "string" }, only: { type: "string" } } });
  const only = values.only?.split(",").map((s) => s.trim()) ?? Object.keys(SECTIONS);
  const unknown = only.filter((s) => !(s in SECTIONS));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown section(s): ${unknown.join(", ")}; known: ${Object.keys(SECTIONS).join(", ")}\n`,
    );
    return 2;
  }
  const ctx: BenchContext = { ci: process.env.CI === "true", log: (m) => process.stderr.write(`  ${m}\n`) };
  const metrics: Record<string, Metric> = machineInfo();
  console.log(
    `OpenHerz benchmarks on ${metrics["machine.cpu_model"]}, Node ${metrics["machine.node_version"]}`,
  );
  for (const name of only) {
    const bench = SECTIONS[name];
    if (bench === undefined) continue;
    const started = performance.now();
    let section: Awaited<ReturnType<Bench>>;
    try {
      section = await bench(ctx);
    } catch (err) {
      process.stderr.write(`bench ${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
    Object.assign(metrics, section.metrics);
    console.log(`\n== ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    for (const line of section.report) console.log(line);
    for (const note of section.notes) console.log(`note: ${note}`);
  }
  if (values.json !== undefined) {
    writeFileSync(values.json, `${JSON.stringify(metrics, null, 2)}\n`);
    console.log(`\nwrote ${values.json}`);
  }
  return 0;
}

process.exitCode = await main();
