/**
 * Simulator throughput: simulated node-days per wall-clock second, every node running the real firmware
 * module through the Node host (no gateway, no network). Median of a few runs, after a warm-up run that
 * compiles the module and warms the JIT.
 */
import { measureNodeDaysPerSecond } from "../../tools/sim/index.ts";
import { type Bench, formatTable, round } from "./section.ts";

const RUNS = 3;
const NODES = 20;
const DAYS = 2;

export const benchSim: Bench = async (ctx) => {
  ctx.log(`sim: warm-up, then ${RUNS} runs of ${NODES} mixed nodes x ${DAYS} days`);
  await measureNodeDaysPerSecond({ nodes: 5, days: 1, seed: 99 });
  const runs = [];
  for (let i = 0; i < RUNS; i++)
    runs.push(await measureNodeDaysPerSecond({ nodes: NODES, days: DAYS, seed: i + 1 }));
  const rates = runs.map((r) => r.nodeDaysPerSecond).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  const uplinks = runs[0]?.uplinks ?? 0;
  return {
    metrics: {
      "sim.node_days_per_s": round(median, 1),
      "sim.node_days_per_s_min": round(rates[0] ?? 0, 1),
      "sim.node_days_per_s_max": round(rates[rates.length - 1] ?? 0, 1),
      "sim.uplinks_per_run": uplinks,
    },
    report: formatTable(
      ["simulator (real firmware, no gateway)", "median", "min", "max"],
      [["node-days per second", round(median, 1), round(rates[0] ?? 0, 1), round(rates.at(-1) ?? 0, 1)]],
    ),
    notes: [],
  };
};
