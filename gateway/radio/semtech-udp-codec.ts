// Pure codec of the Semtech UDP packet-forwarder protocol ("GWMP"): bytes in, typed values out, no I/O,
// never throws on input. Spec: Lora-net/packet_forwarder PROTOCOL.TXT (v1, protocol version 1) and
// Lora-net/sx1302_hal packet_forwarder/PROTOCOL.md (protocol version 2: tmms, TX_ACK, jver/rsig).
// Field handling follows what real forwarders send, as read by ChirpStack's
// chirpstack-mqtt-forwarder src/backend/semtech_udp/structs.rs, but more tolerant: only `data` is
// required in an rxpk, and one bad rxpk does not spoil the others in its datagram.

export const PUSH_DATA = 0x00;
export const PUSH_ACK = 0x01;
export const PULL_DATA = 0x02;
export const PULL_RESP = 0x03;
export const PULL_ACK = 0x04;
export const TX_ACK = 0x05;

export type ProtocolVersion = 1 | 2;

/** Header: version (1), token (2), identifier (1), and for upstream packets the gateway EUI (8). */
export const HEADER_BYTES = 12;

export type CodecDropReason =
  | "udp_too_short"
  | "udp_unknown_version"
  | "udp_unknown_identifier"
  | "udp_bad_json"
  | "udp_malformed";

export type RxpkDropReason = "udp_bad_rxpk" | "udp_bad_base64" | "udp_size_mismatch" | "udp_crc_bad";

/** One received RF packet from an `rxpk` entry, with its metadata normalised. */
export interface Rxpk {
  phyPayload: Uint8Array;
  /** stat: 1 → "ok", 0 → "none" (no CRC on air), absent → "unknown". -1 is rejected as udp_crc_bad. */
  crc: "ok" | "none" | "unknown";
  /** `time` as Unix ms: GPS time on GPS-synchronised forwarders, host clock on some others. */
  timeMs?: number;
  /** `tmms` (ms since the GPS epoch) converted to Unix ms with leap seconds. */
  gpsTimeMs?: number;
  tmst?: number;
  frequencyMhz?: number;
  channel?: number;
  rfChain?: number;
  modulation?: string;
  dataRate?: string;
  codingRate?: string;
  rssi?: number;
  snr?: number;
}

export interface RxpkRejection {
  index: number;
  reason: RxpkDropReason;
  detail: string;
}

/** The `stat` object: known numeric fields that are numbers, everything else ignored. */
export interface GatewayStat {
  time?: string;
  timeMs?: number;
  latitude?: number;
  longitude?: number;
  altitude?: number;
  rxnb?: number;
  rxok?: number;
  rxfw?: number;
  ackr?: number;
  dwnb?: number;
  txnb?: number;
  temp?: number;
}

export type SemtechPacket =
  | {
      type: "push_data";
      version: ProtocolVersion;
      token: number;
      gatewayEui: string;
      rxpk: Rxpk[];
      rejected: RxpkRejection[];
      stat?: GatewayStat;
    }
  | { type: "push_ack"; version: ProtocolVersion; token: number }
  | { type: "pull_data"; version: ProtocolVersion; token: number; gatewayEui: string }
  | { type: "pull_resp"; version: ProtocolVersion; token: number; json: unknown }
  | { type: "pull_ack"; version: ProtocolVersion; token: number }
  | { type: "tx_ack"; version: ProtocolVersion; token: number; gatewayEui: string; json?: unknown };

export type ParseResult =
  | { ok: true; packet: SemtechPacket }
  | { ok: false; reason: CodecDropReason; detail: string; gatewayEui?: string };

/** GPS epoch 1980-01-06T00:00:00Z in Unix ms. */
export const GPS_EPOCH_UNIX_MS = Date.UTC(1980, 0, 6);

