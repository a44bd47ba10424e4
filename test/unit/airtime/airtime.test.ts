import { describe, expect, it } from "vitest";
import {
  EU868_DATA_RATES,
  eu868DataRateForSf,
  LORAWAN_OVERHEAD_BYTES,
  timeOnAirMs,
  uplinkAirtimeMs,
} from "../../../shared/airtime.ts";

// Reference figures: the AN1200.13 spreadsheet behind The Things Network's airtime calculator
// (docs.google.com/spreadsheets/d/1voGAtQAjC1qBmaVuP1ApNKs1ekgUjavHuVQIXyYSvNc: 13 bytes, SF9, no LDRO:
// 164.864 ms) and the test table of avbentem/airtime-calculator (src/lora/Airtime.test.ts), both with
// preamble 8, explicit header, CRC on; PHY payload sizes in bytes.
describe("timeOnAirMs against published calculator figures", () => {
  const cases: Array<[bytes: number, sf: number, bw: number, ms: number]> = [
    [13, 9, 125, 164.864],
    [14, 7, 125, 46.336],
    [15, 7, 125, 46.336],
    [16, 7, 125, 51.456],
    [25, 7, 125, 61.696],
    [14, 7, 250, 23.168],
    [16, 7, 250, 25.728],
    [25, 7, 250, 30.848],
    [14, 8, 125, 82.432],
    [15, 8, 125, 92.672],
    [25, 8, 125, 113.152],
    [14, 11, 125, 659.456],
    [16, 11, 125, 659.456],
    [25, 11, 125, 823.296],
  ];
  it.each(cases)("%i bytes SF%i BW%i = %f ms", (bytes, sf, bw, ms) => {
    expect(timeOnAirMs(bytes, sf, bw)).toBeCloseTo(ms, 6);
  });

  it("honours the coding rate (4/8)", () => {
    expect(timeOnAirMs(14, 7, 125, { codingRate: 4 })).toBeCloseTo(61.696, 6);
    expect(timeOnAirMs(25, 7, 250, { codingRate: 4 })).toBeCloseTo(43.136, 6);
  });

  it("applies low data rate optimisation only from a 16 ms symbol (SF11/SF12 at 125 kHz)", () => {
    // SF12 at 125 kHz: 13 bytes with LDRO = 23 payload symbols; SF12 at 250 kHz has 16.384 ms symbols too.
    expect(timeOnAirMs(13, 12, 125)).toBeCloseTo(1155.072, 6);
    expect(timeOnAirMs(13, 12, 125, { lowDataRateOptimize: false })).toBeCloseTo(1155.072, 6);
    expect(timeOnAirMs(51 + 13, 12, 125)).toBeCloseTo(2793.472, 6);
    expect(timeOnAirMs(51 + 13, 12, 125, { lowDataRateOptimize: false })).toBeCloseTo(2465.792, 6);
    expect(timeOnAirMs(20, 10, 125)).toBeCloseTo(timeOnAirMs(20, 10, 125, { lowDataRateOptimize: false }), 9);
  });

  it("without payload CRC (downlinks) gives the shorter figures often quoted for 13 bytes", () => {
    // 41.216 ms at SF7 and 991.232 ms at SF12 (without LDRO) are CRC-off numbers, not uplink airtime.
    expect(timeOnAirMs(13, 7, 125, { crc: false })).toBeCloseTo(41.216, 6);
    expect(timeOnAirMs(13, 12, 125, { crc: false, lowDataRateOptimize: false })).toBeCloseTo(991.232, 6);
    expect(timeOnAirMs(13, 7, 125)).toBeCloseTo(46.336, 6);
  });

  it("never goes below preamble + 8 symbols", () => {
    expect(timeOnAirMs(0, 7, 125, { explicitHeader: false, crc: false })).toBeCloseTo(
      (8 + 4.25 + 8) * 1.024,
      6,
    );
  });

  it("rejects impossible parameters", () => {
    expect(() => timeOnAirMs(256, 7)).toThrow(RangeError);
    expect(() => timeOnAirMs(-1, 7)).toThrow(RangeError);
    expect(() => timeOnAirMs(10, 13)).toThrow(RangeError);
    expect(() => timeOnAirMs(10, 7, 0)).toThrow(RangeError);
  });
});

describe("uplinkAirtimeMs", () => {
  it("adds the 13 bytes of LoRaWAN framing", () => {
    expect(LORAWAN_OVERHEAD_BYTES).toBe(13);
    expect(uplinkAirtimeMs(0, 9)).toBeCloseTo(164.864, 6);
    expect(uplinkAirtimeMs(12, 7)).toBeCloseTo(61.696, 6);
  });

  it("reproduces the design brief's Cayenne LPP figure: 288 × 11 bytes at SF9 ≈ 59 s per day", () => {
    expect((288 * uplinkAirtimeMs(11, 9)) / 1000).toBeCloseTo(59.28, 2);
  });

  it("is monotonic in payload size and spreading factor", () => {
    for (const { sf, maxFrmPayload } of EU868_DATA_RATES) {
      for (let n = 1; n <= maxFrmPayload; n++) {
        expect(uplinkAirtimeMs(n, sf)).toBeGreaterThanOrEqual(uplinkAirtimeMs(n - 1, sf));
        if (sf < 12) expect(uplinkAirtimeMs(n, sf + 1)).toBeGreaterThan(uplinkAirtimeMs(n, sf));
      }
    }
  });
});

describe("EU868 data rates", () => {
  it("maps DR0..DR5 to SF12..SF7 with the regional maximum payloads", () => {
    expect(EU868_DATA_RATES.map((r) => [r.dr, r.sf, r.maxFrmPayload])).toEqual([
      [0, 12, 51],
      [1, 11, 51],
      [2, 10, 51],
      [3, 9, 115],
      [4, 8, 222],
      [5, 7, 222],
    ]);
    expect(eu868DataRateForSf(9).dr).toBe(3);
    expect(() => eu868DataRateForSf(6)).toThrow(RangeError);
  });

  it("keeps the largest frame of every data rate under 3 s on air", () => {
    for (const r of EU868_DATA_RATES) expect(uplinkAirtimeMs(r.maxFrmPayload, r.sf)).toBeLessThan(3000);
  });
});
