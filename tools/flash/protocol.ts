// The USB provisioning protocol as a pure codec (hw/provisioning-protocol.md): command lines and answer lines in,
// typed values out, and back. No I/O; the client (client.ts) and the simulated device (simulated/) both use it,
// so the two sides cannot drift apart.
import { crc32 } from "./crc32.ts";

export const PROTOCOL_VERSION = 1;
export const DEFAULT_BAUD_RATE = 115_200;
/** Longest line either side sends or accepts, without the line break. */
export const MAX_LINE_LENGTH = 1024;
/** Bytes per `AT+FWCHUNK` at most. */
export const MAX_CHUNK_BYTES = 256;
/** Size of a module slot (node-board.md §3): the largest module `AT+FWBEGIN` accepts. */
export const SLOT_SIZE = 262_144;
/** FPort 10 configurations are at most this long (shared/PAYLOAD.md). */
export const MAX_CONFIG_BYTES = 64;

/** §4 of the protocol. */
export const ErrorCode = {
  unknownCommand: 1,
  badArgument: 2,
  lineTooLong: 3,
  badCrc: 4,
  outOfOrder: 5,
  sizeMismatch: 6,
  hashMismatch: 7,
  noUpload: 8,
  uploadIncomplete: 9,
  moduleInvalid: 10,
  abiMismatch: 11,
  flashWrite: 12,
  configRejected: 13,
  busy: 14,
  wrongBoard: 15,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_NAMES: Readonly<Record<number, string>> = {
  1: "unknown command",
  2: "bad argument",
  3: "line too long",
  4: "bad CRC",
  5: "out of order",
  6: "size mismatch",
  7: "hash mismatch",
  8: "no upload",
  9: "upload incomplete",
  10: "module invalid",
  11: "ABI mismatch",
  12: "flash write error",
  13: "config rejected",
  14: "busy",
  15: "wrong board",
};

/** A line or value that does not follow the protocol. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

// ---------------------------------------------------------------------------------------------------------
// Hex and versions

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex").toUpperCase();
}

/** Whether `text` is hex for exactly `bytes` bytes (any number of whole bytes when omitted). */
export function isHex(text: string, bytes?: number): boolean {
  if (!/^(?:[0-9A-Fa-f]{2})+$/.test(text)) return false;
  return bytes === undefined || text.length === bytes * 2;
}

export function fromHex(text: string): Uint8Array {
  if (!isHex(text)) throw new ProtocolError(`not hex: ${excerpt(text)}`);
  return new Uint8Array(Buffer.from(text, "hex"));
}

/** fw_version (major << 16 | minor << 8 | patch) as "x.y.z". */
export function formatVersion(packed: number): string {
  return `${(packed >>> 16) & 0xffff}.${(packed >>> 8) & 0xff}.${packed & 0xff}`;
}

function excerpt(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

// ---------------------------------------------------------------------------------------------------------
// Commands

export type CommandKind = "action" | "query" | "set";

export interface CommandLine {
  /** Upper case, without "AT+"; "" for the bare `AT`. */
  name: string;
  kind: CommandKind;
  /** Arguments of a set command, split at commas. */
  args: string[];
}

/** Parses one command line (without its line break); undefined if it is not an AT command at all. */
export function parseCommand(line: string): CommandLine | undefined {
  const text = line.trim();
  if (/^AT$/i.test(text)) return { name: "", kind: "action", args: [] };
  const m = /^AT\+([A-Za-z][A-Za-z0-9]*)(\?|=(.*))?$/i.exec(text);
  if (m === null) return undefined;
  const name = m[1]!.toUpperCase();
  if (m[2] === "?") return { name, kind: "query", args: [] };
  if (m[3] !== undefined) return { name, kind: "set", args: m[3].split(",") };
  return { name, kind: "action", args: [] };
}

export function formatCommand(command: CommandLine): string {
  if (command.name === "") return "AT";
  const base = `AT+${command.name}`;
  if (command.kind === "query") return `${base}?`;
  if (command.kind === "set") return `${base}=${command.args.join(",")}`;
  return base;
}

/** The command lines the tool sends. */
export const commands = {
  at: () => "AT",
  id: () => "AT+ID?",
  devEui: (hex: string) => `AT+DEVEUI=${hex.toUpperCase()}`,
  devAddr: (hex: string) => `AT+DEVADDR=${hex.toUpperCase()}`,
  nwkSKey: (hex: string) => `AT+NWKSKEY=${hex.toUpperCase()}`,
  appSKey: (hex: string) => `AT+APPSKEY=${hex.toUpperCase()}`,
  kcv: () => "AT+KCV?",
  time: (unixS: number) => `AT+TIME=${Math.floor(unixS)}`,
  timeQuery: () => "AT+TIME?",
  config: (cbor: Uint8Array) => `AT+CONFIG=${toHex(cbor)}`,
  configQuery: () => "AT+CONFIG?",
  location: (loc: Location) =>
    `AT+LOC=${formatCoordinate(loc.lat)},${formatCoordinate(loc.lon)}${loc.heightM === undefined ? "" : `,${loc.heightM}`}`,
  locationQuery: () => "AT+LOC?",
  fw: () => "AT+FW?",
  fwBegin: (size: number, sha256Hex: string) => `AT+FWBEGIN=${size},${sha256Hex.toUpperCase()}`,
  fwChunk: (offset: number, bytes: Uint8Array) =>
    `AT+FWCHUNK=${offset},${toHex(bytes)},${crc32(bytes).toString(16).toUpperCase().padStart(8, "0")}`,
  fwStatus: () => "AT+FWSTATUS?",
  fwCommit: () => "AT+FWCOMMIT",
  fwAbort: () => "AT+FWABORT",
  test: () => "AT+TEST",
  status: () => "AT+STATUS?",
  reboot: () => "AT+REBOOT",
} as const;

// ---------------------------------------------------------------------------------------------------------
// Answers

export type ResponseLine =
  | { kind: "ok" }
  | { kind: "error"; code: number; text: string }
  | { kind: "info"; name: string; value: string }
  /** `#…`: banner or log, ignored by the tool. */
  | { kind: "comment"; text: string }
  /** Anything else: not this protocol (another device on the port, line noise). */
  | { kind: "foreign"; line: string };

export function parseResponseLine(line: string): ResponseLine {
  const text = line.replace(/\r$/, "");
  if (text === "OK") return { kind: "ok" };
  const error = /^ERROR:(\d{1,3})(?: (.*))?$/.exec(text);
  if (error !== null) return { kind: "error", code: Number(error[1]), text: error[2] ?? "" };
  const info = /^\+([A-Z][A-Z0-9]*): ?(.*)$/.exec(text);
  if (info !== null) return { kind: "info", name: info[1]!, value: info[2]! };
  if (text.startsWith("#")) return { kind: "comment", text: text.slice(1).trim() };
  return { kind: "foreign", line: text };
}

export const reply = {
  ok: () => "OK",
  /** The text is one line: line breaks would start a new answer. */
  error: (code: number, text: string) => `ERROR:${code} ${text.replace(/[\r\n]+/g, " ")}`,
  info: (name: string, value: string) => `+${name}: ${value}`,
  comment: (text: string) => `# ${text}`,
} as const;

// ---------------------------------------------------------------------------------------------------------
// key=value lists

type FieldValue = string | number | undefined;

/** "a=1,b=2"; undefined values are written as "-". */
export function formatFields(fields: Record<string, FieldValue>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${v === undefined ? "-" : v}`)
    .join(",");
}

export function parseFields(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new ProtocolError(`expected key=value, got ${excerpt(part)}`);
    out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return out;
}

function field(fields: Map<string, string>, key: string, what: string): string {
  const v = fields.get(key);
  if (v === undefined) throw new ProtocolError(`${what}: "${key}" missing`);
  return v;
}

function optional(v: string | undefined): string | undefined {
  return v === undefined || v === "-" || v === "" ? undefined : v;
}

function uint(fields: Map<string, string>, key: string, what: string): number {
  const v = field(fields, key, what);
  if (!/^\d{1,10}$/.test(v)) throw new ProtocolError(`${what}: ${key} is not a number: ${excerpt(v)}`);
  return Number(v);
}

function int(text: string, what: string): number {
  if (!/^-?\d{1,10}$/.test(text)) throw new ProtocolError(`${what}: not an integer: ${excerpt(text)}`);
  return Number(text);
}

function hexField(fields: Map<string, string>, key: string, bytes: number, what: string): string {
  const v = field(fields, key, what);
  if (!isHex(v, bytes)) throw new ProtocolError(`${what}: ${key} is not ${bytes * 2} hex digits`);
  return v.toUpperCase();
}

function optionalHex(
  fields: Map<string, string>,
  key: string,
  bytes: number,
  what: string,
): string | undefined {
  const v = optional(fields.get(key));
  if (v === undefined) return undefined;
  if (!isHex(v, bytes)) throw new ProtocolError(`${what}: ${key} is not ${bytes * 2} hex digits`);
  return v.toUpperCase();
}

// ---------------------------------------------------------------------------------------------------------
// Typed records

/** `+ID:` */
export interface Identity {
  board: string;
  hwRev: string | undefined;
  /** Version of the native host. */
  host: string;
  /** fw_version of the running module, "x.y.z". */
  fw: string;
  /** Host ABI version the host implements. */
  abi: number;
  proto: number;
  /** The board's factory EUI-64. */
  eui: string;
  devEui: string | undefined;
  devAddr: string | undefined;
}

export function formatIdentity(id: Identity): string {
  return formatFields({
    board: id.board,
    hwrev: id.hwRev,
    host: id.host,
    fw: id.fw,
    abi: id.abi,
    proto: id.proto,
    eui: id.eui,
    deveui: id.devEui,
    devaddr: id.devAddr,
  });
}

export function parseIdentity(value: string): Identity {
  const f = parseFields(value);
  const what = "+ID";
  return {
    board: field(f, "board", what),
    hwRev: optional(f.get("hwrev")),
    host: field(f, "host", what),
    fw: field(f, "fw", what),
    abi: uint(f, "abi", what),
    proto: uint(f, "proto", what),
    eui: hexField(f, "eui", 8, what),
    devEui: optionalHex(f, "deveui", 8, what),
    devAddr: optionalHex(f, "devaddr", 4, what),
  };
}

/** `+KCV:` */
export interface KeyCheck {
  nwkSKey: string | undefined;
  appSKey: string | undefined;
}

export function formatKeyCheck(k: KeyCheck): string {
  return formatFields({ nwkskey: k.nwkSKey, appskey: k.appSKey });
}

export function parseKeyCheck(value: string): KeyCheck {
  const f = parseFields(value);
  return {
    nwkSKey: optionalHex(f, "nwkskey", 3, "+KCV"),
    appSKey: optionalHex(f, "appskey", 3, "+KCV"),
  };
}

/** `+CONFIG:` */
export interface ConfigInfo {
  /** The module's result code (shared/PAYLOAD.md), 0 = applied. */
  result: number;
  cfgId: number;
  /** The configuration last written over USB; only in the answer to `AT+CONFIG?`. */
  hex?: string | undefined;
}

export function formatConfigInfo(c: ConfigInfo): string {
  return formatFields({
    result: c.result,
    cfgid: c.cfgId,
    ...("hex" in c ? { hex: c.hex === "" ? undefined : c.hex } : {}),
  });
}

export function parseConfigInfo(value: string): ConfigInfo {
  const f = parseFields(value);
  const out: ConfigInfo = { result: uint(f, "result", "+CONFIG"), cfgId: uint(f, "cfgid", "+CONFIG") };
  if (f.has("hex")) {
    const hex = optional(f.get("hex"));
    if (hex !== undefined && !isHex(hex)) throw new ProtocolError("+CONFIG: hex is not hex");
    out.hex = hex?.toUpperCase();
  }
  return out;
}

/** `+LOC:` and `AT+LOC=` */
export interface Location {
  lat: number;
  lon: number;
  heightM?: number | undefined;
}

function formatCoordinate(v: number): string {
  return String(Number(v.toFixed(6)));
}

export function formatLocation(loc: Location | undefined): string {
  if (loc === undefined) return "-";
  return `${formatCoordinate(loc.lat)},${formatCoordinate(loc.lon)},${loc.heightM === undefined ? "-" : loc.heightM}`;
}

/** Parses `lat,lon[,height]` (the arguments of AT+LOC= or the value of +LOC:); "-" = not set. */
export function parseLocation(value: string | string[]): Location | undefined {
  const parts = typeof value === "string" ? value.split(",") : value;
  if (parts.length === 1 && parts[0]!.trim() === "-") return undefined;
  if (parts.length < 2 || parts.length > 3) throw new ProtocolError("location: expected lat,lon[,height]");
  const num = (s: string, min: number, max: number, what: string) => {
    const n = Number(s);
    if (s.trim() === "" || !Number.isFinite(n) || n < min || n > max)
      throw new ProtocolError(`location: ${what} ${excerpt(s)} outside ${min}..${max}`);
    return n;
  };
  const h = parts[2]?.trim();
  return {
    lat: num(parts[0]!, -90, 90, "latitude"),
    lon: num(parts[1]!, -180, 180, "longitude"),
    ...(h === undefined || h === "-" ? {} : { heightM: num(h, -500, 10_000, "height") }),
  };
}

export type ModuleOrigin = "factory" | "upload";

/** `+FW:` the active module. */
export interface FwInfo {
  slot: "a" | "b";
  size: number;
  sha256: string;
  fw: string;
  abi: number;
  origin: ModuleOrigin;
}

export function formatFwInfo(i: FwInfo): string {
  return formatFields({
    slot: i.slot,
    size: i.size,
    sha256: i.sha256,
    fw: i.fw,
    abi: i.abi,
    origin: i.origin,
  });
}

export function parseFwInfo(value: string): FwInfo {
  const f = parseFields(value);
  const slot = field(f, "slot", "+FW").toLowerCase();
  const origin = field(f, "origin", "+FW");
  if (slot !== "a" && slot !== "b") throw new ProtocolError(`+FW: slot ${excerpt(slot)}`);
  if (origin !== "factory" && origin !== "upload") throw new ProtocolError(`+FW: origin ${excerpt(origin)}`);
  return {
    slot,
    size: uint(f, "size", "+FW"),
    sha256: hexField(f, "sha256", 32, "+FW"),
    fw: field(f, "fw", "+FW"),
    abi: uint(f, "abi", "+FW"),
    origin,
  };
}

export type UploadState = "idle" | "receiving" | "verified";

/** `+FWSTATUS:` */
export type FwStatus =
  | { state: "idle" }
  | { state: "receiving" | "verified"; size: number; received: number; sha256: string };

export function formatFwStatus(s: FwStatus): string {
  if (s.state === "idle") return "state=idle";
  return formatFields({ state: s.state, size: s.size, received: s.received, sha256: s.sha256 });
}

export function parseFwStatus(value: string): FwStatus {
  const f = parseFields(value);
  const state = field(f, "state", "+FWSTATUS");
  if (state === "idle") return { state };
  if (state !== "receiving" && state !== "verified")
    throw new ProtocolError(`+FWSTATUS: state ${excerpt(state)}`);
  return {
    state,
    size: uint(f, "size", "+FWSTATUS"),
    received: uint(f, "received", "+FWSTATUS"),
    sha256: hexField(f, "sha256", 32, "+FWSTATUS"),
  };
}

/** A sensor reading in the ABI's unit, or the `sensor_read` error code. */
export type Reading = { ok: true; value: number } | { ok: false; error: number };

/** `+TEST:` */
export interface SelfTest {
  /** 0.01 °C */
  temperature: Reading;
  /** 0.01 %RH */
  humidity: Reading;
  /** mV */
  battery: Reading;
  /** The transceiver check; `error` is a host-specific code. */
  radio: { ok: true } | { ok: false; error: number };
  /** Noise floor of the channel, dBm; undefined when the radio check failed. */
  noiseDbm: number | undefined;
}

function formatReading(r: Reading): string {
  return r.ok ? String(r.value) : `E${r.error}`;
}

function parseReading(text: string, what: string): Reading {
  const e = /^E(\d{1,10})$/i.exec(text);
  if (e !== null) return { ok: false, error: Number(e[1]) };
  return { ok: true, value: int(text, what) };
}

function radioError(text: string, what: string): { ok: false; error: number } {
  const e = /^E(\d{1,10})$/i.exec(text);
  if (e === null) throw new ProtocolError(`${what}: radio is neither ok nor E<code>: ${excerpt(text)}`);
  return { ok: false, error: Number(e[1]) };
}

export function formatSelfTest(t: SelfTest): string {
  return formatFields({
    temperature: formatReading(t.temperature),
    humidity: formatReading(t.humidity),
    battery: formatReading(t.battery),
    radio: t.radio.ok ? "ok" : `E${t.radio.error}`,
    noise: t.noiseDbm,
  });
}

export function parseSelfTest(value: string): SelfTest {
  const f = parseFields(value);
  const what = "+TEST";
  const radio = field(f, "radio", what);
  const noise = optional(f.get("noise"));
  return {
    temperature: parseReading(field(f, "temperature", what), `${what} temperature`),
    humidity: parseReading(field(f, "humidity", what), `${what} humidity`),
    battery: parseReading(field(f, "battery", what), `${what} battery`),
    radio: radio === "ok" ? { ok: true } : radioError(radio, what),
    noiseDbm: noise === undefined ? undefined : int(noise, `${what} noise`),
  };
}

/** `+STATUS:` */
export interface NodeStatus {
  uptimeS: number;
  fcnt: number;
  uplinks: number;
  flags: number;
  session: "abp" | "none";
}

export function formatNodeStatus(s: NodeStatus): string {
  return formatFields({
    uptime: s.uptimeS,
    fcnt: s.fcnt,
    uplinks: s.uplinks,
    flags: s.flags,
    session: s.session,
  });
}

export function parseNodeStatus(value: string): NodeStatus {
  const f = parseFields(value);
  const session = field(f, "session", "+STATUS");
  return {
    uptimeS: uint(f, "uptime", "+STATUS"),
    fcnt: uint(f, "fcnt", "+STATUS"),
    uplinks: uint(f, "uplinks", "+STATUS"),
    flags: uint(f, "flags", "+STATUS"),
    session: session === "abp" ? "abp" : "none",
  };
}

/** `+TIME:` */
export interface TimeInfo {
  unixS: number;
  source: "set" | "uptime";
}

export function formatTimeInfo(t: TimeInfo): string {
  return `${t.unixS},${t.source}`;
}

export function parseTimeInfo(value: string): TimeInfo {
  const [s, source] = value.split(",");
  return { unixS: int(s ?? "", "+TIME"), source: source?.trim() === "set" ? "set" : "uptime" };
}
