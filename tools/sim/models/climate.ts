import { Random } from "./random.ts";

/**
 * Climate sensor model for simulated nodes: air temperature, relative humidity and battery voltage as a pure
 * function of time and seed. Every random component is drawn from a `Random` seeded by a hash of (seed,
 * component, time bucket), never from a running sequence, so a model sampled every 30 s and one sampled every
 * 5 min agree wherever their instants coincide, and any instant can be evaluated on its own.
 *
 * Physics, kept deliberately simple:
 * - temperature: a daily sinusoid (minimum before dawn, maximum mid-afternoon) plus weather, a smooth random
 *   signal made of cosine-interpolated knots (6 h and 1 h scales), plus an optional heat day;
 * - humidity: from the temperature and a slowly varying dew point (Magnus formula), so it falls when the
 *   afternoon warms up, as in real heat-island data;
 * - sensor: additive white noise of an SHT4x in high-repeatability mode (σ ≈ 0.013 °C, 0.033 %RH: the
 *   datasheet's repeatability of 0.04 °C and 0.1 %RH is stated as 3σ), quantised to 0.01;
 * - battery: a Li-ion cell on a small solar panel, charged by day, discharged by night, 3.6–4.1 V.
 */

export interface HeatDay {
  /** Any instant (Unix s) on the UTC day that is hot. */
  dayS: number;
  /** Extra warming at the afternoon peak in °C. Default 8. */
  extraC?: number;
}

export interface ClimateModelOptions {
  seed: number;
  /** Daily mean air temperature in °C. Default 15. */
  baseC?: number;
  /** Half the daily swing (peak − mean) in °C. Default 5. */
  amplitudeC?: number;
  /** Hour of the daily maximum, UTC. Default 14 (15:00 CET). */
  peakHourUtc?: number;
  /** Standard deviation of the weather component in °C. Default 1.5. */
  weatherC?: number;
  /** Mean dew point in °C. Default 8. */
  dewPointC?: number;
  heatDay?: HeatDay;
  /** Sensor noise, standard deviations. Defaults 0.013 °C, 0.033 %RH (SHT4x, 3σ/3), 4 mV. */
  noise?: { temperatureC?: number; humidityPercent?: number; batteryMv?: number };
}

export interface ClimateReading {
  /** Air temperature in 0.01 °C (integer). */
  temperatureCenti: number;
  /** Relative humidity in 0.01 %RH (integer, 0..10000). */
  humidityCenti: number;
  /** Battery voltage in mV (integer). */
  batteryMv: number;
}

export interface ClimateModel {
  at(unixS: number): ClimateReading;
}

const DAY_S = 86_400;

// Noise streams: one per random component, so that changing one does not shift another.
const STREAM_WEATHER_SLOW = 1;
const STREAM_WEATHER_FAST = 2;
const STREAM_DEW_POINT = 3;
const STREAM_CLOUDS = 4;
const STREAM_SENSOR_T = 5;
const STREAM_SENSOR_H = 6;
const STREAM_SENSOR_B = 7;

/** 32-bit avalanche mix (lowbias32, Chris Wellons) used to combine seed, stream and bucket. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

function bucketSeed(seed: number, stream: number, bucket: number): number {
  const lo = bucket >>> 0;
  const hi = Math.floor(bucket / 4294967296) >>> 0;
  return mix32(mix32(mix32(seed ^ Math.imul(stream, 0x9e3779b9)) ^ lo) ^ hi);
}

/** A standard normal variate that depends only on (seed, stream, bucket). */
function gaussianAt(seed: number, stream: number, bucket: number): number {
  return new Random(bucketSeed(seed, stream, bucket)).normal();
}

/** Smooth random signal with unit variance at the knots: cosine interpolation between knots `periodS` apart. */
function smoothNoise(seed: number, stream: number, t: number, periodS: number): number {
  const x = t / periodS;
  const k = Math.floor(x);
  const f = x - k;
  const w = (1 - Math.cos(Math.PI * f)) / 2;
  return gaussianAt(seed, stream, k) * (1 - w) + gaussianAt(seed, stream, k + 1) * w;
}

