// Pure line codecs for serial LoRa modems: one text line in (without its line ending), a typed value out.
// No I/O; never throws on input.
//
// Microchip RN2483 / RN2903, "LoRa Technology Module Command Reference User's Guide" (DS40001784):
//   `radio rx 0` answers `ok` (or `invalid_param` / `busy`), then later `radio_rx  <hex>` — two spaces
//   in the manual and in the firmware's output — or `radio_err` (CRC error, watchdog time-out).
//   `radio get snr` answers a signed decimal (-128..127), `mac pause` an unsigned decimal (ms),
//   `sys get ver` e.g. `RN2483 1.0.5 Oct 31 2018 15:06:52`, also printed by the module after a reset.
// RAKwireless RAK3172, RUI3 AT command manual and the RAK3172 AT migration guide:
//   `AT+PRECV=65534` (continuous P2P receive until `AT+PRECV=0`) answers `OK`, then each packet as
//   `+EVT:RXP2P:<rssi>:<snr>:<hex>`. Firmware before RUI3 (v1.0.4 and older) printed two events instead:
//   `+EVT:RXP2P, RSSI -60, SNR 11` followed by `+EVT:<hex>`. Status lines: OK, AT_ERROR, AT_PARAM_ERROR,
//   AT_BUSY_ERROR, AT_TEST_PARAM_OVERFLOW, AT_NO_CLASSB_ENABLE, AT_NO_NETWORK_JOINED, AT_RX_ERROR, …

/** LoRa PHY payloads are at most 255 bytes. */
export const MAX_FRAME_BYTES = 255;

export type LineErrorReason = "serial_garbage" | "serial_odd_hex" | "serial_frame_too_long";

export interface LineError {
  ok: false;
  reason: LineErrorReason;
  detail: string;
}

export type Rn2483Line =
  | { kind: "rx"; payload: Uint8Array }
  | { kind: "rx_error" }
  | { kind: "ok" }
  | { kind: "error"; code: "invalid_param" | "busy" | "denied" | "not_joined" | "no_free_ch" | "silent" }
  | { kind: "integer"; value: number }
  | { kind: "version"; text: string }
  | { kind: "empty" };

export type Rak3172Line =
  | { kind: "rx"; payload: Uint8Array; rssi?: number; snr?: number }
  | { kind: "rx_meta"; rssi?: number; snr?: number }
  | { kind: "rx_payload"; payload: Uint8Array }
  | { kind: "event"; text: string }
  | { kind: "status"; status: string; ok: boolean }
  | { kind: "value"; text: string }
  | { kind: "empty" };

export type LineResult<T> = { ok: true; line: T } | LineError;

const garbage = (detail: string): LineError => ({ ok: false, reason: "serial_garbage", detail });

/** Shortens a line for a log message and makes control characters visible. */
export function excerpt(line: string, max = 48): string {
  const s = JSON.stringify(line.length > max ? `${line.slice(0, max)}…` : line);
  return s.slice(1, -1);
}