// UTC dates from which GPS time runs ahead of UTC by the given number of seconds (IERS Bulletin C;
// 18 s since 2017-01-01, none announced since). Newest first.
const LEAP_SECONDS: ReadonlyArray<readonly [utcMs: number, gpsMinusUtcS: number]> = [
  [Date.UTC(2017, 0, 1), 18],
  [Date.UTC(2015, 6, 1), 17],
  [Date.UTC(2012, 6, 1), 16],
  [Date.UTC(2009, 0, 1), 15],
  [Date.UTC(2006, 0, 1), 14],
  [Date.UTC(1999, 0, 1), 13],
  [Date.UTC(1997, 6, 1), 12],
  [Date.UTC(1996, 0, 1), 11],
  [Date.UTC(1994, 6, 1), 10],
  [Date.UTC(1993, 6, 1), 9],
  [Date.UTC(1992, 6, 1), 8],
  [Date.UTC(1991, 0, 1), 7],
  [Date.UTC(1990, 0, 1), 6],
  [Date.UTC(1988, 0, 1), 5],
  [Date.UTC(1985, 6, 1), 4],
  [Date.UTC(1983, 6, 1), 3],
  [Date.UTC(1982, 6, 1), 2],
  [Date.UTC(1981, 6, 1), 1],
];

/** Converts GPS time (ms since the GPS epoch, no leap seconds) to Unix ms (UTC). */
export function gpsToUnixMs(gpsMs: number): number {
  const naive = GPS_EPOCH_UNIX_MS + gpsMs;
  for (const [utcMs, leap] of LEAP_SECONDS) {
    // The leap second takes effect at GPS instant utcMs + leap s.
    if (naive >= utcMs + leap * 1000) return naive - leap * 1000;
  }
  return naive;
}

/** Converts Unix ms (UTC) to GPS time in ms since the GPS epoch. Inverse of gpsToUnixMs. */
export function unixToGpsMs(unixMs: number): number {
  for (const [utcMs, leap] of LEAP_SECONDS) {
    if (unixMs >= utcMs) return unixMs - GPS_EPOCH_UNIX_MS + leap * 1000;
  }
  return unixMs - GPS_EPOCH_UNIX_MS;
}

// tmms below this (GPS time of 2000-01-01) is a forwarder without a fix reporting a counter, not a date.
const MIN_PLAUSIBLE_TMMS = unixToGpsMs(Date.UTC(2000, 0, 1));

/** Lowercase hex of the 8 gateway EUI bytes. */
export function euiToHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Accepts "0102030405060708", "01:02:03:04:05:06:07:08", "01-02-…", any case. */
export function normalizeEui(eui: string): string | undefined {
  const hex = eui.replace(/[:\-\s]/g, "").toLowerCase();
  return /^[0-9a-f]{16}$/.test(hex) ? hex : undefined;
}

