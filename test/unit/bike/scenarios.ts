/**
 * Accuracy of the bicycle detector on generated traffic with ground truth: a day of pulses per scenario,
 * counts compared per direction and per 15-minute bin.
 */
import {
  type BikeTrafficOptions,
  binByDirection,
  commuterProfile,
  constantRate,
  generateBikeTraffic,
} from "../../../tools/sim/models/bike-traffic.ts";
import {
  DEFAULT_CONFIG,
  type Detector,
  type DetectorConfig,
  loadDetector,
  type Pass,
  runDetector,
} from "./detector-wasm.ts";

/** Monday 2025-03-03 00:00 UTC. */
export const MONDAY_MS = Date.UTC(2025, 2, 3);
const DAY_MS = 86_400_000;
const BIN_S = 900;

export interface Scenario {
  name: string;
  traffic: Omit<BikeTrafficOptions, "seed" | "startMs" | "durationMs"> & { durationMs?: number };
  detector?: Partial<DetectorConfig>;
  /** Lowest bin accuracy accepted over the seeds (from measurements, with a little margin). */
  minAccuracy: number;
}

export interface Result {
  riders: number;
  truthAb: number;
  truthBa: number;
  passAb: number;
  passBa: number;
  /** 1 − Σ |detected − true| over 15-minute bins and both directions / riders. Wrong direction costs 2. */
  accuracy: number;
  /** Passes / riders. */
  ratio: number;
  noise: number;
}

/** Something that turns pulses into passes: the wasm detector, or a strawman in the tests. */
export type PassCounter = (
  config: DetectorConfig,
  pulses: { channel: 0 | 1; tMs: number }[],
) => Promise<{ passes: Pass[]; noise: number }>;

export const wasmCounter: PassCounter = async (config, pulses) => {
  const det: Detector = await loadDetector(config);
  return runDetector(det, pulses);
};

export async function runScenario(s: Scenario, seed: number, counter: PassCounter = wasmCounter) {
  const durationMs = s.traffic.durationMs ?? DAY_MS;
  const config = {
    ...DEFAULT_CONFIG,
    spacingMm: s.traffic.spacingMm ?? DEFAULT_CONFIG.spacingMm,
    ...s.detector,
  };
  const traffic = generateBikeTraffic({ ...s.traffic, seed, startMs: MONDAY_MS, durationMs });
  const { passes, noise } = await counter(config, traffic.pulses);
  // Truth is binned by when the front wheel reached the second channel: where a pass is reported.
  const end = MONDAY_MS + durationMs + 60_000;
  const truthEvents = traffic.riders.map((r) => ({ tMs: r.secondChannelMs, direction: r.direction }));
  const truth = binByDirection(truthEvents, BIN_S, MONDAY_MS, end);
  const seen = binByDirection(passes, BIN_S, MONDAY_MS, end);
  let diff = 0;
  for (let i = 0; i < truth.ab.length; i++) {
    diff += Math.abs(truth.ab[i]! - seen.ab[i]!) + Math.abs(truth.ba[i]! - seen.ba[i]!);
  }
  const riders = traffic.riders.length;
  const passAb = passes.filter((p) => p.direction === "ab").length;
  const result: Result = {
    riders,
    truthAb: traffic.riders.filter((r) => r.direction === "ab").length,
    truthBa: traffic.riders.filter((r) => r.direction === "ba").length,
    passAb,
    passBa: passes.length - passAb,
    accuracy: riders > 0 ? 1 - diff / riders : passes.length === 0 ? 1 : 0,
    ratio: riders > 0 ? passes.length / riders : Number.NaN,
    noise,
  };
  return { result, truth, seen };
}

const commuter = commuterProfile(240);
/** Riders never overlap over the sensors. */
const oneAtATime = { rate: constantRate(40), groupProbability: 0, minHeadwayMs: 3000 };

export const SCENARIOS: Scenario[] = [
  { name: "one rider at a time", traffic: oneAtATime, minAccuracy: 1 },
  { name: "one at a time, spacing 1.5 m", traffic: { ...oneAtATime, spacingMm: 1500 }, minAccuracy: 1 },
  { name: "one at a time, spacing 0.5 m", traffic: { ...oneAtATime, spacingMm: 500 }, minAccuracy: 1 },
  { name: "one at a time, jitter 3 ms", traffic: { ...oneAtATime, jitterMs: 3 }, minAccuracy: 1 },
  {
    name: "one at a time, 5 % missed",
    traffic: { ...oneAtATime, missProbability: 0.05 },
    minAccuracy: 0.985,
  },
  { name: "commuter day, both directions", traffic: { rate: commuter }, minAccuracy: 0.985 },
  { name: "commuter, jitter 3 ms", traffic: { rate: commuter, jitterMs: 3 }, minAccuracy: 0.985 },
  {
    name: "commuter, 5 % missed pulses",
    traffic: { rate: commuter, missProbability: 0.05 },
    minAccuracy: 0.97,
  },
  {
    name: "commuter, 10 % missed pulses",
    traffic: { rate: commuter, missProbability: 0.1 },
    minAccuracy: 0.93,
  },
  {
    name: "commuter, noise 30/h per channel",
    traffic: { rate: commuter, noisePerHour: 30 },
    minAccuracy: 0.975,
  },
  {
    name: "commuter, realistic (jitter 2, 2 % missed, noise 6/h)",
    traffic: { rate: commuter, jitterMs: 2, missProbability: 0.02, noisePerHour: 6 },
    minAccuracy: 0.975,
  },
  {
    name: "groups of 2-4, 1-3 m apart",
    traffic: { rate: constantRate(60), groupProbability: 1 },
    minAccuracy: 0.975,
  },
  { name: "heavy, 400/h each way", traffic: { rate: constantRate(400) }, minAccuracy: 0.975 },
  { name: "commuter, spacing 0.3 m", traffic: { rate: commuter, spacingMm: 300 }, minAccuracy: 0.98 },
  { name: "commuter, spacing 1.5 m", traffic: { rate: commuter, spacingMm: 1500 }, minAccuracy: 0.975 },
  { name: "commuter, spacing 3 m", traffic: { rate: commuter, spacingMm: 3000 }, minAccuracy: 0.96 },
  {
    name: "commuter, spacing 1.5 m, 5 % missed",
    traffic: { rate: commuter, spacingMm: 1500, missProbability: 0.05 },
    minAccuracy: 0.945,
  },
];

/** Known limits, measured for the documentation; their bounds assert the documented behaviour. */
export interface Limit {
  name: string;
  traffic: Scenario["traffic"];
  detector?: Partial<DetectorConfig>;
  /** Accepted range of passes / riders. */
  ratio: [number, number];
}

export const LIMITS: Limit[] = [
  {
    name: "cargo bikes, wheelbase 1.8-2.4 m",
    traffic: { ...oneAtATime, wheelbaseMm: { min: 1800, max: 2400 } },
    ratio: [1.9, 2],
  },
  {
    name: "side by side (front wheels < 0.3 m apart)",
    traffic: { ...oneAtATime, groupProbability: 1, maxGroup: 2, groupGapMm: { min: -1300, max: -1000 } },
    ratio: [0.5, 1],
  },
  {
    name: "pushed bikes, 3-4.5 km/h",
    traffic: { ...oneAtATime, speedKmh: { mean: 4, sd: 0.5, min: 3, max: 4.5 } },
    ratio: [0, 0.1],
  },
  {
    name: "fast, 40-60 km/h (speed_max 50)",
    traffic: { ...oneAtATime, speedKmh: { mean: 50, sd: 6, min: 40, max: 60 } },
    ratio: [0.95, 1.01],
  },
];
