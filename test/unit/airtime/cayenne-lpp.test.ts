import { describe, expect, it } from "vitest";
import { uplinkAirtimeMs } from "../../../shared/airtime.ts";
import {
  encodeLppClimate,
  LPP_CLIMATE_BYTES,
  lppAnalogInput,
  lppHumidity,
  lppTemperature,
} from "../../../shared/cayenne-lpp.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").toUpperCase();

// Byte vectors from the Cayenne LPP documentation (myDevicesIoT/CayenneLPP README, "Examples") and the
// reference C++ encoder's tests (tests-cayennelpp.cpp: rounding to the nearest 0.1 °C, 47 % → 5E).
describe("Cayenne LPP items", () => {
  it("encodes temperatures in 0.1 °C, big-endian two's complement", () => {
    expect(hex(lppTemperature(3, 2720))).toBe("03670110");
    expect(hex(lppTemperature(5, 2550))).toBe("056700FF");
    expect(hex(lppTemperature(1, -410))).toBe("0167FFD7");
    expect(hex(lppTemperature(1, -3340))).toBe("0167FEB2");
  });

  it("rounds 0.01 °C readings to the nearest 0.1 °C, symmetrically around zero", () => {
    expect(hex(lppTemperature(1, 2320))).toBe("016700E8");
    expect(hex(lppTemperature(1, 2315))).toBe("016700E8");
    expect(hex(lppTemperature(1, 2324))).toBe("016700E8");
    expect(hex(lppTemperature(1, -5))).toBe("0167FFFF");
    expect(hex(lppTemperature(1, 5))).toBe("01670001");
  });

  it("encodes relative humidity in 0.5 % steps, one unsigned byte", () => {
    expect(hex(lppHumidity(2, 4700))).toBe("02685E");
    expect(hex(lppHumidity(2, 10000))).toBe("0268C8");
    expect(hex(lppHumidity(2, 0))).toBe("026800");
    expect(hex(lppHumidity(2, 4724))).toBe("02685E");
    expect(hex(lppHumidity(2, 4725))).toBe("02685F");
  });

  it("encodes the battery as an analog input in 0.01 V", () => {
    expect(hex(lppAnalogInput(3, 3700))).toBe("03020172");
    expect(hex(lppAnalogInput(3, 4096))).toBe("0302019A");
  });

  it("rejects channels outside one byte", () => {
    expect(() => lppTemperature(256, 0)).toThrow(RangeError);
    expect(() => lppHumidity(-1, 0)).toThrow(RangeError);
  });
});

describe("encodeLppClimate", () => {
  it("packs temperature, humidity and battery into the 11 bytes the design brief quotes", () => {
    const bytes = encodeLppClimate({ temperatureCenti: 2156, humidityCenti: 6312, batteryMv: 3912 });
    expect(bytes.length).toBe(LPP_CLIMATE_BYTES);
    expect(hex(bytes)).toBe("016700D8" + "02687E" + "03020187");
  });

  it("costs about 59 s of airtime per day at SF9 for one reading every 5 minutes", () => {
    const perDay = (288 * uplinkAirtimeMs(LPP_CLIMATE_BYTES, 9)) / 1000;
    expect(perDay).toBeGreaterThan(58);
    expect(perDay).toBeLessThan(60);
  });
});