/** Decodes an even-length hex string (either case) into bytes; at most MAX_FRAME_BYTES. */
export function decodeHexFrame(hex: string): { ok: true; bytes: Uint8Array } | LineError {
  if (hex.length === 0) return garbage("empty payload");
  if (!/^[0-9a-fA-F]+$/.test(hex)) return garbage(`payload is not hex: ${excerpt(hex)}`);
  if (hex.length % 2 !== 0)
    return { ok: false, reason: "serial_odd_hex", detail: `${hex.length} hex digits` };
  if (hex.length / 2 > MAX_FRAME_BYTES) {
    return {
      ok: false,
      reason: "serial_frame_too_long",
      detail: `${hex.length / 2} bytes > ${MAX_FRAME_BYTES}`,
    };
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return { ok: true, bytes };
}

const RN_ERRORS = new Set(["invalid_param", "busy", "denied", "not_joined", "no_free_ch", "silent"]);

export function parseRn2483Line(raw: string): LineResult<Rn2483Line> {
  const line = raw.replace(/\r$/, "").trim();
  if (line === "") return { ok: true, line: { kind: "empty" } };
  if (line.startsWith("radio_rx")) {
    // The manual prints two spaces; accept any run of whitespace.
    const m = /^radio_rx\s+(\S+)$/.exec(line);
    if (!m) return garbage(`malformed radio_rx: ${excerpt(line)}`);
    const hex = decodeHexFrame(m[1]!);
    return hex.ok ? { ok: true, line: { kind: "rx", payload: hex.bytes } } : hex;
  }
  if (line === "radio_err") return { ok: true, line: { kind: "rx_error" } };
  if (line === "ok") return { ok: true, line: { kind: "ok" } };
  if (RN_ERRORS.has(line)) {
    return {
      ok: true,
      line: { kind: "error", code: line as Extract<Rn2483Line, { kind: "error" }>["code"] },
    };
  }
  if (/^-?\d{1,10}$/.test(line)) return { ok: true, line: { kind: "integer", value: Number(line) } };
  if (/^RN2[49]\d3\s/.test(line)) return { ok: true, line: { kind: "version", text: line } };
  return garbage(`unexpected line: ${excerpt(line)}`);
}

const RAK_STATUS_RE = /^(OK|AT_[A-Z_]+|ERROR)$/;

export function parseRak3172Line(raw: string): LineResult<Rak3172Line> {
  const line = raw.replace(/\r$/, "").trim();
  if (line === "") return { ok: true, line: { kind: "empty" } };
  if (RAK_STATUS_RE.test(line))
    return { ok: true, line: { kind: "status", status: line, ok: line === "OK" } };
  if (line.startsWith("+EVT:")) return parseRakEvent(line, line.slice(5));
  // A value printed before the status line of a query (e.g. `AT+VER=RUI_4.0.6_RAK3172-E`), or the
  // echo of a command when echo is on. Printable ASCII only: anything else is noise on the wire.
  if (/^[\x20-\x7e]+$/.test(line)) return { ok: true, line: { kind: "value", text: line } };
  return garbage(`unexpected line: ${excerpt(line)}`);
}

function parseRakEvent(line: string, body: string): LineResult<Rak3172Line> {
  if (body.startsWith("RXP2P:")) {
    // RUI3: +EVT:RXP2P:<rssi>:<snr>:<hex>. Some builds put the length before the payload
    // (<rssi>:<snr>:<len>:<hex>) or label the values (RSSI -52:SNR 8); both are accepted.
    const parts = body.slice(6).split(":");
    if (parts.length !== 3 && parts.length !== 4) return garbage(`malformed RXP2P event: ${excerpt(line)}`);
    const rssi = signedNumber(parts[0]!, "RSSI");
    const snr = signedNumber(parts[1]!, "SNR");
    if (rssi === undefined || snr === undefined)
      return garbage(`bad RSSI/SNR in RXP2P event: ${excerpt(line)}`);
    const hex = decodeHexFrame(parts[parts.length - 1]!.trim());
    if (!hex.ok) return hex;
    if (parts.length === 4) {
      const len = parts[2]!.trim();
      if (!/^\d{1,3}$/.test(len) || Number(len) !== hex.bytes.length) {
        return garbage(`RXP2P length ${excerpt(len)} does not match ${hex.bytes.length} payload bytes`);
      }
    }
    return { ok: true, line: { kind: "rx", payload: hex.bytes, rssi, snr } };
  }
  if (body.startsWith("RXP2P,") || body === "RXP2P") {
    // Pre-RUI3 firmware: +EVT:RXP2P, RSSI -60, SNR 11 — the payload follows as its own event.
    const rssi = /RSSI\s*(-?\d+(?:\.\d+)?)/.exec(body)?.[1];
    const snr = /SNR\s*(-?\d+(?:\.\d+)?)/.exec(body)?.[1];
    return {
      ok: true,
      line: {
        kind: "rx_meta",
        ...(rssi !== undefined && { rssi: Number(rssi) }),
        ...(snr !== undefined && { snr: Number(snr) }),
      },
    };
  }
  if (/^[0-9a-fA-F]+$/.test(body)) {
    const hex = decodeHexFrame(body);
    return hex.ok ? { ok: true, line: { kind: "rx_payload", payload: hex.bytes } } : hex;
  }
  return { ok: true, line: { kind: "event", text: body } };
}

function signedNumber(s: string, label: string): number | undefined {
  const t = s.trim().replace(new RegExp(`^${label}\\s*`, "i"), "");
  return /^-?\d+(?:\.\d+)?$/.test(t) ? Number(t) : undefined;
}

/**
 * Pairs the two events of pre-RUI3 RAK3172 firmware (`+EVT:RXP2P, RSSI …, SNR …` then `+EVT:<hex>`)
 * into one frame; RUI3's single-line event passes straight through. A payload event without a preceding
 * header still yields a frame (without RSSI/SNR). Pure state machine: no timers, no I/O.
 */
export class Rak3172RxAssembler {
  private meta: { rssi?: number; snr?: number } | undefined;

  /** Returns a frame when `line` completes one, otherwise undefined. */
  push(line: Rak3172Line): { payload: Uint8Array; rssi?: number; snr?: number } | undefined {
    switch (line.kind) {
      case "rx":
        this.meta = undefined;
        return line;
      case "rx_meta":
        this.meta = { ...line };
        return undefined;
      case "rx_payload": {
        const meta = this.meta ?? {};
        this.meta = undefined;
        return {
          payload: line.payload,
          ...(meta.rssi !== undefined && { rssi: meta.rssi }),
          ...(meta.snr !== undefined && { snr: meta.snr }),
        };
      }
      case "empty":
        return undefined;
      default:
        this.meta = undefined;
        return undefined;
    }
  }
}
