import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeBase64,
  encodePullAck,
  encodePullData,
  encodePullResp,
  encodePushAck,
  encodePushData,
  encodeTxAck,
  GPS_EPOCH_UNIX_MS,
  gpsToUnixMs,
  normalizeEui,
  type ParseResult,
  parseDatagram,
  parseUtcTime,
  rxpkFor,
  type SemtechPacket,
  unixToGpsMs,
} from "../../../../gateway/radio/semtech-udp-codec.ts";

const EUI = "0102030405060708";
const EUI_BYTES = [1, 2, 3, 4, 5, 6, 7, 8];

/** Header bytes + JSON text, as a forwarder puts them on the wire. */
function datagram(version: number, token: [number, number], id: number, json?: string, eui = EUI_BYTES) {
  const body = json === undefined ? [] : [...new TextEncoder().encode(json)];
  return Uint8Array.from([version, ...token, id, ...eui, ...body]);
}

function packet(r: ParseResult): SemtechPacket {
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.detail}`);
  return r.packet;
}

function pushData(r: ParseResult) {
  const p = packet(r);
  if (p.type !== "push_data") throw new Error(`expected push_data, got ${p.type}`);
  return p;
}

describe("header", () => {
  it("parses the minimal PUSH_DATA of chirpstack-mqtt-forwarder's test (`{}` body)", () => {
    const p = pushData(parseDatagram(Uint8Array.from([2, 123, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 123, 125])));
    expect(p).toEqual({
      type: "push_data",
      version: 2,
      token: 0x7b00,
      gatewayEui: EUI,
      rxpk: [],
      rejected: [],
    });
  });

  it("accepts protocol versions 1 and 2 and rejects others", () => {
    expect(packet(parseDatagram(datagram(1, [0, 1], 0x02))).version).toBe(1);
    expect(packet(parseDatagram(datagram(2, [0, 1], 0x02))).version).toBe(2);
    for (const v of [0, 3, 0xff]) {
      expect(parseDatagram(datagram(v, [0, 1], 0x02))).toMatchObject({
        ok: false,
        reason: "udp_unknown_version",
      });
    }
  });

  it("rejects unknown identifiers", () => {
    expect(parseDatagram(Uint8Array.from([2, 0, 0, 0x06]))).toMatchObject({
      ok: false,
      reason: "udp_unknown_identifier",
      detail: "identifier 0x06",
    });
  });

  it("rejects short datagrams", () => {
    expect(parseDatagram(new Uint8Array(0))).toMatchObject({ ok: false, reason: "udp_too_short" });
    expect(parseDatagram(Uint8Array.from([2, 0, 0]))).toMatchObject({ ok: false, reason: "udp_too_short" });
    // PULL_DATA needs the 8-byte EUI.
    expect(parseDatagram(Uint8Array.from([2, 0, 0, 2, 1, 2, 3]))).toMatchObject({
      ok: false,
      reason: "udp_too_short",
    });
  });

  it("reads the gateway EUI as lowercase hex and the token big-endian", () => {
    const p = packet(
      parseDatagram(datagram(2, [0xab, 0xcd], 0x02, undefined, [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 1])),
    );
    expect(p).toEqual({ type: "pull_data", version: 2, token: 0xabcd, gatewayEui: "aabbccddeeff0001" });
  });

  it("parses server-to-gateway packets too (for virtual forwarders)", () => {
    expect(packet(parseDatagram(Uint8Array.from([2, 0x12, 0x34, 0x01])))).toEqual({
      type: "push_ack",
      version: 2,
      token: 0x1234,
    });
    expect(packet(parseDatagram(Uint8Array.from([1, 0x12, 0x34, 0x04])))).toEqual({
      type: "pull_ack",
      version: 1,
      token: 0x1234,
    });
    const resp = packet(parseDatagram(encodePullResp(7, { txpk: { imme: true } })));
    expect(resp).toEqual({ type: "pull_resp", version: 2, token: 7, json: { txpk: { imme: true } } });
  });

  it("parses TX_ACK with and without JSON", () => {
    expect(packet(parseDatagram(datagram(2, [0, 9], 0x05)))).toEqual({
      type: "tx_ack",
      version: 2,
      token: 9,
      gatewayEui: EUI,
    });
    expect(
      packet(parseDatagram(datagram(2, [0, 9], 0x05, '{"txpk_ack":{"error":"TOO_LATE"}}'))),
    ).toMatchObject({
      json: { txpk_ack: { error: "TOO_LATE" } },
    });
  });
});

describe("PUSH_DATA JSON", () => {
  it("decodes the rxpk example of PROTOCOL.TXT (v1: LoRa, FSK, unpadded and URL-safe base64)", () => {
    const json = `{"rxpk":[
      {"time":"2013-03-31T16:21:17.528002Z","tmst":3512348611,"chan":2,"rfch":0,"freq":866.349812,"stat":1,
       "modu":"LORA","datr":"SF7BW125","codr":"4/6","rssi":-35,"lsnr":5.1,"size":32,
       "data":"-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84"},
      {"time":"2013-03-31T16:21:17.530974Z","tmst":3512348514,"chan":9,"rfch":1,"freq":869.1,"stat":1,
       "modu":"FSK","datr":50000,"rssi":-75,"size":16,"data":"VEVTVF9QQUNLRVRfMTIzNA=="},
      {"time":"2013-03-31T16:21:17.532038Z","tmst":3316387610,"chan":0,"rfch":0,"freq":863.00981,"stat":1,
       "modu":"LORA","datr":"SF10BW125","codr":"4/7","rssi":-38,"lsnr":5.5,"size":32,
       "data":"ysgRl452xNLep9S1NTIg2lomKDxUgn3DJ7DE+b00Ass"}]}`;
    const p = pushData(parseDatagram(datagram(1, [0x3a, 0x01], 0x00, json)));
    expect(p.rejected).toEqual([]);
    expect(p.rxpk).toHaveLength(3);
    const [a, b, c] = p.rxpk;
    expect(a).toMatchObject({
      crc: "ok",
      timeMs: Date.UTC(2013, 2, 31, 16, 21, 17, 528),
      tmst: 3512348611,
      frequencyMhz: 866.349812,
      channel: 2,
      rfChain: 0,
      modulation: "LORA",
      dataRate: "SF7BW125",
      codingRate: "4/6",
      rssi: -35,
      snr: 5.1,
    });
    expect(a?.phyPayload).toHaveLength(32);
    expect(a?.gpsTimeMs).toBeUndefined();
    expect(b?.dataRate).toBe("FSK50000");
    expect(new TextDecoder().decode(b?.phyPayload)).toBe("TEST_PACKET_1234");
    expect(c?.phyPayload).toHaveLength(32);
  });

  it("decodes the protocol v2 example (jver 2, rsig per antenna): best rssi/lsnr when top-level missing", () => {
    const json = `{"rxpk":[{"jver":2,"time":"2013-03-31T16:21:17.530974Z","tmst":3512348514,"freq":869.1,"stat":1,
      "modu":"LORA","datr":"SF7BW125","codr":"4/5","size":16,"data":"VEVTVF9QQUNLRVRfMTIzNA==",
      "rsig":[{"ant":0,"chan":9,"rssic":-90,"lsnr":-3,"ftime":123456,"rssis":-90,"rssisd":0,"foff":-7089,"ftstat":0},
              {"ant":1,"chan":8,"rssic":-89,"lsnr":-2.8,"ftime":123489,"rssis":-88,"rssisd":0,"foff":-7089,"ftstat":0}]}]}`;
    const [rx] = pushData(parseDatagram(datagram(2, [0, 1], 0x00, json))).rxpk;
    expect(rx).toMatchObject({ rssi: -88, snr: -2.8, channel: 8 });
  });

  it("prefers top-level rssi/lsnr over rsig", () => {
    const rx = rxpkFor(Uint8Array.of(1, 2, 3), {
      rssi: -50,
      lsnr: 7,
      rsig: [{ ant: 0, chan: 1, rssic: -40, lsnr: 9 }],
    });
    const [out] = pushData(parseDatagram(encodePushData(1, EUI, { rxpk: [rx] }))).rxpk;
    expect(out).toMatchObject({ rssi: -50, snr: 7, channel: 1 });
  });

  it("converts tmms (GPS ms) to Unix ms with 18 leap seconds", () => {
    // 2024-01-01T00:00:00Z is GPS second 1388102418 (1704067200 − 315964800 + 18).
    const json = `{"rxpk":[{"tmms":1388102418000,"data":"AQID","size":3,"stat":1}]}`;
    const [rx] = pushData(parseDatagram(datagram(2, [0, 1], 0x00, json))).rxpk;
    expect(rx?.gpsTimeMs).toBe(Date.UTC(2024, 0, 1));
  });

  it("ignores an implausible tmms (a forwarder without fix counting from zero)", () => {
    const json = `{"rxpk":[{"tmms":123456,"data":"AQID"}]}`;
    expect(pushData(parseDatagram(datagram(2, [0, 1], 0x00, json))).rxpk[0]?.gpsTimeMs).toBeUndefined();
  });

  it("tolerates missing and extra fields: only data is required", () => {
    const json = `{"rxpk":[{"data":"AQID","brd":3,"meta":{"x":"y"},"foo":[1,2]}],"extra":true,"stat":{"bar":1}}`;
    const p = pushData(parseDatagram(datagram(2, [0, 1], 0x00, json)));
    expect(p.rxpk).toEqual([{ phyPayload: Uint8Array.of(1, 2, 3), crc: "unknown" }]);
    expect(p.stat).toEqual({});
  });

  it("ignores wrongly typed metadata instead of failing the frame", () => {
    const json = `{"rxpk":[{"data":"AQID","rssi":"-50","tmst":-1,"freq":null,"chan":1.5,"time":"yesterday"}]}`;
    const [rx] = pushData(parseDatagram(datagram(2, [0, 1], 0x00, json))).rxpk;
    expect(rx).toEqual({ phyPayload: Uint8Array.of(1, 2, 3), crc: "unknown" });
  });

  it("keeps stat = 0 (no CRC) and rejects stat = -1 (CRC failed) with its own reason", () => {
    const json = `{"rxpk":[{"stat":0,"data":"AQ=="},{"stat":-1,"data":"Ag=="},{"stat":1,"data":"Aw=="}]}`;
    const p = pushData(parseDatagram(datagram(2, [0, 1], 0x00, json)));
    expect(p.rxpk.map((r) => [r.crc, r.phyPayload[0]])).toEqual([
      ["none", 1],
      ["ok", 3],
    ]);
    expect(p.rejected).toEqual([{ index: 1, reason: "udp_crc_bad", detail: "rxpk[1] CRC failed" }]);
  });

  it("rejects bad base64, size mismatch and missing data per rxpk, keeping the good ones", () => {
    const json = `{"rxpk":[{"data":"AQ*D"},{"data":"AQID","size":4},{"size":3},"x",{"data":"A"},{"data":"AQID","size":3}]}`;
    const p = pushData(parseDatagram(datagram(2, [0, 1], 0x00, json)));
    expect(p.rxpk).toHaveLength(1);
    expect(p.rejected.map((r) => [r.index, r.reason])).toEqual([
      [0, "udp_bad_base64"],
      [1, "udp_size_mismatch"],
      [2, "udp_bad_rxpk"],
      [3, "udp_bad_rxpk"],
      [4, "udp_bad_base64"],
    ]);
  });

  it("parses a stat-only datagram (expanded time format)", () => {
    const json = `{"stat":{"time":"2014-01-12 08:59:28 GMT","lati":46.24,"long":3.2523,"alti":145,"rxnb":2,
      "rxok":2,"rxfw":2,"ackr":100.0,"dwnb":2,"txnb":2,"temp":23,"hal":"3.0.0"}}`;
    const p = pushData(parseDatagram(datagram(1, [0, 1], 0x00, json)));
    expect(p.rxpk).toEqual([]);
    expect(p.stat).toEqual({
      time: "2014-01-12 08:59:28 GMT",
      timeMs: Date.UTC(2014, 0, 12, 8, 59, 28),
      latitude: 46.24,
      longitude: 3.2523,
      altitude: 145,
      rxnb: 2,
      rxok: 2,
      rxfw: 2,
      ackr: 100,
      dwnb: 2,
      txnb: 2,
      temp: 23,
    });
  });

  it("distinguishes bad JSON from a JSON value of the wrong shape", () => {
    expect(parseDatagram(datagram(2, [0, 1], 0x00, '{"rxpk":['))).toMatchObject({
      ok: false,
      reason: "udp_bad_json",
      gatewayEui: EUI,
    });
    expect(parseDatagram(datagram(2, [0, 1], 0x00))).toMatchObject({ ok: false, reason: "udp_bad_json" });
    expect(parseDatagram(datagram(2, [0, 1], 0x00, "[1,2]"))).toMatchObject({
      ok: false,
      reason: "udp_malformed",
    });
    expect(parseDatagram(datagram(2, [0, 1], 0x00, '{"rxpk":{}}'))).toMatchObject({
      ok: false,
      reason: "udp_malformed",
    });
  });

  it("accepts a JSON body terminated by NUL or whitespace", () => {
    const bytes = Uint8Array.from([...datagram(2, [0, 1], 0x00, '{"rxpk":[{"data":"AQ=="}]}\n'), 0]);
    expect(pushData(parseDatagram(bytes)).rxpk).toHaveLength(1);
  });

  it("never throws, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = parseDatagram(bytes);
        expect(typeof r.ok).toBe("boolean");
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom(0, 2, 5), fc.string({ maxLength: 200 }), (id, text) => {
        const r = parseDatagram(datagram(2, [0, 1], id, text));
        expect(typeof r.ok).toBe("boolean");
      }),
    );
  });
});

describe("encoders", () => {
  it("PUSH_ACK and PULL_ACK echo version and token", () => {
    expect([...encodePushAck(0xabcd, 2)]).toEqual([2, 0xab, 0xcd, 0x01]);
    expect([...encodePushAck(0x0001, 1)]).toEqual([1, 0x00, 0x01, 0x01]);
    expect([...encodePullAck(0x1234, 2)]).toEqual([2, 0x12, 0x34, 0x04]);
  });

  it("PULL_DATA: 12 bytes", () => {
    expect([...encodePullData(0x0102, "aa:bb:cc:dd:ee:ff:00:11", 1)]).toEqual([
      1, 0x01, 0x02, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11,
    ]);
  });

  it("PUSH_DATA round-trips through parseDatagram", () => {
    const phy = Uint8Array.from({ length: 23 }, (_, i) => i * 7);
    const bytes = encodePushData(
      0xbeef,
      EUI,
      { rxpk: [rxpkFor(phy, { tmst: 42, freq: 868.1, datr: "SF9BW125", rssi: -80, lsnr: 3.5, chan: 0 })] },
      1,
    );
    expect([...bytes.subarray(0, 12)]).toEqual([1, 0xbe, 0xef, 0x00, ...EUI_BYTES]);
    const p = pushData(parseDatagram(bytes));
    expect(p.token).toBe(0xbeef);
    expect(p.rxpk[0]).toEqual({
      phyPayload: phy,
      crc: "ok",
      tmst: 42,
      frequencyMhz: 868.1,
      modulation: "LORA",
      dataRate: "SF9BW125",
      rssi: -80,
      snr: 3.5,
      channel: 0,
    });
  });

  it("TX_ACK without and with JSON", () => {
    expect(encodeTxAck(5, EUI)).toHaveLength(12);
    expect(packet(parseDatagram(encodeTxAck(5, EUI, { txpk_ack: { error: "NONE" } })))).toMatchObject({
      type: "tx_ack",
      json: { txpk_ack: { error: "NONE" } },
    });
  });

  it("rejects out-of-range tokens and malformed EUIs", () => {
    expect(() => encodePushAck(0x10000)).toThrow(RangeError);
    expect(() => encodePullData(1, "0102")).toThrow(RangeError);
  });
});

describe("helpers", () => {
  it("GPS ↔ Unix: known instants", () => {
    expect(GPS_EPOCH_UNIX_MS).toBe(315964800000);
    expect(gpsToUnixMs(0)).toBe(GPS_EPOCH_UNIX_MS);
    // GPS second 1e9 was 2011-09-14T01:46:25Z (15 leap seconds then).
    expect(gpsToUnixMs(1e12)).toBe(Date.UTC(2011, 8, 14, 1, 46, 25));
    // Across the 2016-12-31 leap second: one GPS second apart on either side of the boundary.
    const before = unixToGpsMs(Date.UTC(2016, 11, 31, 23, 59, 59));
    expect(gpsToUnixMs(before)).toBe(Date.UTC(2016, 11, 31, 23, 59, 59));
    expect(gpsToUnixMs(before + 2000)).toBe(Date.UTC(2017, 0, 1));
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) }), (unix) => {
        expect(gpsToUnixMs(unixToGpsMs(unix))).toBe(unix);
      }),
    );
  });

  it("parseUtcTime: compact, expanded, offsets; undefined for garbage", () => {
    expect(parseUtcTime("2013-03-31T16:21:17.528002Z")).toBe(Date.UTC(2013, 2, 31, 16, 21, 17, 528));
    expect(parseUtcTime("2014-01-12 08:59:28 GMT")).toBe(Date.UTC(2014, 0, 12, 8, 59, 28));
    expect(parseUtcTime("2014-01-12 08:59:28")).toBe(Date.UTC(2014, 0, 12, 8, 59, 28));
    expect(parseUtcTime("2014-01-12T10:59:28+02:00")).toBe(Date.UTC(2014, 0, 12, 8, 59, 28));
    expect(parseUtcTime("2014-13-12T10:59:28Z")).toBeUndefined();
    expect(parseUtcTime("soon")).toBeUndefined();
  });

  it("decodeBase64 is strict about alphabet and padding", () => {
    expect(decodeBase64("AQID")).toEqual(Uint8Array.of(1, 2, 3));
    expect(decodeBase64("AQI")).toEqual(Uint8Array.of(1, 2));
    expect(decodeBase64("AQI=")).toEqual(Uint8Array.of(1, 2));
    expect(decodeBase64("")).toEqual(new Uint8Array(0));
    for (const bad of ["A", "AQ=I", "AQI==", "AQ I", "AQ!D", "AQID===="])
      expect(decodeBase64(bad)).toBeUndefined();
  });

  it("normalizeEui", () => {
    expect(normalizeEui("AA-BB-CC-DD-EE-FF-00-11")).toBe("aabbccddeeff0011");
    expect(normalizeEui("aabbccddeeff001")).toBeUndefined();
  });
});
