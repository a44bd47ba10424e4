import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeHexFrame,
  excerpt,
  parseRak3172Line,
  parseRn2483Line,
  Rak3172RxAssembler,
} from "../../../../gateway/radio/modem-lines.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

describe("RN2483", () => {
  it("radio_rx with the manual's two spaces, trailing CR, either hex case", () => {
    expect(parseRn2483Line("radio_rx  40AABBccdd00\r")).toEqual({
      ok: true,
      line: { kind: "rx", payload: bytes(0x40, 0xaa, 0xbb, 0xcc, 0xdd, 0x00) },
    });
    expect(parseRn2483Line("radio_rx 0102")).toEqual({
      ok: true,
      line: { kind: "rx", payload: bytes(1, 2) },
    });
  });

  it("radio_rx errors: odd hex, non-hex, empty, too long", () => {
    expect(parseRn2483Line("radio_rx  ABC")).toEqual({
      ok: false,
      reason: "serial_odd_hex",
      detail: "3 hex digits",
    });
    expect(parseRn2483Line("radio_rx  ZZ")).toMatchObject({ ok: false, reason: "serial_garbage" });
    expect(parseRn2483Line("radio_rx  ")).toMatchObject({ ok: false, reason: "serial_garbage" });
    expect(parseRn2483Line("radio_rx  01 02")).toMatchObject({ ok: false, reason: "serial_garbage" });
    expect(parseRn2483Line(`radio_rx  ${"00".repeat(256)}`)).toMatchObject({
      ok: false,
      reason: "serial_frame_too_long",
    });
    expect(parseRn2483Line(`radio_rx  ${"00".repeat(255)}`)).toMatchObject({ ok: true });
  });

  it("responses: ok, errors, radio_err, integers (snr, mac pause), version", () => {
    expect(parseRn2483Line("ok\r")).toEqual({ ok: true, line: { kind: "ok" } });
    expect(parseRn2483Line("radio_err")).toEqual({ ok: true, line: { kind: "rx_error" } });
    expect(parseRn2483Line("invalid_param")).toEqual({
      ok: true,
      line: { kind: "error", code: "invalid_param" },
    });
    expect(parseRn2483Line("busy")).toEqual({ ok: true, line: { kind: "error", code: "busy" } });
    expect(parseRn2483Line("-12")).toEqual({ ok: true, line: { kind: "integer", value: -12 } });
    expect(parseRn2483Line("4294967245")).toEqual({ ok: true, line: { kind: "integer", value: 4294967245 } });
    expect(parseRn2483Line("RN2483 1.0.5 Oct 31 2018 15:06:52")).toEqual({
      ok: true,
      line: { kind: "version", text: "RN2483 1.0.5 Oct 31 2018 15:06:52" },
    });
    expect(parseRn2483Line("RN2903 1.0.3 Aug 8 2017 15:11:09")).toMatchObject({ line: { kind: "version" } });
    expect(parseRn2483Line("  \r")).toEqual({ ok: true, line: { kind: "empty" } });
  });

  it("garbage", () => {
    for (const g of ["\u0000\u00ff\u00fe", "radio_rxx", "hello", "ok ok", "12ab"]) {
      expect(parseRn2483Line(g)).toMatchObject({ ok: false, reason: "serial_garbage" });
    }
  });
});

