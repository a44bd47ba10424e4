// The node's FPort 10 configuration from the technician's flags: sensors fitted, cfg_id and `name=value`
// entries named as in shared/PAYLOAD.md (climate_interval_min=10) or as in the TypeScript types
// (climateIntervalMin=10). Checked here with the reference decoder, all or nothing, exactly as the node will.
import {
  applyConfig,
  CONFIG_KEYS,
  type ConfigPatch,
  DEFAULT_CONFIG,
  encodeConfig,
} from "../../shared/payload/index.ts";

export const SENSOR_BITS = { climate: 1, bike: 2 } as const;
export type SensorName = keyof typeof SENSOR_BITS;

export class ConfigInputError extends Error {
  override name = "ConfigInputError";
}

/** "climate,bike" → ["climate", "bike"]. */
export function parseSensors(list: string): SensorName[] {
  const names = list
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
  if (names.length === 0) throw new ConfigInputError("--sensors: name at least one of climate, bike");
  for (const n of names) {
    if (!(n in SENSOR_BITS)) throw new ConfigInputError(`--sensors: unknown sensor "${n}" (climate, bike)`);
  }
  if (new Set(names).size !== names.length) throw new ConfigInputError("--sensors: a sensor is listed twice");
  return names as SensorName[];
}

/** "name=value" entries (also comma-separated in one string); "null" switches an alert off. */
export function parseConfigEntries(entries: readonly string[]): ConfigPatch {
  const patch: Record<string, number | null> = {};
  for (const entry of entries.flatMap((e) => e.split(","))) {
    const text = entry.trim();
    if (text === "") continue;
    const eq = text.indexOf("=");
    if (eq <= 0) throw new ConfigInputError(`--config: expected name=value, got "${text}"`);
    const name = text.slice(0, eq).trim();
    const raw = text.slice(eq + 1).trim();
    const key = CONFIG_KEYS.find((k) => k.name === name || k.field === name);
    if (key === undefined) {
      throw new ConfigInputError(
        `--config: unknown setting "${name}" (known: ${CONFIG_KEYS.filter((k) => k.key > 1)
          .map((k) => k.name)
          .join(", ")})`,
      );
    }
    if (key.key <= 1) {
      throw new ConfigInputError(`--config: set ${key.name} with --${key.key === 0 ? "cfg-id" : "sensors"}`);
    }
    if (raw === "null" || raw === "off") {
      if (!key.nullable) throw new ConfigInputError(`--config: ${key.name} cannot be switched off`);
      patch[key.field] = null;
      continue;
    }
    const value = Number(raw);
    if (!Number.isInteger(value)) {
      throw new ConfigInputError(`--config: ${key.name} must be an integer (${key.unit}), got "${raw}"`);
    }
    patch[key.field] = value;
  }
  return patch as ConfigPatch;
}

/**
 * The configuration bytes the node gets; throws ConfigInputError with the reference decoder's reason when the
 * node would reject them (range, consistency).
 */
export function buildConfig(options: {
  sensors: readonly SensorName[];
  cfgId: number;
  entries?: ConfigPatch;
}): { bytes: Uint8Array; patch: ConfigPatch } {
  const sensors = options.sensors.reduce((bits, s) => bits | SENSOR_BITS[s], 0);
  const patch: ConfigPatch = { ...options.entries, cfgId: options.cfgId, sensors };
  let bytes: Uint8Array;
  try {
    bytes = encodeConfig(patch);
  } catch (err) {
    throw new ConfigInputError(`configuration: ${(err as Error).message}`);
  }
  const applied = applyConfig({ ...DEFAULT_CONFIG }, bytes);
  if (applied.result !== 0)
    throw new ConfigInputError(applied.message ?? `configuration rejected (${applied.result})`);
  return { bytes, patch };
}