export function parseDatagram(bytes: Uint8Array): ParseResult {
  if (bytes.length < 4) return fail("udp_too_short", `${bytes.length} bytes, need at least 4`);
  const version = bytes[0]!;
  if (version !== 1 && version !== 2) return fail("udp_unknown_version", `protocol version ${version}`);
  const token = (bytes[1]! << 8) | bytes[2]!;
  const identifier = bytes[3]!;
  switch (identifier) {
    case PUSH_ACK:
      return { ok: true, packet: { type: "push_ack", version, token } };
    case PULL_ACK:
      return { ok: true, packet: { type: "pull_ack", version, token } };
    case PULL_RESP: {
      const json = parseJsonBody(bytes.subarray(4));
      if (!json.ok) return fail("udp_bad_json", `PULL_RESP: ${json.detail}`);
      return { ok: true, packet: { type: "pull_resp", version, token, json: json.value } };
    }
    case PUSH_DATA:
    case PULL_DATA:
    case TX_ACK:
      break;
    default:
      return fail("udp_unknown_identifier", `identifier 0x${identifier.toString(16).padStart(2, "0")}`);
  }
  if (bytes.length < HEADER_BYTES) {
    return fail("udp_too_short", `${bytes.length} bytes, need at least ${HEADER_BYTES}`);
  }
  const gatewayEui = euiToHex(bytes.subarray(4, 12));
  const body = bytes.subarray(HEADER_BYTES);
  if (identifier === PULL_DATA)
    return { ok: true, packet: { type: "pull_data", version, token, gatewayEui } };
  if (identifier === TX_ACK) {
    // The JSON of a TX_ACK is optional; an empty body means "no error".
    if (trimmedLength(body) === 0)
      return { ok: true, packet: { type: "tx_ack", version, token, gatewayEui } };
    const json = parseJsonBody(body);
    if (!json.ok) return fail("udp_bad_json", `TX_ACK: ${json.detail}`, gatewayEui);
    return { ok: true, packet: { type: "tx_ack", version, token, gatewayEui, json: json.value } };
  }
  const json = parseJsonBody(body);
  if (!json.ok) return fail("udp_bad_json", json.detail, gatewayEui);
  if (!isRecord(json.value)) return fail("udp_malformed", "JSON root is not an object", gatewayEui);
  const root = json.value;
  const rxpk: Rxpk[] = [];
  const rejected: RxpkRejection[] = [];
  if (root.rxpk !== undefined) {
    if (!Array.isArray(root.rxpk)) return fail("udp_malformed", "rxpk is not an array", gatewayEui);
    root.rxpk.forEach((entry: unknown, index: number) => {
      const r = parseRxpk(entry, index);
      if ("reason" in r) rejected.push(r);
      else rxpk.push(r);
    });
  }
  const stat = isRecord(root.stat) ? parseStat(root.stat) : undefined;
  const packet: SemtechPacket = { type: "push_data", version, token, gatewayEui, rxpk, rejected };
  if (stat) packet.stat = stat;
  return { ok: true, packet };
}

function fail(reason: CodecDropReason, detail: string, gatewayEui?: string): ParseResult {
  return gatewayEui === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, gatewayEui };
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

function trimmedLength(body: Uint8Array): number {
  let end = body.length;
  // Some forwarders terminate the JSON with a NUL byte; whitespace is harmless too.
  while (end > 0 && (body[end - 1] === 0 || body[end - 1] === 0x20 || body[end - 1] === 0x0a)) end--;
  return end;
}

