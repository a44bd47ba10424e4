// Decoded messages and encoder inputs of payload format version 1 (shared/PAYLOAD.md).
// Decoded values are in display units (°C, %RH as exact centi/100 numbers); encoder inputs are the integers
// that travel on air (0.01 °C, 0.01 %RH, mV, s).

export interface ClimateSample {
  /** Slot index, 0 = oldest. */
  index: number;
  secondsBeforeUplink: number;
  temperatureC: number | null;
  humidityPct: number | null;
}

export interface ClimateBatch {
  kind: "climate";
  version: 1;
  /** Minutes between consecutive samples, as sent (interval_min). */
  intervalMin: number;
  /** The same interval in seconds, 60 × intervalMin. */
  intervalS: number;
  ageS: number;
  /** The batch's temperature trend in °C per slot as sent (t_slope / 100); 0 with fewer than 2 valid values. */
  tSlope: number;
  /** The batch's humidity trend in %RH per slot as sent (h_slope / 100); 0 with fewer than 2 valid values. */
  hSlope: number;
  batteryMv: number | null;
  samples: ClimateSample[];
}

export interface BikeBin {
  /** Bin index, 0 = oldest. The bin covers [start, end) seconds before the uplink, start > end. */
  index: number;
  startSecondsBeforeUplink: number;
  endSecondsBeforeUplink: number;
  ab: number;
  ba: number;
}

export interface BikeBatch {
  kind: "bike";
  version: 1;
  binS: number;
  ageS: number;
  bins: BikeBin[];
}

export type ResetCause = "power-on" | "brown-out" | "watchdog" | "software" | "external-pin" | "other";

export type ConfigResultName =
  | "applied"
  | "malformed"
  | "unknown-key"
  | "out-of-range"
  | "oversized"
  | "inconsistent"
  | "wrong-type"
  | "cfg-id-missing"
  | "duplicate-key";

/** Result codes 0..8 of a configuration (PAYLOAD.md, FPort 10). */
export type ConfigResultCode = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export interface NodeStatus {
  kind: "status";
  version: 1;
  /** "major.minor.patch" */
  fwVersion: string;
  uptimeS: number;
  resetCause: ResetCause;
  batteryMv: number | null;
  flags: number;
  /** Names of the set bits of `flags`, lowest bit first; bits without a name in version 1 appear as "bit-N". */
  flagNames: string[];
  cfgId: number;
  cfgResult: ConfigResultCode;
  cfgResultName: ConfigResultName;
  dropped: number;
  noisePulses: number;
}

export type DecodedUplink = ClimateBatch | BikeBatch | NodeStatus;

/** A node's whole configuration, integers in the units of the PAYLOAD.md key table. */
export interface NodeConfig {
  cfgId: number;
  sensors: number;
  climateIntervalMin: number;
  climateLatencyS: number;
  bikeLatencyS: number;
  tOffset: number;
  hOffset: number;
  alertTHigh: number | null;
  alertTLow: number | null;
  statusIntervalS: number;
  airtimeBudgetMs: number;
  tubeSpacingMm: number;
  speedMinKmh: number;
  speedMaxKmh: number;
  debounceMs: number;
  stuckCount: number;
  bikeBinS: number;
}

export type ConfigField = keyof NodeConfig;

/** The keys a configuration downlink sets; absent keys keep their value. */
export type ConfigPatch = Partial<NodeConfig>;

export interface ConfigDownlink {
  kind: "config";
  /** The keys present, in ascending key order. */
  values: ConfigPatch;
}

export interface ClimateInput {
  /** Minutes between consecutive samples, 1..60. The encoder computes the slopes from the samples. */
  intervalMin: number;
  ageS: number;
  batteryMv: number | null;
  /** One entry per slot, oldest first, in 0.01 °C; null = missing. */
  temperatures: (number | null)[];
  /** One entry per slot, oldest first, in 0.01 %RH; null = missing. */
  humidities: (number | null)[];
}

export interface BikeInput {
  binS: number;
  ageS: number;
  /** Oldest bin first. */
  bins: { ab: number; ba: number }[];
}

export interface StatusInput {
  /** (major << 16) | (minor << 8) | patch */
  fwVersion: number;
  uptimeS: number;
  /** 0..5, see PAYLOAD.md */
  resetCause: number;
  batteryMv: number | null;
  flags: number;
  cfgId: number;
  cfgResult: number;
  dropped: number;
  noisePulses: number;
}