/** Relative humidity in % from air temperature and dew point (Magnus formula, Sonntag 1990 constants). */
export function relativeHumidity(tC: number, dewPointC: number): number {
  const a = 17.62;
  const b = 243.12;
  return 100 * Math.exp((a * dewPointC) / (b + dewPointC) - (a * tC) / (b + tC));
}

export function createClimateModel(options: ClimateModelOptions): ClimateModel {
  const seed = options.seed >>> 0;
  const baseC = options.baseC ?? 15;
  const amplitudeC = options.amplitudeC ?? 5;
  const peakHour = options.peakHourUtc ?? 14;
  const weatherC = options.weatherC ?? 1.5;
  const dewPointC = options.dewPointC ?? 8;
  const sigmaT = options.noise?.temperatureC ?? 0.013;
  const sigmaH = options.noise?.humidityPercent ?? 0.033;
  const sigmaB = options.noise?.batteryMv ?? 4;
  const heatDayIndex = options.heatDay === undefined ? undefined : Math.floor(options.heatDay.dayS / DAY_S);
  const heatExtraC = options.heatDay?.extraC ?? 8;

  /** Hours since the daily maximum, as a phase in radians. */
  const diurnalPhase = (t: number) => (2 * Math.PI * (t / 3600 - peakHour)) / 24;

  /** Warming of the heat day: a raised cosine over that UTC day that peaks with the afternoon maximum. */
  function heatBump(t: number): number {
    if (heatDayIndex === undefined) return 0;
    const dayStart = heatDayIndex * DAY_S;
    if (t < dayStart || t >= dayStart + DAY_S) return 0;
    const peakS = dayStart + peakHour * 3600;
    const rise = peakS - dayStart;
    const fall = dayStart + DAY_S - peakS;
    const u = t <= peakS ? (t - dayStart) / rise : (dayStart + DAY_S - t) / fall;
    return heatExtraC * (1 - Math.cos(Math.PI * u)) * 0.5;
  }

  function trueTemperature(t: number): number {
    const weather =
      weatherC *
      (0.9 * smoothNoise(seed, STREAM_WEATHER_SLOW, t, 6 * 3600) +
        0.3 * smoothNoise(seed, STREAM_WEATHER_FAST, t, 3600));
    return baseC + amplitudeC * Math.cos(diurnalPhase(t)) + weather + heatBump(t);
  }

  function trueDewPoint(t: number): number {
    return dewPointC + 1.5 * smoothNoise(seed, STREAM_DEW_POINT, t, 8 * 3600);
  }

  /**
   * Cell voltage: the state of charge follows the day (lowest at dawn after the night's drain, highest in the
   * afternoon), and the panel lifts the terminal voltage while the sun shines through the clouds.
   */
  function batteryVolts(t: number): number {
    const sun = Math.max(0, Math.cos(diurnalPhase(t) + (2 * Math.PI * 1.5) / 24));
    const clouds = 0.5 + 0.5 * Math.tanh(smoothNoise(seed, STREAM_CLOUDS, t, 4 * 3600));
    return 3.88 + 0.15 * Math.cos(diurnalPhase(t)) + 0.07 * sun * clouds;
  }

  return {
    at(unixS: number): ClimateReading {
      const second = Math.floor(unixS);
      const t = trueTemperature(unixS) + sigmaT * gaussianAt(seed, STREAM_SENSOR_T, second);
      const rh =
        relativeHumidity(trueTemperature(unixS), trueDewPoint(unixS)) +
        sigmaH * gaussianAt(seed, STREAM_SENSOR_H, second);
      const mv = 1000 * batteryVolts(unixS) + sigmaB * gaussianAt(seed, STREAM_SENSOR_B, second);
      return {
        temperatureCenti: Math.round(t * 100),
        humidityCenti: Math.min(10_000, Math.max(0, Math.round(rh * 100))),
        batteryMv: Math.min(4100, Math.max(3600, Math.round(mv))),
      };
    },
  };
}
