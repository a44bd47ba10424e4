// Configuration downlinks (PAYLOAD.md, FPort 10): decoding, and the all-or-nothing application with the
// result code the node reports in its status. One pass over the entries in the order PAYLOAD.md fixes, the
// same pass the firmware makes (firmware/assembly/cbor-config-reader.ts), so both give the same code and
// echo the same cfg_id for the same bytes.
import { headKind, hex2, plural } from "./cbor-scan.ts";
import { CONFIG_KEYS, type ConfigKey, MAX_CONFIG_BYTES } from "./config-keys.ts";
import { PayloadError } from "./errors.ts";
import { formatInt } from "./fields.ts";
import { CONFIG_RESULT, CONFIG_RESULTS } from "./names.ts";
import type { ConfigDownlink, ConfigPatch, ConfigResultCode, ConfigResultName, NodeConfig } from "./types.ts";

const BY_KEY = new Map(CONFIG_KEYS.map((k) => [k.key, k]));

interface Head {
  major: number;
  ai: number;
  arg: number;
}

interface Reading {
  /** Valid entries by key, in byte order. */
  values: Map<number, number | null>;
  /** Key 0 if it was valid and read before the first error, else 0: what the status echoes. */
  cfgId: number;
  error: PayloadError | undefined;
}

function error(message: string, code: ConfigResultCode): PayloadError {
  return new PayloadError(`configuration: ${message}`, code);
}

function label(key: number): string {
  const k = BY_KEY.get(key);
  return k === undefined ? `key ${formatInt(key)}` : `key ${k.key} (${k.name})`;
}

function outOfRange(k: ConfigKey, v: number): boolean {
  return v < k.min || v > k.max || (k.allowed !== undefined && !k.allowed(v));
}

/**
 * Steps 1 to 5 of PAYLOAD.md "Checking a configuration": size, then the entries in byte order (structural
 * errors stop the pass, the first unknown key, null or out-of-range value is remembered), then bytes after
 * the map, then the remembered error, then cfg_id.
 */
function read(bytes: Uint8Array): Reading {
  const reading: Reading = { values: new Map(), cfgId: 0, error: undefined };
  const stop = (message: string, code: ConfigResultCode): Reading => {
    reading.error = error(message, code);
    return reading;
  };
  if (bytes.length > MAX_CONFIG_BYTES) {
    return stop(
      `${bytes.length} bytes, more than the ${MAX_CONFIG_BYTES} a node accepts`,
      CONFIG_RESULT.oversized,
    );
  }
  let pos = 0;
  let bad = "";
  const head = (): Head | undefined => {
    if (pos >= bytes.length) {
      bad = bytes.length === 0 ? "empty payload" : "the CBOR item is truncated";
      return undefined;
    }
    const initial = bytes[pos]!;
    const h = { major: initial >> 5, ai: initial & 31, arg: initial & 31 };
    if (h.ai > 27) {
      bad = `invalid or indefinite-length CBOR head 0x${hex2(initial)} at byte ${pos}`;
      return undefined;
    }
    pos += 1;
    if (h.ai >= 24) {
      const size = 1 << (h.ai - 24);
      if (pos + size > bytes.length) {
        bad = "the CBOR item is truncated";
        return undefined;
      }
      h.arg = 0;
      for (let i = 0; i < size; i++) h.arg = h.arg * 256 + bytes[pos + i]!;
      pos += size;
    }
    return h;
  };

  const map = head();
  if (map === undefined) return stop(bad, CONFIG_RESULT.malformed);
  if (map.major !== 5)
    return stop(`expected a map, got ${headKind(map.major, map.ai)}`, CONFIG_RESULT.malformed);
  const seen = new Set<number>();
  let semantic: PayloadError | undefined;
  for (let entry = 0; entry < map.arg; entry++) {
    const keyAt = pos;
    const k = head();
    if (k === undefined) return stop(bad, CONFIG_RESULT.malformed);
    if (k.major !== 0) {
      return stop(
        `the key at byte ${keyAt} is ${headKind(k.major, k.ai)}, not an unsigned integer`,
        CONFIG_RESULT.malformed,
      );
    }
    const key = k.arg;
    const v = head();
    if (v === undefined) return stop(bad, CONFIG_RESULT.malformed);
    let value: number | null;
    if (v.major === 0) value = v.arg;
    else if (v.major === 1) value = -1 - v.arg;
    else if (v.major === 7 && v.ai === 22) value = null;
    else
      return stop(
        `${label(key)} must be an integer or null, got ${headKind(v.major, v.ai)}`,
        CONFIG_RESULT.wrongType,
      );
    if (seen.has(key)) return stop(`${label(key)} appears twice`, CONFIG_RESULT.duplicateKey);
    seen.add(key);
    if (semantic !== undefined) continue;
    const spec = BY_KEY.get(key);
    if (spec === undefined) {
      semantic = error(`${label(key)} is unknown`, CONFIG_RESULT.unknownKey);
    } else if (value === null && !spec.nullable) {
      semantic = error(`${label(key)} must be an integer, got null`, CONFIG_RESULT.wrongType);
    } else if (value !== null && outOfRange(spec, value)) {
      semantic = error(
        `${label(key)} is ${formatInt(value)}, outside ${spec.range}`,
        CONFIG_RESULT.outOfRange,
      );
    } else {
      reading.values.set(key, value);
      if (key === 0) reading.cfgId = value!;
    }
  }
  if (pos < bytes.length) {
    return stop(`${plural(bytes.length - pos, "trailing byte")} after the map`, CONFIG_RESULT.malformed);
  }
  if (semantic !== undefined) {
    reading.error = semantic;
    return reading;
  }
  if (!reading.values.has(0)) return stop("cfg_id (key 0) is missing", CONFIG_RESULT.cfgIdMissing);
  return reading;
}

