// The configuration key table of PAYLOAD.md, FPort 10, as data.
import type { ConfigField, NodeConfig } from "./types.ts";

export interface ConfigKey {
  key: number;
  /** The name in PAYLOAD.md. */
  name: string;
  field: ConfigField;
  unit: string;
  min: number;
  max: number;
  /** The range as PAYLOAD.md writes it, for messages. */
  range: string;
  nullable: boolean;
  /** Value rules beyond min..max. */
  allowed?: (v: number) => boolean;
}

function key(
  k: number,
  name: string,
  field: ConfigField,
  unit: string,
  min: number,
  max: number,
  extra: Partial<ConfigKey> = {},
): ConfigKey {
  return { key: k, name, field, unit, min, max, range: `${min}..${max}`, nullable: false, ...extra };
}

/** Ascending by key, the order of a canonical encoding. */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  key(0, "cfg_id", "cfgId", "-", 1, 65535),
  key(1, "sensors", "sensors", "bitmask: 1 climate, 2 bicycles", 0, 3),
  key(2, "climate_interval_min", "climateIntervalMin", "min", 1, 60),
  key(3, "climate_latency_s", "climateLatencyS", "s", 60, 86400),
  key(4, "bike_latency_s", "bikeLatencyS", "s", 300, 86400),
  key(5, "t_offset", "tOffset", "0.01 °C", -1000, 1000),
  key(6, "h_offset", "hOffset", "0.01 %RH", -2000, 2000),
  key(7, "alert_t_high", "alertTHigh", "0.01 °C, null = off", -4000, 8500, { nullable: true }),
  key(8, "alert_t_low", "alertTLow", "0.01 °C, null = off", -4000, 8500, { nullable: true }),
  key(9, "status_interval_s", "statusIntervalS", "s", 3600, 604800),
  key(10, "airtime_budget_ms", "airtimeBudgetMs", "ms per day", 1000, 600000),
  key(11, "tube_spacing_mm", "tubeSpacingMm", "mm", 100, 5000),
  key(12, "speed_min_kmh", "speedMinKmh", "km/h", 1, 60),
  key(13, "speed_max_kmh", "speedMaxKmh", "km/h", 5, 100),
  key(14, "debounce_ms", "debounceMs", "ms", 1, 500),
  key(15, "stuck_count", "stuckCount", "readings, 0 = off", 0, 255, {
    range: "0, 3..255",
    allowed: (v) => v === 0 || v >= 3,
  }),
  key(16, "bike_bin_s", "bikeBinS", "s", 300, 3600, {
    range: "300..3600 dividing 86400",
    allowed: (v) => 86400 % v === 0,
  }),
];

/**
 * The configuration of a node that never received one. cfgId 0 means "none since boot" in the status;
 * every configuration downlink must carry its own cfg_id.
 */
export const DEFAULT_CONFIG: Readonly<NodeConfig> = Object.freeze({
  cfgId: 0,
  sensors: 1,
  climateIntervalMin: 5,
  climateLatencyS: 3600,
  bikeLatencyS: 7200,
  tOffset: 0,
  hOffset: 0,
  alertTHigh: null,
  alertTLow: null,
  statusIntervalS: 86400,
  airtimeBudgetMs: 30000,
  tubeSpacingMm: 1000,
  speedMinKmh: 5,
  speedMaxKmh: 50,
  debounceMs: 30,
  stuckCount: 24,
  bikeBinS: 900,
});

export const MAX_CONFIG_BYTES = 64;