function parseJsonBody(body: Uint8Array): { ok: true; value: unknown } | { ok: false; detail: string } {
  const end = trimmedLength(body);
  if (end === 0) return { ok: false, detail: "empty JSON body" };
  try {
    return { ok: true, value: JSON.parse(utf8.decode(body.subarray(0, end))) };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function uint(v: unknown, max: number): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function parseRxpk(entry: unknown, index: number): Rxpk | RxpkRejection {
  if (!isRecord(entry)) return { index, reason: "udp_bad_rxpk", detail: `rxpk[${index}] is not an object` };
  if (typeof entry.data !== "string") {
    return { index, reason: "udp_bad_rxpk", detail: `rxpk[${index}].data missing or not a string` };
  }
  const payload = decodeBase64(entry.data);
  if (!payload) return { index, reason: "udp_bad_base64", detail: `rxpk[${index}].data is not base64` };
  if (entry.size !== undefined && entry.size !== payload.length) {
    return {
      index,
      reason: "udp_size_mismatch",
      detail: `rxpk[${index}].size ${JSON.stringify(entry.size)} but data has ${payload.length} bytes`,
    };
  }
  if (entry.stat === -1) return { index, reason: "udp_crc_bad", detail: `rxpk[${index}] CRC failed` };
  const out: Rxpk = {
    phyPayload: payload,
    crc: entry.stat === 1 ? "ok" : entry.stat === 0 ? "none" : "unknown",
  };
  const time = str(entry.time);
  const timeMs = time === undefined ? undefined : parseUtcTime(time);
  if (timeMs !== undefined) out.timeMs = timeMs;
  const tmms = uint(entry.tmms, Number.MAX_SAFE_INTEGER);
  if (tmms !== undefined && tmms >= MIN_PLAUSIBLE_TMMS) out.gpsTimeMs = gpsToUnixMs(tmms);
  setIf(out, "tmst", uint(entry.tmst, 0xffffffff));
  setIf(out, "frequencyMhz", num(entry.freq));
  setIf(out, "rfChain", uint(entry.rfch, 0xff));
  setIf(out, "modulation", str(entry.modu));
  setIf(out, "dataRate", dataRate(entry.datr));
  setIf(out, "codingRate", str(entry.codr));
  // Protocol v2 forwarders (jver 2) report signal per antenna in rsig; take the best antenna when the
  // top-level fields are absent.
  const best = bestAntenna(entry.rsig);
  setIf(out, "channel", uint(entry.chan, 0xff) ?? best?.chan);
  setIf(out, "rssi", num(entry.rssi) ?? best?.rssi);
  setIf(out, "snr", num(entry.lsnr) ?? best?.lsnr);
  return out;
}

function setIf<K extends keyof Rxpk>(out: Rxpk, key: K, value: Rxpk[K] | undefined): void {
  if (value !== undefined) out[key] = value;
}

function dataRate(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  // FSK rates are numbers (bits per second).
  if (typeof v === "number" && Number.isFinite(v)) return `FSK${v}`;
  return undefined;
}

function bestAntenna(rsig: unknown): { rssi?: number; lsnr?: number; chan?: number } | undefined {
  if (!Array.isArray(rsig)) return undefined;
  let rssi: number | undefined;
  let lsnr: number | undefined;
  let chan: number | undefined;
  let bestKey = Number.NEGATIVE_INFINITY;
  for (const s of rsig) {
    if (!isRecord(s)) continue;
    const r = num(s.rssis) ?? num(s.rssic);
    const n = num(s.lsnr);
    if (r !== undefined && (rssi === undefined || r > rssi)) rssi = r;
    if (n !== undefined && (lsnr === undefined || n > lsnr)) lsnr = n;
    // The channel of the antenna with the best SNR (or RSSI when no SNR is given).
    const key = n ?? r ?? Number.NEGATIVE_INFINITY;
    const c = uint(s.chan, 0xff);
    if (c !== undefined && (chan === undefined || key > bestKey)) {
      chan = c;
      bestKey = key;
    }
  }
  if (rssi === undefined && lsnr === undefined && chan === undefined) return undefined;
  return {
    ...(rssi !== undefined && { rssi }),
    ...(lsnr !== undefined && { lsnr }),
    ...(chan !== undefined && { chan }),
  };
}

function parseStat(s: Record<string, unknown>): GatewayStat {
  const out: GatewayStat = {};
  const time = str(s.time);
  if (time !== undefined) {
    out.time = time;
    const ms = parseUtcTime(time);
    if (ms !== undefined) out.timeMs = ms;
  }
  const fields: Array<[keyof GatewayStat, string]> = [
    ["latitude", "lati"],
    ["longitude", "long"],
    ["altitude", "alti"],
    ["rxnb", "rxnb"],
    ["rxok", "rxok"],
    ["rxfw", "rxfw"],
    ["ackr", "ackr"],
    ["dwnb", "dwnb"],
    ["txnb", "txnb"],
    ["temp", "temp"],
  ];
  for (const [key, wire] of fields) {
    const v = num(s[wire]);
    if (v !== undefined) (out as Record<string, number>)[key] = v;
  }
  return out;
}

// rxpk uses ISO 8601 "compact" ("2013-03-31T16:21:17.528002Z"), stat the "expanded" form
// ("2014-01-12 08:59:28 GMT"). Parsed by hand so the result never depends on the host's time zone.
const TIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|GMT|UTC|[+-]\d{2}:?\d{2})?$/;

/** UTC time string → Unix ms, or undefined. Without a zone the time is taken as UTC. */
export function parseUtcTime(s: string): number | undefined {
  const m = TIME_RE.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(se) > 60
  ) {
    return undefined;
  }
  let ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(se));
  if (frac) ms += Math.floor(Number(`0.${frac}`) * 1000);
  if (zone && (zone[0] === "+" || zone[0] === "-")) {
    const digits = zone.slice(1).replace(":", "");
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
    ms -= (zone[0] === "+" ? 1 : -1) * offsetMin * 60_000;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

const BASE64_RE = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/**
 * Strict base64 (standard or URL-safe alphabet, padding optional as the spec's own examples show).
 * Buffer.from(…, "base64") alone would silently skip invalid characters.
 */
export function decodeBase64(s: string): Uint8Array | undefined {
  if (!BASE64_RE.test(s)) return undefined;
  const unpadded = s.replace(/=+$/, "");
  if (unpadded.length % 4 === 1) return undefined;
  if (s.length !== unpadded.length && s.length % 4 !== 0) return undefined;
  // Copy out of Buffer's shared pool so a retained frame does not pin an 8 KiB slab.
  return new Uint8Array(Buffer.from(unpadded, "base64"));
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

// ---------------------------------------------------------------------------------------------------
// Encoders. The server sends PUSH_ACK, PULL_ACK and PULL_RESP; PUSH_DATA, PULL_DATA and TX_ACK are for
// tests and the simulator's virtual forwarders. ACKs echo the version of the packet they acknowledge:
// the reference forwarder ignores ACKs whose version differs from its own.

function header(version: ProtocolVersion, token: number, identifier: number, extra: number): Uint8Array {
  if (!Number.isInteger(token) || token < 0 || token > 0xffff)
    throw new RangeError(`token ${token} is not u16`);
  const b = new Uint8Array(4 + extra);
  b[0] = version;
  b[1] = token >> 8;
  b[2] = token & 0xff;
  b[3] = identifier;
  return b;
}

function euiBytes(gatewayEui: string): Uint8Array {
  const hex = normalizeEui(gatewayEui);
  if (!hex) throw new RangeError(`gateway EUI ${JSON.stringify(gatewayEui)} is not 8 hex bytes`);
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

function withJson(head: Uint8Array, json: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

export function encodePushAck(token: number, version: ProtocolVersion = 2): Uint8Array {
  return header(version, token, PUSH_ACK, 0);
}

export function encodePullAck(token: number, version: ProtocolVersion = 2): Uint8Array {
  return header(version, token, PULL_ACK, 0);
}

export function encodePullData(token: number, gatewayEui: string, version: ProtocolVersion = 2): Uint8Array {
  const b = header(version, token, PULL_DATA, 8);
  b.set(euiBytes(gatewayEui), 4);
  return b;
}

/** The JSON of a PUSH_DATA as a forwarder writes it; any extra fields are passed through. */
export interface PushDataJson {
  rxpk?: RxpkJson[];
  stat?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface RxpkJson {
  time?: string;
  tmms?: number;
  tmst?: number;
  freq?: number;
  chan?: number;
  rfch?: number;
  stat?: number;
  modu?: string;
  datr?: string | number;
  codr?: string;
  rssi?: number;
  lsnr?: number;
  size?: number;
  data: string;
  jver?: number;
  rsig?: Array<Record<string, unknown>>;
  [extra: string]: unknown;
}

export function encodePushData(
  token: number,
  gatewayEui: string,
  json: PushDataJson,
  version: ProtocolVersion = 2,
): Uint8Array {
  const head = header(version, token, PUSH_DATA, 8);
  head.set(euiBytes(gatewayEui), 4);
  return withJson(head, json);
}

export function encodePullResp(token: number, json: unknown, version: ProtocolVersion = 2): Uint8Array {
  return withJson(header(version, token, PULL_RESP, 0), json);
}

export function encodeTxAck(
  token: number,
  gatewayEui: string,
  json?: unknown,
  version: ProtocolVersion = 2,
): Uint8Array {
  const head = header(version, token, TX_ACK, 8);
  head.set(euiBytes(gatewayEui), 4);
  return json === undefined ? head : withJson(head, json);
}

/** An rxpk for a frame, as a virtual forwarder would send it (tests, simulator). */
export function rxpkFor(phyPayload: Uint8Array, meta: Omit<RxpkJson, "data" | "size"> = {}): RxpkJson {
  return { stat: 1, modu: "LORA", ...meta, size: phyPayload.length, data: encodeBase64(phyPayload) };
}