describe("RAK3172", () => {
  it("RUI3 single-line P2P event", () => {
    expect(parseRak3172Line("+EVT:RXP2P:-60:11:AABBCCDD\r")).toEqual({
      ok: true,
      line: { kind: "rx", payload: bytes(0xaa, 0xbb, 0xcc, 0xdd), rssi: -60, snr: 11 },
    });
    expect(parseRak3172Line("+EVT:RXP2P:-112:-7:40")).toMatchObject({ line: { rssi: -112, snr: -7 } });
  });

  it("variants: length field, labelled values", () => {
    expect(parseRak3172Line("+EVT:RXP2P:-45:8:2:4865")).toEqual({
      ok: true,
      line: { kind: "rx", payload: bytes(0x48, 0x65), rssi: -45, snr: 8 },
    });
    expect(parseRak3172Line("+EVT:RXP2P:-45:8:3:4865")).toMatchObject({
      ok: false,
      reason: "serial_garbage",
    });
    expect(parseRak3172Line("+EVT:RXP2P:RSSI -52:SNR 8:4865")).toMatchObject({ line: { rssi: -52, snr: 8 } });
  });

  it("RXP2P errors", () => {
    expect(parseRak3172Line("+EVT:RXP2P:-60:11:ABC")).toMatchObject({ ok: false, reason: "serial_odd_hex" });
    expect(parseRak3172Line("+EVT:RXP2P:-60:11")).toMatchObject({ ok: false, reason: "serial_garbage" });
    expect(parseRak3172Line("+EVT:RXP2P:x:11:AA")).toMatchObject({ ok: false, reason: "serial_garbage" });
    expect(parseRak3172Line(`+EVT:RXP2P:-60:11:${"AB".repeat(256)}`)).toMatchObject({
      ok: false,
      reason: "serial_frame_too_long",
    });
  });

  it("pre-RUI3 two-event form", () => {
    expect(parseRak3172Line("+EVT:RXP2P, RSSI -60, SNR 11")).toEqual({
      ok: true,
      line: { kind: "rx_meta", rssi: -60, snr: 11 },
    });
    expect(parseRak3172Line("+EVT:AABBCCDD")).toEqual({
      ok: true,
      line: { kind: "rx_payload", payload: bytes(0xaa, 0xbb, 0xcc, 0xdd) },
    });
  });

  it("status, value and other events", () => {
    expect(parseRak3172Line("OK")).toEqual({ ok: true, line: { kind: "status", status: "OK", ok: true } });
    expect(parseRak3172Line("AT_PARAM_ERROR")).toEqual({
      ok: true,
      line: { kind: "status", status: "AT_PARAM_ERROR", ok: false },
    });
    expect(parseRak3172Line("AT+VER=RUI_4.0.6_RAK3172-E")).toEqual({
      ok: true,
      line: { kind: "value", text: "AT+VER=RUI_4.0.6_RAK3172-E" },
    });
    expect(parseRak3172Line("+EVT:TXP2P DONE")).toEqual({
      ok: true,
      line: { kind: "event", text: "TXP2P DONE" },
    });
    expect(parseRak3172Line("\u0001\u00ff")).toMatchObject({ ok: false, reason: "serial_garbage" });
  });

  it("assembler pairs the pre-RUI3 events and passes RUI3 events through", () => {
    const a = new Rak3172RxAssembler();
    const line = (s: string) => {
      const r = parseRak3172Line(s);
      if (!r.ok) throw new Error(r.detail);
      return r.line;
    };
    expect(a.push(line("+EVT:RXP2P, RSSI -60, SNR 11"))).toBeUndefined();
    expect(a.push(line(""))).toBeUndefined();
    expect(a.push(line("+EVT:0102"))).toEqual({ payload: bytes(1, 2), rssi: -60, snr: 11 });
    // Without a header: a frame without signal values.
    expect(a.push(line("+EVT:0304"))).toEqual({ payload: bytes(3, 4) });
    // A header followed by something else is forgotten.
    a.push(line("+EVT:RXP2P, RSSI -70, SNR 2"));
    a.push(line("+EVT:TXP2P DONE"));
    expect(a.push(line("+EVT:05"))).toEqual({ payload: bytes(5) });
    expect(a.push(line("+EVT:RXP2P:-1:2:06"))).toEqual({ kind: "rx", payload: bytes(6), rssi: -1, snr: 2 });
  });
});

describe("helpers", () => {
  it("decodeHexFrame", () => {
    expect(decodeHexFrame("00ff")).toEqual({ ok: true, bytes: bytes(0, 255) });
    expect(decodeHexFrame("0")).toMatchObject({ ok: false, reason: "serial_odd_hex" });
  });

  it("excerpt shortens and escapes", () => {
    expect(excerpt("a\u0000b")).toBe("a\\u0000b");
    expect(excerpt("x".repeat(100), 4)).toBe("xxxx…");
  });

  it("never throws on arbitrary lines", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (s) => {
        expect(typeof parseRn2483Line(s).ok).toBe("boolean");
        expect(typeof parseRak3172Line(s).ok).toBe("boolean");
        expect(typeof parseRn2483Line(`radio_rx  ${s}`).ok).toBe("boolean");
        expect(typeof parseRak3172Line(`+EVT:RXP2P:${s}`).ok).toBe("boolean");
      }),
    );
  });
});