function toPatch(values: ReadonlyMap<number, number | null>): ConfigPatch {
  const patch: Record<string, number | null> = {};
  for (const k of CONFIG_KEYS) if (values.has(k.key)) patch[k.field] = values.get(k.key)!;
  return patch as ConfigPatch;
}

/** Step 6 on whichever of the four fields are known. */
function inconsistency(c: ConfigPatch): PayloadError | undefined {
  if (c.speedMinKmh !== undefined && c.speedMaxKmh !== undefined && c.speedMinKmh >= c.speedMaxKmh) {
    return error(
      `speed_min_kmh ${c.speedMinKmh} is not below speed_max_kmh ${c.speedMaxKmh}`,
      CONFIG_RESULT.inconsistent,
    );
  }
  const low = c.alertTLow;
  const high = c.alertTHigh;
  if (low !== undefined && low !== null && high !== undefined && high !== null && low >= high) {
    return error(`alert_t_low ${low} is not below alert_t_high ${high}`, CONFIG_RESULT.inconsistent);
  }
  return undefined;
}

/**
 * Decodes a configuration downlink on its own: every check of PAYLOAD.md, consistency only between the
 * keys the downlink carries (applyConfig checks it against the configuration in force).
 * Throws PayloadError with `code` set to the result code.
 */
export function decodeConfig(bytes: Uint8Array): ConfigDownlink {
  const reading = read(bytes);
  if (reading.error !== undefined) throw reading.error;
  const values = toPatch(reading.values);
  const problem = inconsistency(values);
  if (problem !== undefined) throw problem;
  return { kind: "config", values };
}

export interface ConfigApplication {
  result: ConfigResultCode;
  resultName: ConfigResultName;
  /** Why the configuration was rejected; null when applied. */
  message: string | null;
  /** The cfg_id the next status echoes. */
  cfgId: number;
  /** The new configuration if applied, else `current`. */
  config: NodeConfig;
}

/** What a node does with a configuration downlink: all or nothing, with the result code of its status. */
export function applyConfig(current: NodeConfig, bytes: Uint8Array): ConfigApplication {
  const reading = read(bytes);
  const next: NodeConfig = { ...current, ...toPatch(reading.values) };
  const problem = reading.error ?? inconsistency(next);
  if (problem === undefined) {
    return { result: 0, resultName: "applied", message: null, cfgId: reading.cfgId, config: next };
  }
  const code = problem.code ?? CONFIG_RESULT.malformed;
  return {
    result: code,
    resultName: CONFIG_RESULTS[code]!,
    message: problem.message,
    cfgId: reading.cfgId,
    config: current,
  };
}
