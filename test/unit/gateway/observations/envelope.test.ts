import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildObservationMessages,
  createTopics,
  type DeviceInfo,
  type ObservationEnvelope,
  observationId,
} from "../../../../gateway/observations/index.ts";
import {
  type BikeBatch,
  type ClimateBatch,
  decodeUplink,
  encodeBike,
  encodeClimate,
  encodeStatus,
  packFwVersion,
} from "../../../../shared/payload/index.ts";

const DEVICE: DeviceInfo = {
  devEui: "70B3D57ED0061234",
  name: "bahnhofstrasse-12",
  location: { lat: 52.37, lon: 9.73, heightM: 4.5, description: "lamp post, east side" },
  sensors: ["climate", "bike"],
  licence: "CC-BY-4.0",
  directionAB: "northbound",
};
const UPLINK = { devEui: "70b3d57ed0061234", fcnt32: 0x1002a, fport: 1 };
// 2025-06-01T10:15:02.400Z: the uplink was built 2.4 s after a quarter hour.
const T = Date.UTC(2025, 5, 1, 10, 15, 2, 400);
const TIMES = { uplinkTimeMs: T, resultTimeMs: T + 150 };

const parse = (payload: string) => JSON.parse(payload) as ObservationEnvelope;

function climate(
  temperatures: (number | null)[],
  humidities: (number | null)[],
  batteryMv: number | null = 3012,
) {
  return decodeUplink(1, encodeClimate({ intervalMin: 5, ageS: 10, batteryMv, temperatures, humidities }));
}

describe("observationId", () => {
  it("is DevEUI, FCnt32 as 8 hex digits, datastream and sample index", () => {
    expect(observationId("70b3d57ed0061234", 42, "air_temperature", 3)).toBe(
      "70B3D57ED0061234-0000002A-air_temperature-3",
    );
    expect(observationId("70B3D57ED0061234", 0xffffffff, "bicycles_ab", 0)).toBe(
      "70B3D57ED0061234-FFFFFFFF-bicycles_ab-0",
    );
  });

  it("rejects counters outside 32 bits", () => {
    expect(() => observationId("70B3D57ED0061234", 2 ** 32, "x", 0)).toThrow(RangeError);
    expect(() => observationId("70B3D57ED0061234", -1, "x", 0)).toThrow(RangeError);
  });
});

