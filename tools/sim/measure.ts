/**
 * Throughput of the simulator with the real firmware and no gateway (`sim.node_days_per_s` in the bench):
 * simulated node-days per wall-clock second, for a mixed fleet running as fast as possible. Module
 * compilation and node start-up are not timed; the radio channel and the LoRaWAN framing are.
 */
import { Fleet } from "./fleet.ts";
import type { KindMix } from "./fleet-spec.ts";

export interface MeasureOptions {
  /** Default 20. */
  nodes?: number;
  /** Simulated days. Default 1. */
  days?: number;
  /** Default "mixed". */
  kind?: KindMix;
  /** Default 1. */
  seed?: number;
  module?: WebAssembly.Module;
}

export interface Measurement {
  nodeDaysPerSecond: number;
  nodes: number;
  days: number;
  wallMs: number;
  /** Uplinks on air during the run. */
  uplinks: number;
  /** Scheduler events (ticks, pulse wakes, retries). */
  events: number;
}

export async function measureNodeDaysPerSecond(options: MeasureOptions = {}): Promise<Measurement> {
  const nodes = options.nodes ?? 20;
  const days = options.days ?? 1;
  const fleet = await Fleet.start({
    nodes,
    kind: options.kind ?? "mixed",
    seed: options.seed ?? 1,
    ...(options.module !== undefined && { module: options.module }),
  });
  try {
    const before = fleet.stats();
    const t0 = performance.now();
    await fleet.runDays(days);
    const wallMs = performance.now() - t0;
    const after = fleet.stats();
    return {
      nodeDaysPerSecond: (nodes * days) / (wallMs / 1000),
      nodes,
      days,
      wallMs,
      uplinks: after.frames - before.frames,
      events: after.events - before.events,
    };
  } finally {
    await fleet.close();
  }
}
