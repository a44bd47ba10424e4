/**
 * Bicycle traffic over a two-channel counter (hw/bike-counter.md), with ground truth: which riders passed,
 * and the sensor pulses they (and the site's noise) produced. Deterministic for a given seed.
 *
 * Geometry: channel A and channel B lie across the path `spacingMm` apart. A rider going "ab" crosses A
 * first; each wheel makes one pulse per channel, so a two-wheeled bicycle makes four pulses, at
 * 0, spacing/v, wheelbase/v and (spacing + wheelbase)/v after its front wheel reaches the first channel.
 */
import { Random } from "./random.ts";

export type Direction = "ab" | "ba";

/** One sensor pulse: channel 0 = A, 1 = B; time in ms (integer, on the same clock as `startMs`). */
export interface Pulse {
  channel: 0 | 1;
  tMs: number;
}

/** One rider, as ground truth. */
export interface Rider {
  /** When the front wheel reached the first channel (A for "ab", B for "ba"), ms. */
  tMs: number;
  /** When the front wheel reached the second channel: the pulse on which a detector can report the pass. */
  secondChannelMs: number;
  direction: Direction;
  speedKmh: number;
  wheelbaseMm: number;
  /** 0 for a rider on their own or leading a group, 1.. for the followers. */
  groupPosition: number;
}

export interface BikeTraffic {
  /** Sorted by time; pulses at the same ms keep generation order. */
  pulses: Pulse[];
  /** Sorted by `tMs`. */
  riders: Rider[];
}

/** Arrivals per hour in one direction at absolute time `tMs` (a group is one arrival). */
export type RateProfile = (tMs: number, direction: Direction) => number;

export interface Range {
  min: number;
  max: number;
}

export interface BikeTrafficOptions {
  seed: number;
  /** Start of the generated interval, ms. Unix ms if the rate profile follows the time of day. */
  startMs: number;
  durationMs: number;
  /** Distance between channel A and B. Default 1000 mm. */
  spacingMm?: number;
  /** Arrival rate of riders (groups count as one arrival each). Default `commuterProfile()`. */
  rate?: RateProfile;
  /** Normal speed distribution, redrawn outside [min, max]. Default mean 19, sd 4, 8..35 km/h. */
  speedKmh?: { mean: number; sd: number; min: number; max: number };
  /** Uniform wheelbase. Default 950..1250 mm. */
  wheelbaseMm?: Range;
  /** Probability that an arrival is a group of 2..`maxGroup` riders in line. Default 0.15. */
  groupProbability?: number;
  /** Largest group. Default 4. */
  maxGroup?: number;
  /**
   * Gap from a rider's rear wheel to the next rider's front wheel in a group. Default 1000..3000 mm; values
   * around minus the wheelbase put riders side by side.
   */
  groupGapMm?: Range;
  /** Random single spikes per channel per hour (Poisson). Default 0. */
  noisePerHour?: number;
  /** Probability that any one wheel pulse is lost (tube not pressed hard enough, piezo missed). Default 0. */
  missProbability?: number;
  /** Standard deviation of the timing jitter of each pulse, ms. Default 0. */
  jitterMs?: number;
  /**
   * Drops arrivals less than this after the previous rider's front wheel (either direction), so that riders
   * never overlap over the sensors: for tests of a detector one rider at a time. Default 0 (pure Poisson).
   */
  minHeadwayMs?: number;
}

const HOUR_MS = 3_600_000;
const STEP_MS = 60_000;

function bump(h: number, centre: number, width: number): number {
  const z = (h - centre) / width;
  return Math.exp(-0.5 * z * z);
}

/**
 * A commuter path: on weekdays a morning peak (07:45) mostly "ab" (into town) and an evening peak (17:15)
 * mostly "ba", on weekends a broad afternoon bump; a little traffic at night. `peakPerHour` is the arrival
 * rate of the main direction at its peak; a weekday has about 4.5 × `peakPerHour` arrivals per direction,
 * a weekend day 3.8 × (times 1.3 riders per arrival with the default groups). `tzOffsetS` shifts UTC to
 * local time.
 */
