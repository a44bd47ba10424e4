// OpenHerz payload format version 1: the reference decoder and encoder (shared/PAYLOAD.md).
export { CborWriter } from "./cbor-write.ts";
export { applyConfig, type ConfigApplication, decodeConfig } from "./config.ts";
export { CONFIG_KEYS, type ConfigKey, DEFAULT_CONFIG, MAX_CONFIG_BYTES } from "./config-keys.ts";
export { decodeUplink } from "./decode.ts";
export { encodeBike, encodeClimate, encodeConfig, encodeStatus, packFwVersion } from "./encode.ts";
export { PayloadError } from "./errors.ts";
export { BATTERY, FORMAT_VERSION, HUMIDITY, TEMPERATURE } from "./fields.ts";
export { CONFIG_RESULT, CONFIG_RESULTS, FLAG_NAMES, RESET_CAUSES } from "./names.ts";
export type * from "./types.ts";