describe("climate batch", () => {
  it("gives one observation per valid sample and datastream, oldest first", () => {
    const msgs = buildObservationMessages(
      UPLINK,
      climate([2157, 2160, 2149], [5512, 5530, 5601]),
      DEVICE,
      TIMES,
    );
    const open = msgs.filter((m) => m.topic.includes("/observations/"));
    expect(open.map((m) => m.id)).toEqual([
      "70B3D57ED0061234-0001002A-air_temperature-0",
      "70B3D57ED0061234-0001002A-relative_humidity-0",
      "70B3D57ED0061234-0001002A-air_temperature-1",
      "70B3D57ED0061234-0001002A-relative_humidity-1",
      "70B3D57ED0061234-0001002A-air_temperature-2",
      "70B3D57ED0061234-0001002A-relative_humidity-2",
    ]);
    for (const m of msgs) {
      expect(m.qos).toBe(1);
      expect(m.deviceKey).toBe("70B3D57ED0061234");
      expect(parse(m.payload)["@iot.id"]).toBe(m.id);
    }
  });

  it("builds the documented envelope for a temperature sample", () => {
    const msgs = buildObservationMessages(
      UPLINK,
      climate([2157, 2160, 2149], [5512, 5530, 5601]),
      DEVICE,
      TIMES,
    );
    const m = msgs.find((x) => x.id.endsWith("air_temperature-2"))!;
    expect(m.topic).toBe("openherz/v1/observations/70B3D57ED0061234/air_temperature");
    expect(m.retain).toBe(false);
    // Slot 2 (newest) was sampled age_s = 10 s before the uplink: 10:14:52.4 → whole seconds.
    expect(parse(m.payload)).toEqual({
      "@iot.id": "70B3D57ED0061234-0001002A-air_temperature-2",
      phenomenonTime: "2025-06-01T10:14:52Z",
      resultTime: "2025-06-01T10:15:02.550Z",
      result: 21.49,
      unitOfMeasurement: { name: "degree Celsius", symbol: "°C", definition: "ucum:Cel" },
      Datastream: {
        "@iot.id": "70B3D57ED0061234:air_temperature",
        name: "bahnhofstrasse-12 air temperature",
        observedProperty: {
          name: "air temperature",
          definition: "http://vocab.nerc.ac.uk/standard_name/air_temperature/",
          description: "Temperature of the ambient air (CF standard name air_temperature)",
        },
      },
      FeatureOfInterest: {
        name: "bahnhofstrasse-12",
        description: "lamp post, east side",
        encodingType: "application/geo+json",
        feature: { type: "Point", coordinates: [9.73, 52.37, 4.5] },
      },
      parameters: {
        licence: "CC-BY-4.0",
        deviceName: "bahnhofstrasse-12",
        sampleIndex: 2,
        fcnt: 0x1002a,
        intervalS: 300,
      },
    });
    const first = parse(msgs.find((x) => x.id.endsWith("air_temperature-0"))!.payload);
    expect(first.phenomenonTime).toBe("2025-06-01T10:04:52Z"); // 10 + 2·300 s before the uplink
  });

  it("publishes humidity in % with two decimals", () => {
    const msgs = buildObservationMessages(UPLINK, climate([2157], [5512]), DEVICE, TIMES);
    const rh = parse(msgs.find((m) => m.id.endsWith("relative_humidity-0"))!.payload);
    expect(rh.result).toBe(55.12);
    expect(rh.unitOfMeasurement).toEqual({ name: "percent", symbol: "%", definition: "ucum:%" });
  });

  it("skips missing samples and keeps the slot index of the others", () => {
    const msgs = buildObservationMessages(
      UPLINK,
      climate([null, 2160, null], [5512, null, null], null),
      DEVICE,
      TIMES,
    );
    expect(msgs.map((m) => m.id)).toEqual([
      "70B3D57ED0061234-0001002A-relative_humidity-0",
      "70B3D57ED0061234-0001002A-air_temperature-1",
    ]);
  });

  it("sends the battery voltage to the operator topic, never to open data", () => {
    const msgs = buildObservationMessages(UPLINK, climate([2157], [5512], 3012), DEVICE, TIMES);
    const battery = msgs.filter((m) => m.id.includes("battery_voltage"));
    expect(battery).toHaveLength(1);
    expect(battery[0]!.topic).toBe("openherz/v1/operator/nodes/70B3D57ED0061234/battery_voltage");
    const env = parse(battery[0]!.payload);
    expect(env.result).toBe(3.012);
    expect(env.unitOfMeasurement.definition).toBe("ucum:V");
    expect(env.phenomenonTime).toBe("2025-06-01T10:15:02Z");
    for (const m of msgs.filter((x) => x.topic.includes("/observations/")))
      expect(m.payload).not.toContain("battery");
  });

  it("uses the configured topic prefix", () => {
    const topics = createTopics("city/sensors");
    const msgs = buildObservationMessages(UPLINK, climate([2157], [5512]), DEVICE, TIMES, { topics });
    expect(msgs[0]!.topic).toBe("city/sensors/v1/observations/70B3D57ED0061234/air_temperature");
  });

  it("never publishes radio metadata or keys on open-data topics", () => {
    const device = {
      ...DEVICE,
      nwkSKey: "00112233445566778899AABBCCDDEEFF",
      appSKey: "FFEEDDCCBBAA99887766554433221100",
    };
    const msgs = buildObservationMessages(UPLINK, climate([2157], [5512]), device as DeviceInfo, TIMES);
    for (const m of msgs) {
      expect(m.payload).not.toMatch(/rssi|snr|nwkSKey|appSKey|00112233445566778899AABBCCDDEEFF/i);
    }
  });

  it("rejects 1970 and non-finite times (an unsynchronised clock must not reach the topics)", () => {
    const batch = climate([2157], [5512]);
    expect(() =>
      buildObservationMessages(UPLINK, batch, DEVICE, { uplinkTimeMs: 5000, resultTimeMs: T }),
    ).toThrow(RangeError);
    expect(() =>
      buildObservationMessages(UPLINK, batch, DEVICE, { uplinkTimeMs: T, resultTimeMs: Number.NaN }),
    ).toThrow(RangeError);
  });

  it("property: one message per non-null value, deterministic ids, values round-trip", () => {
    const slot = fc.option(fc.integer({ min: -4000, max: 8500 }), { nil: null });
    const hum = fc.option(fc.integer({ min: 0, max: 10000 }), { nil: null });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(slot, hum), { minLength: 1, maxLength: 32 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (slots, fcnt32) => {
          const decoded = climate(
            slots.map((s) => s[0]),
            slots.map((s) => s[1]),
            null,
          ) as ClimateBatch;
          const uplink = { ...UPLINK, fcnt32 };
          const a = buildObservationMessages(uplink, decoded, DEVICE, TIMES);
          const b = buildObservationMessages(uplink, decoded, DEVICE, { ...TIMES, resultTimeMs: T + 999 });
          expect(a.map((m) => m.id)).toEqual(b.map((m) => m.id));
          expect(new Set(a.map((m) => m.id)).size).toBe(a.length);
          const expected = slots.flatMap(([t, h]) => [t, h].filter((v) => v !== null).map((v) => v! / 100));
          expect(a.map((m) => parse(m.payload).result)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("bike batch", () => {
  const bike = (ageS: number, bins: { ab: number; ba: number }[], binS = 900) =>
    decodeUplink(2, encodeBike({ binS, ageS, bins })) as BikeBatch;

  it("gives an interval per bin for both directions, snapped to the quarter hours", () => {
    // Newest bin ended 2 s before the uplink (10:15:00.4), i.e. at 10:15:00 on the node's clock.
    const msgs = buildObservationMessages(
      { ...UPLINK, fport: 2 },
      bike(2, [
        { ab: 3, ba: 0 },
        { ab: 12, ba: 7 },
      ]),
      DEVICE,
      TIMES,
    );
    expect(msgs.map((m) => m.id)).toEqual([
      "70B3D57ED0061234-0001002A-bicycles_ab-0",
      "70B3D57ED0061234-0001002A-bicycles_ba-0",
      "70B3D57ED0061234-0001002A-bicycles_ab-1",
      "70B3D57ED0061234-0001002A-bicycles_ba-1",
    ]);
    const ab1 = parse(msgs[2]!.payload);
    expect(msgs[2]!.topic).toBe("openherz/v1/observations/70B3D57ED0061234/bicycles_ab");
    expect(ab1.phenomenonTime).toBe("2025-06-01T10:00:00Z/2025-06-01T10:15:00Z");
    expect(ab1.result).toBe(12);
    expect(ab1.unitOfMeasurement).toEqual({
      name: "bicycles",
      symbol: "{bicycles}",
      definition: "ucum:{bicycles}",
    });
    expect(ab1.parameters).toEqual({
      licence: "CC-BY-4.0",
      deviceName: "bahnhofstrasse-12",
      sampleIndex: 1,
      fcnt: 0x1002a,
      binS: 900,
      directionAB: "northbound",
    });
    expect(parse(msgs[1]!.payload).phenomenonTime).toBe("2025-06-01T09:45:00Z/2025-06-01T10:00:00Z");
    expect(parse(msgs[3]!.payload).result).toBe(7);
  });

  it("publishes zero counts (a bin without traffic is data)", () => {
    const msgs = buildObservationMessages(UPLINK, bike(2, [{ ab: 0, ba: 0 }]), DEVICE, TIMES);
    expect(msgs.map((m) => parse(m.payload).result)).toEqual([0, 0]);
  });

  it("leaves unaligned bins where the reception time puts them", () => {
    // Newest bin ended 400 s before the uplink: 10:08:22.4, far from a quarter hour.
    const msgs = buildObservationMessages(UPLINK, bike(400, [{ ab: 1, ba: 2 }]), DEVICE, TIMES);
    expect(parse(msgs[0]!.payload).phenomenonTime).toBe("2025-06-01T09:53:22Z/2025-06-01T10:08:22Z");
  });

  it("snaps within the tolerance, and not at all with tolerance 0", () => {
    // Uplink built right at the end of the newest bin: 10:15:02.4 is 2.4 s after the quarter hour.
    const snapped = buildObservationMessages(UPLINK, bike(0, [{ ab: 1, ba: 2 }]), DEVICE, TIMES);
    expect(parse(snapped[0]!.payload).phenomenonTime).toBe("2025-06-01T10:00:00Z/2025-06-01T10:15:00Z");
    const raw = buildObservationMessages(UPLINK, bike(0, [{ ab: 1, ba: 2 }]), DEVICE, TIMES, {
      binAlignToleranceS: 0,
    });
    expect(parse(raw[0]!.payload).phenomenonTime).toBe("2025-06-01T10:00:02Z/2025-06-01T10:15:02Z");
  });

  it("contains counts per direction and bin only: no per-passage times", () => {
    const msgs = buildObservationMessages(UPLINK, bike(2, [{ ab: 5, ba: 1 }]), DEVICE, TIMES);
    for (const m of msgs) {
      expect(Object.keys(parse(m.payload)).sort()).toEqual(
        [
          "@iot.id",
          "Datastream",
          "FeatureOfInterest",
          "parameters",
          "phenomenonTime",
          "result",
          "resultTime",
          "unitOfMeasurement",
        ].sort(),
      );
    }
  });
});

describe("node status", () => {
  it("becomes the retained operator status with the configuration acknowledgement", () => {
    const status = decodeUplink(
      3,
      encodeStatus({
        fwVersion: packFwVersion(1, 2, 3),
        uptimeS: 86400,
        resetCause: 2,
        batteryMv: 3590,
        flags: 0b10_0000_0001,
        cfgId: 7,
        cfgResult: 0,
        dropped: 0,
        noisePulses: 4,
      }),
    );
    const msgs = buildObservationMessages({ ...UPLINK, fport: 3 }, status, DEVICE, TIMES);
    expect(msgs).toHaveLength(1);
    const m = msgs[0]!;
    expect(m).toMatchObject({
      id: "70B3D57ED0061234-0001002A-status",
      topic: "openherz/v1/operator/nodes/70B3D57ED0061234/status",
      retain: true,
      qos: 1,
    });
    expect(JSON.parse(m.payload)).toEqual({
      devEui: "70B3D57ED0061234",
      deviceName: "bahnhofstrasse-12",
      fcnt: 0x1002a,
      time: "2025-06-01T10:15:02Z",
      resultTime: "2025-06-01T10:15:02.550Z",
      firmware: "1.2.3",
      uptimeS: 86400,
      resetCause: "watchdog",
      batteryV: 3.59,
      flags: 0b10_0000_0001,
      flagNames: ["temperature-sensor-error", "airtime-exhausted"],
      config: { id: 7, result: 0, resultName: "applied" },
      dropped: 0,
      noisePulses: 4,
    });
  });
});