export function commuterProfile(peakPerHour = 240, tzOffsetS = 0): RateProfile {
  return (tMs, direction) => {
    const localS = tMs / 1000 + tzOffsetS;
    const h = (((localS % 86400) + 86400) % 86400) / 3600;
    const weekday = (((Math.floor(localS / 86400) + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
    const floor = 0.01 + 0.15 * bump(h, 13, 3.5);
    if (weekday === 0 || weekday === 6) return peakPerHour * (floor + 0.3 * bump(h, 14, 3));
    const morning = bump(h, 7.75, 0.8);
    const evening = bump(h, 17.25, 1);
    const peaks = direction === "ab" ? morning + 0.35 * evening : 0.35 * morning + evening;
    return peakPerHour * (floor + peaks);
  };
}

/** A constant rate in both directions. */
export function constantRate(perHour: number): RateProfile {
  return () => perHour;
}

/**
 * Generates the arrivals in `[startMs, startMs + durationMs)` with their riders and pulses. A group that
 * arrives before the end is generated whole, so its last riders and pulses may lie a few seconds after it.
 */
export function generateBikeTraffic(options: BikeTrafficOptions): BikeTraffic {
  const rng = new Random(options.seed);
  const spacing = options.spacingMm ?? 1000;
  const rate = options.rate ?? commuterProfile();
  const speed = options.speedKmh ?? { mean: 19, sd: 4, min: 8, max: 35 };
  const wheelbase = options.wheelbaseMm ?? { min: 950, max: 1250 };
  const groupP = options.groupProbability ?? 0.15;
  const maxGroup = options.maxGroup ?? 4;
  const gap = options.groupGapMm ?? { min: 1000, max: 3000 };
  const miss = options.missProbability ?? 0;
  const jitter = options.jitterMs ?? 0;
  const headway = options.minHeadwayMs ?? 0;
  const end = options.startMs + options.durationMs;

  const drawSpeed = (): number => {
    for (let i = 0; i < 8; i++) {
      const v = rng.normal(speed.mean, speed.sd);
      if (v >= speed.min && v <= speed.max) return v;
    }
    return speed.mean;
  };

  // Poisson arrivals (a group is one arrival) with a rate that is constant within each minute: exact for
  // that piecewise-constant rate.
  const arrivals: { tMs: number; direction: Direction }[] = [];
  for (const direction of ["ab", "ba"] as const) {
    for (let stepStart = options.startMs; stepStart < end; stepStart += STEP_MS) {
      const stepEnd = Math.min(stepStart + STEP_MS, end);
      const meanGap = HOUR_MS / rate(stepStart, direction);
      if (!(meanGap > 0 && meanGap < Number.POSITIVE_INFINITY)) continue;
      for (let t = stepStart + rng.exponential(meanGap); t < stepEnd; t += rng.exponential(meanGap)) {
        arrivals.push({ tMs: t, direction });
      }
    }
  }
  arrivals.sort((x, y) => x.tMs - y.tMs);

  const riders: Rider[] = [];
  let lastFront = Number.NEGATIVE_INFINITY;
  for (const { tMs, direction } of arrivals) {
    if (tMs - lastFront < headway) continue;
    const size = rng.chance(groupP) ? rng.int(2, Math.max(2, maxGroup)) : 1;
    let front = tMs;
    let v = drawSpeed();
    for (let k = 0; k < size; k++) {
      const wb = rng.uniform(wheelbase.min, wheelbase.max);
      const t = Math.round(front);
      const secondChannelMs = Math.round(t + (spacing * 3.6) / v);
      riders.push({ tMs: t, secondChannelMs, direction, speedKmh: v, wheelbaseMm: wb, groupPosition: k });
      lastFront = front;
      // The next rider's front wheel is wheelbase + gap behind this one's, at about the same speed.
      v *= rng.uniform(0.97, 1.03);
      front += ((wb + rng.uniform(gap.min, gap.max)) * 3.6) / v;
    }
  }
  riders.sort((x, y) => x.tMs - y.tMs);

  const pulses: Pulse[] = [];
  const emit = (channel: 0 | 1, tMs: number): void => {
    if (miss > 0 && rng.chance(miss)) return;
    const t = jitter > 0 ? tMs + rng.normal(0, jitter) : tMs;
    pulses.push({ channel, tMs: Math.round(t) });
  };
  for (const r of riders) {
    const first: 0 | 1 = r.direction === "ab" ? 0 : 1;
    const second: 0 | 1 = first === 0 ? 1 : 0;
    const msPerMm = 3.6 / r.speedKmh;
    emit(first, r.tMs);
    emit(second, r.secondChannelMs);
    emit(first, r.tMs + r.wheelbaseMm * msPerMm);
    emit(second, r.tMs + (spacing + r.wheelbaseMm) * msPerMm);
  }
  const noiseMean = options.noisePerHour ? HOUR_MS / options.noisePerHour : 0;
  if (noiseMean > 0) {
    for (const channel of [0, 1] as const) {
      for (let t = options.startMs + rng.exponential(noiseMean); t < end; t += rng.exponential(noiseMean)) {
        pulses.push({ channel, tMs: Math.round(t) });
      }
    }
  }
  pulses.sort((x, y) => x.tMs - y.tMs);
  return { pulses, riders };
}

/** Counts per direction in consecutive bins of `binS` seconds. */
export interface Bins {
  /** Start of bin 0, ms: `fromMs` rounded down to a multiple of the bin length. */
  startMs: number;
  binS: number;
  ab: number[];
  ba: number[];
}

/**
 * Bins events (riders, or passes reported by a detector) per direction into bins of `binS` seconds aligned
 * to multiples of `binS` (UTC-aligned when times are Unix ms), covering `[fromMs, toMs)`. Events outside
 * are ignored.
 */
export function binByDirection(
  events: readonly { tMs: number; direction: Direction }[],
  binS: number,
  fromMs: number,
  toMs: number,
): Bins {
  const binMs = binS * 1000;
  const startMs = Math.floor(fromMs / binMs) * binMs;
  const n = Math.max(0, Math.ceil((toMs - startMs) / binMs));
  const bins: Bins = { startMs, binS, ab: new Array<number>(n).fill(0), ba: new Array<number>(n).fill(0) };
  for (const e of events) {
    if (e.tMs < fromMs || e.tMs >= toMs) continue;
    const i = Math.floor((e.tMs - startMs) / binMs);
    const side = e.direction === "ab" ? bins.ab : bins.ba;
    side[i] = (side[i] ?? 0) + 1;
  }
  return bins;
}
