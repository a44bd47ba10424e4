/**
 * The bicycle pulses of one node, generated a day at a time (tools/sim/models/bike-traffic.ts) so that a
 * long run never holds all its pulses at once. Each day has its own seed; a group crossing midnight keeps
 * its pulses, merged in time order with the next day's.
 */

import type { BikeSpec } from "./fleet-spec.ts";
import { commuterProfile, generateBikeTraffic, type Pulse } from "./models/bike-traffic.ts";
import type { RiderTruth } from "./truth.ts";

const DAY_MS = 86_400_000;
/** The next day is generated this long before the current one ends, so late pulses merge in order. */
const LOOKAHEAD_MS = 60_000;

function chunkSeed(seed: number, chunk: number): number {
  let h = (seed ^ Math.imul(chunk + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

export class TrafficSource {
  private pulses: Pulse[] = [];
  private index = 0;
  private nextChunkMs: number;

  constructor(
    private readonly spec: BikeSpec,
    private readonly seed: number,
    private readonly startMs: number,
    private readonly endMs: number,
    /** Receives the riders of every generated day (the ground truth). */
    private readonly onRiders: (riders: RiderTruth[]) => void,
  ) {
    this.nextChunkMs = startMs;
    this.generate();
  }

  /** Time of the next pulse, Unix ms, or undefined when there is none before the end. */
  peekMs(): number | undefined {
    this.refill();
    return this.pulses[this.index]?.tMs;
  }

  shift(): Pulse | undefined {
    this.refill();
    const p = this.pulses[this.index];
    if (p !== undefined) this.index++;
    return p;
  }

  private refill(): void {
    while (this.nextChunkMs < this.endMs) {
      const next = this.pulses[this.index];
      if (next !== undefined && next.tMs < this.nextChunkMs - LOOKAHEAD_MS) return;
      this.generate();
    }
  }

  private generate(): void {
    const from = this.nextChunkMs;
    const duration = Math.min(DAY_MS, this.endMs - from);
    this.nextChunkMs = from + duration;
    if (duration <= 0) return;
    const traffic = generateBikeTraffic({
      seed: chunkSeed(this.seed, Math.floor((from - this.startMs) / DAY_MS)),
      startMs: from,
      durationMs: duration,
      spacingMm: this.spec.spacingMm,
      rate: commuterProfile(this.spec.peakPerHour),
      noisePerHour: this.spec.noisePerHour,
      missProbability: this.spec.missProbability,
      jitterMs: this.spec.jitterMs,
    });
    this.onRiders(traffic.riders.map((r) => ({ tMs: r.secondChannelMs, direction: r.direction })));
    const rest = this.pulses.slice(this.index);
    this.pulses =
      rest.length === 0 ? traffic.pulses : [...rest, ...traffic.pulses].sort((a, b) => a.tMs - b.tMs);
    this.index = 0;
  }
}
