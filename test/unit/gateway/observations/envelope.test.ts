import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { OutgoingMessage } from "../../../../gateway/journal/journal.ts";
import {
  batchId,
  buildObservationMessages,
  createTopics,
  type DeviceInfo,
  expandObservations,
  type ObservationBatch,
  type ObservationEnvelope,
  type ObservationGrouping,
  observationId,
} from "../../../../gateway/observations/index.ts";
import {
  type BikeBatch,
  type ClimateBatch,
  type DecodedUplink,
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
const BASE = "70B3D57ED0061234-0001002A";
// 2025-06-01T10:15:02.400Z: the uplink was built 2.4 s after a quarter hour.
const T = Date.UTC(2025, 5, 1, 10, 15, 2, 400);
const TIMES = { uplinkTimeMs: T, resultTimeMs: T + 150 };
const PER_OBSERVATION = { grouping: "observation" } as const;

const parse = (payload: string) => JSON.parse(payload) as ObservationEnvelope;
const parseBatch = (payload: string) => JSON.parse(payload) as ObservationBatch;
/** Every observation the messages carry, whichever the grouping. */
const observationsOf = (msgs: OutgoingMessage[]) =>
  msgs.flatMap((m) => {
    const list = expandObservations(JSON.parse(m.payload));
    if (list === undefined) throw new Error(`not an observation message: ${m.payload}`);
    return list;
  });

const TEMPERATURE_DATASTREAM = {
  "@iot.id": "70B3D57ED0061234:air_temperature",
  name: "bahnhofstrasse-12 air temperature",
  observedProperty: {
    name: "air temperature",
    definition: "http://vocab.nerc.ac.uk/standard_name/air_temperature/",
    description: "Temperature of the ambient air (CF standard name air_temperature)",
  },
};
const FOI = {
  name: "bahnhofstrasse-12",
  description: "lamp post, east side",
  encodingType: "application/geo+json",
  feature: { type: "Point", coordinates: [9.73, 52.37, 4.5] },
};
const CELSIUS = { name: "degree Celsius", symbol: "°C", definition: "ucum:Cel" };
const BICYCLES = { name: "bicycles", symbol: "{bicycles}", definition: "ucum:{bicycles}" };

function climate(
  temperatures: (number | null)[],
  humidities: (number | null)[],
  batteryMv: number | null = 3012,
) {
  return decodeUplink(1, encodeClimate({ intervalMin: 5, ageS: 10, batteryMv, temperatures, humidities }));
}

const bike = (ageS: number, bins: { ab: number; ba: number }[], binS = 900) =>
  decodeUplink(2, encodeBike({ binS, ageS, bins })) as BikeBatch;

describe("ids", () => {
  it("observationId is DevEUI, FCnt32 as 8 hex digits, datastream and sample index", () => {
    expect(observationId("70b3d57ed0061234", 42, "air_temperature", 3)).toBe(
      "70B3D57ED0061234-0000002A-air_temperature-3",
    );
    expect(observationId("70B3D57ED0061234", 0xffffffff, "bicycles_ab", 0)).toBe(
      "70B3D57ED0061234-FFFFFFFF-bicycles_ab-0",
    );
  });

  it("batchId is the same without the sample index", () => {
    expect(batchId("70b3d57ed0061234", 42, "air_temperature")).toBe(
      "70B3D57ED0061234-0000002A-air_temperature",
    );
    expect(batchId("70B3D57ED0061234", 0xffffffff, "bicycles_ba")).toBe(
      "70B3D57ED0061234-FFFFFFFF-bicycles_ba",
    );
  });

  it("rejects counters outside 32 bits", () => {
    for (const bad of [2 ** 32, -1, 1.5]) {
      expect(() => observationId("70B3D57ED0061234", bad, "x", 0)).toThrow(RangeError);
      expect(() => batchId("70B3D57ED0061234", bad, "x")).toThrow(RangeError);
    }
  });
});

describe("climate batch, grouped per uplink (default)", () => {
  const msgs = buildObservationMessages(
    UPLINK,
    climate([2157, 2160, 2149], [5512, 5530, 5601]),
    DEVICE,
    TIMES,
  );

  it("gives one message per datastream: temperature and humidity (open data), battery (operator)", () => {
    expect(msgs.map((m) => [m.id, m.topic])).toEqual([
      [`${BASE}-air_temperature`, "openherz/v1/observations/70B3D57ED0061234/air_temperature"],
      [`${BASE}-relative_humidity`, "openherz/v1/observations/70B3D57ED0061234/relative_humidity"],
      [`${BASE}-battery_voltage`, "openherz/v1/operator/nodes/70B3D57ED0061234/battery_voltage"],
    ]);
    for (const m of msgs) {
      expect(m).toMatchObject({ qos: 1, retain: false, deviceKey: "70B3D57ED0061234" });
      expect(parseBatch(m.payload)["@iot.id"]).toBe(m.id);
    }
    expect(parseBatch(msgs[1]!.payload).Observations.map((o) => [o["@iot.id"], o.result])).toEqual([
      [`${BASE}-relative_humidity-0`, 55.12],
      [`${BASE}-relative_humidity-1`, 55.3],
      [`${BASE}-relative_humidity-2`, 56.01],
    ]);
  });

  it("builds the documented batch: shared fields once, the samples oldest first", () => {
    // Slot 2 (newest) was sampled age_s = 10 s before the uplink: 10:14:52.4 → whole seconds; each older
    // slot 300 s earlier.
    expect(parseBatch(msgs[0]!.payload)).toEqual({
      "@iot.id": `${BASE}-air_temperature`,
      unitOfMeasurement: CELSIUS,
      Datastream: TEMPERATURE_DATASTREAM,
      FeatureOfInterest: FOI,
      parameters: { licence: "CC-BY-4.0", deviceName: "bahnhofstrasse-12", fcnt: 0x1002a, intervalS: 300 },
      Observations: [
        ["10:04:52", 21.57],
        ["10:09:52", 21.6],
        ["10:14:52", 21.49],
      ].map(([time, result], i) => ({
        "@iot.id": `${BASE}-air_temperature-${i}`,
        phenomenonTime: `2025-06-01T${time}Z`,
        resultTime: "2025-06-01T10:15:02.550Z",
        result,
        parameters: { sampleIndex: i },
      })),
    });
  });

  it("skips missing samples, keeps the slot index of the others, sends no empty batch", () => {
    const sparse = buildObservationMessages(
      UPLINK,
      climate([null, 2160, null], [5512, null, 5601], null),
      DEVICE,
      TIMES,
    );
    expect(sparse.map((m) => m.id)).toEqual([`${BASE}-air_temperature`, `${BASE}-relative_humidity`]);
    const [t, h] = sparse.map((m) => parseBatch(m.payload).Observations);
    expect(t!.map((o) => [o["@iot.id"], o.parameters.sampleIndex, o.result])).toEqual([
      [`${BASE}-air_temperature-1`, 1, 21.6],
    ]);
    expect(h!.map((o) => [o["@iot.id"], o.parameters.sampleIndex, o.result])).toEqual([
      [`${BASE}-relative_humidity-0`, 0, 55.12],
      [`${BASE}-relative_humidity-2`, 2, 56.01],
    ]);
    // No temperature at all and no battery: the humidity batch only.
    const humidityOnly = buildObservationMessages(
      UPLINK,
      climate([null, null], [5000, 5100], null),
      DEVICE,
      TIMES,
    );
    expect(humidityOnly.map((m) => m.id)).toEqual([`${BASE}-relative_humidity`]);
  });

  it("sends the battery voltage to the operator topic, never to open data", () => {
    const battery = parseBatch(msgs[2]!.payload);
    expect(battery.unitOfMeasurement.definition).toBe("ucum:V");
    expect(battery.parameters).toEqual({
      licence: "CC-BY-4.0",
      deviceName: "bahnhofstrasse-12",
      fcnt: 0x1002a,
    });
    expect(battery.Observations).toEqual([
      {
        "@iot.id": `${BASE}-battery_voltage-0`,
        phenomenonTime: "2025-06-01T10:15:02Z",
        resultTime: "2025-06-01T10:15:02.550Z",
        result: 3.012,
        parameters: { sampleIndex: 0 },
      },
    ]);
    for (const m of msgs.filter((x) => x.topic.includes("/observations/")))
      expect(m.payload).not.toContain("battery");
  });
});

describe("climate batch, one message per observation", () => {
  it("gives one message per valid sample, datastream by datastream, oldest first", () => {
    const msgs = buildObservationMessages(
      UPLINK,
      climate([2157, 2160, 2149], [5512, 5530, 5601]),
      DEVICE,
      TIMES,
      PER_OBSERVATION,
    );
    const open = msgs.filter((m) => m.topic.includes("/observations/"));
    expect(open.map((m) => m.id)).toEqual([
      `${BASE}-air_temperature-0`,
      `${BASE}-air_temperature-1`,
      `${BASE}-air_temperature-2`,
      `${BASE}-relative_humidity-0`,
      `${BASE}-relative_humidity-1`,
      `${BASE}-relative_humidity-2`,
    ]);
    expect(msgs.map((m) => m.id).at(-1)).toBe(`${BASE}-battery_voltage-0`);
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
      PER_OBSERVATION,
    );
    const m = msgs.find((x) => x.id.endsWith("air_temperature-2"))!;
    expect(m.topic).toBe("openherz/v1/observations/70B3D57ED0061234/air_temperature");
    expect(m.retain).toBe(false);
    // Slot 2 (newest) was sampled age_s = 10 s before the uplink: 10:14:52.4 → whole seconds.
    expect(parse(m.payload)).toEqual({
      "@iot.id": `${BASE}-air_temperature-2`,
      phenomenonTime: "2025-06-01T10:14:52Z",
      resultTime: "2025-06-01T10:15:02.550Z",
      result: 21.49,
      unitOfMeasurement: CELSIUS,
      Datastream: TEMPERATURE_DATASTREAM,
      FeatureOfInterest: FOI,
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
    const msgs = buildObservationMessages(UPLINK, climate([2157], [5512]), DEVICE, TIMES, PER_OBSERVATION);
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
      PER_OBSERVATION,
    );
    expect(msgs.map((m) => m.id)).toEqual([`${BASE}-air_temperature-1`, `${BASE}-relative_humidity-0`]);
  });

  it("sends the battery voltage to the operator topic, never to open data", () => {
    const msgs = buildObservationMessages(
      UPLINK,
      climate([2157], [5512], 3012),
      DEVICE,
      TIMES,
      PER_OBSERVATION,
    );
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
          const a = buildObservationMessages(uplink, decoded, DEVICE, TIMES, PER_OBSERVATION);
          const b = buildObservationMessages(
            uplink,
            decoded,
            DEVICE,
            { ...TIMES, resultTimeMs: T + 999 },
            PER_OBSERVATION,
          );
          expect(a.map((m) => m.id)).toEqual(b.map((m) => m.id));
          expect(new Set(a.map((m) => m.id)).size).toBe(a.length);
          const values = (channel: 0 | 1) => slots.map((s) => s[channel]).filter((v) => v !== null);
          const expected = [...values(0), ...values(1)].map((v) => v / 100);
          expect(a.map((m) => parse(m.payload).result)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("climate batch, either grouping", () => {
  const groupings: ObservationGrouping[] = ["uplink", "observation"];

  it.each(groupings)("%s: uses the configured topic prefix", (grouping) => {
    const topics = createTopics("city/sensors");
    const msgs = buildObservationMessages(UPLINK, climate([2157], [5512]), DEVICE, TIMES, {
      topics,
      grouping,
    });
    expect(msgs.map((m) => m.topic)).toEqual([
      "city/sensors/v1/observations/70B3D57ED0061234/air_temperature",
      "city/sensors/v1/observations/70B3D57ED0061234/relative_humidity",
      "city/sensors/v1/operator/nodes/70B3D57ED0061234/battery_voltage",
    ]);
  });

  it.each(groupings)("%s: never publishes radio metadata or keys", (grouping) => {
    const device = {
      ...DEVICE,
      nwkSKey: "00112233445566778899AABBCCDDEEFF",
      appSKey: "FFEEDDCCBBAA99887766554433221100",
    };
    const msgs = buildObservationMessages(UPLINK, climate([2157], [5512]), device as DeviceInfo, TIMES, {
      grouping,
    });
    expect(msgs.length).toBeGreaterThan(0);
    for (const m of msgs) {
      expect(m.payload).not.toMatch(/rssi|snr|nwkSKey|appSKey|00112233445566778899AABBCCDDEEFF/i);
    }
  });

  it.each(groupings)("%s: rejects 1970 and non-finite times (an unsynchronised clock)", (grouping) => {
    const batch = climate([2157], [5512]);
    expect(() =>
      buildObservationMessages(UPLINK, batch, DEVICE, { uplinkTimeMs: 5000, resultTimeMs: T }, { grouping }),
    ).toThrow(RangeError);
    expect(() =>
      buildObservationMessages(
        UPLINK,
        batch,
        DEVICE,
        { uplinkTimeMs: T, resultTimeMs: Number.NaN },
        { grouping },
      ),
    ).toThrow(RangeError);
  });

  it.each(groupings)("%s: nothing at all for a batch without values", (grouping) => {
    const empty = climate([null, null], [null, null], null);
    expect(buildObservationMessages(UPLINK, empty, DEVICE, TIMES, { grouping })).toEqual([]);
  });
});

describe("bike batch", () => {
  const BIKE = { ...UPLINK, fport: 2 };
  const twoBins = bike(2, [
    { ab: 3, ba: 0 },
    { ab: 12, ba: 7 },
  ]);

  it("grouped per uplink: one message per direction, an interval per bin, snapped to the quarter hours", () => {
    // Newest bin ended 2 s before the uplink (10:15:00.4), i.e. at 10:15:00 on the node's clock.
    const msgs = buildObservationMessages(BIKE, twoBins, DEVICE, TIMES);
    expect(msgs.map((m) => [m.id, m.topic])).toEqual([
      [`${BASE}-bicycles_ab`, "openherz/v1/observations/70B3D57ED0061234/bicycles_ab"],
      [`${BASE}-bicycles_ba`, "openherz/v1/observations/70B3D57ED0061234/bicycles_ba"],
    ]);
    const bins = ["09:45:00Z/2025-06-01T10:00:00Z", "10:00:00Z/2025-06-01T10:15:00Z"];
    expect(parseBatch(msgs[0]!.payload)).toEqual({
      "@iot.id": `${BASE}-bicycles_ab`,
      unitOfMeasurement: BICYCLES,
      Datastream: {
        "@iot.id": "70B3D57ED0061234:bicycles_ab",
        name: "bahnhofstrasse-12 bicycles A→B",
        observedProperty: {
          name: "bicycle count",
          definition: "urn:openherz:observed-property:bicycle-count",
          description: "Bicycles that passed the counter during the time interval, in one direction",
        },
      },
      FeatureOfInterest: FOI,
      parameters: {
        licence: "CC-BY-4.0",
        deviceName: "bahnhofstrasse-12",
        fcnt: 0x1002a,
        binS: 900,
        directionAB: "northbound",
      },
      Observations: [3, 12].map((result, i) => ({
        "@iot.id": `${BASE}-bicycles_ab-${i}`,
        phenomenonTime: `2025-06-01T${bins[i]}`,
        resultTime: "2025-06-01T10:15:02.550Z",
        result,
        parameters: { sampleIndex: i },
      })),
    });
    const ba = parseBatch(msgs[1]!.payload);
    expect(ba.Datastream["@iot.id"]).toBe("70B3D57ED0061234:bicycles_ba");
    expect(ba.Observations.map((o) => [o["@iot.id"], o.phenomenonTime, o.result])).toEqual([
      [`${BASE}-bicycles_ba-0`, `2025-06-01T${bins[0]}`, 0],
      [`${BASE}-bicycles_ba-1`, `2025-06-01T${bins[1]}`, 7],
    ]);
  });

  it("one message per observation: the same bins, direction by direction", () => {
    const msgs = buildObservationMessages(BIKE, twoBins, DEVICE, TIMES, PER_OBSERVATION);
    expect(msgs.map((m) => m.id)).toEqual([
      `${BASE}-bicycles_ab-0`,
      `${BASE}-bicycles_ab-1`,
      `${BASE}-bicycles_ba-0`,
      `${BASE}-bicycles_ba-1`,
    ]);
    const ab1 = parse(msgs[1]!.payload);
    expect(msgs[1]!.topic).toBe("openherz/v1/observations/70B3D57ED0061234/bicycles_ab");
    expect(ab1.phenomenonTime).toBe("2025-06-01T10:00:00Z/2025-06-01T10:15:00Z");
    expect(ab1.result).toBe(12);
    expect(ab1.unitOfMeasurement).toEqual(BICYCLES);
    expect(ab1.parameters).toEqual({
      licence: "CC-BY-4.0",
      deviceName: "bahnhofstrasse-12",
      sampleIndex: 1,
      fcnt: 0x1002a,
      binS: 900,
      directionAB: "northbound",
    });
    expect(parse(msgs[2]!.payload).phenomenonTime).toBe("2025-06-01T09:45:00Z/2025-06-01T10:00:00Z");
    expect(parse(msgs[3]!.payload).result).toBe(7);
  });

  it("leaves directionAB out when the registry has none", () => {
    const { directionAB: _, ...undirected } = DEVICE;
    const batch = parseBatch(buildObservationMessages(BIKE, twoBins, undirected, TIMES)[0]!.payload);
    expect(batch.parameters).toEqual({
      licence: "CC-BY-4.0",
      deviceName: "bahnhofstrasse-12",
      fcnt: 0x1002a,
      binS: 900,
    });
    const single = buildObservationMessages(BIKE, twoBins, undirected, TIMES, PER_OBSERVATION);
    expect(parse(single[0]!.payload).parameters).not.toHaveProperty("directionAB");
  });

  it("publishes zero counts (a bin without traffic is data)", () => {
    const zero = bike(2, [{ ab: 0, ba: 0 }]);
    expect(
      observationsOf(buildObservationMessages(UPLINK, zero, DEVICE, TIMES)).map((o) => o.result),
    ).toEqual([0, 0]);
    const single = buildObservationMessages(UPLINK, zero, DEVICE, TIMES, PER_OBSERVATION);
    expect(single.map((m) => parse(m.payload).result)).toEqual([0, 0]);
  });

  it("leaves unaligned bins where the reception time puts them", () => {
    // Newest bin ended 400 s before the uplink: 10:08:22.4, far from a quarter hour.
    const [ab] = observationsOf(
      buildObservationMessages(UPLINK, bike(400, [{ ab: 1, ba: 2 }]), DEVICE, TIMES),
    );
    expect(ab!.phenomenonTime).toBe("2025-06-01T09:53:22Z/2025-06-01T10:08:22Z");
  });

  it("snaps within the tolerance, and not at all with tolerance 0", () => {
    // Uplink built right at the end of the newest bin: 10:15:02.4 is 2.4 s after the quarter hour.
    const snapped = observationsOf(
      buildObservationMessages(UPLINK, bike(0, [{ ab: 1, ba: 2 }]), DEVICE, TIMES),
    );
    expect(snapped.map((o) => o.phenomenonTime)).toEqual([
      "2025-06-01T10:00:00Z/2025-06-01T10:15:00Z",
      "2025-06-01T10:00:00Z/2025-06-01T10:15:00Z",
    ]);
    const raw = observationsOf(
      buildObservationMessages(UPLINK, bike(0, [{ ab: 1, ba: 2 }]), DEVICE, TIMES, { binAlignToleranceS: 0 }),
    );
    expect(raw[0]!.phenomenonTime).toBe("2025-06-01T10:00:02Z/2025-06-01T10:15:02Z");
  });

  it("contains counts per direction and bin only: no per-passage times", () => {
    const input = bike(2, [
      { ab: 5, ba: 1 },
      { ab: 2, ba: 0 },
    ]);
    for (const m of buildObservationMessages(UPLINK, input, DEVICE, TIMES, PER_OBSERVATION)) {
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
    for (const m of buildObservationMessages(UPLINK, input, DEVICE, TIMES)) {
      const batch = parseBatch(m.payload);
      expect(Object.keys(batch).sort()).toEqual(
        [
          "@iot.id",
          "Datastream",
          "FeatureOfInterest",
          "Observations",
          "parameters",
          "unitOfMeasurement",
        ].sort(),
      );
      expect(batch.Observations).toHaveLength(2);
      for (const o of batch.Observations) {
        expect(Object.keys(o).sort()).toEqual(
          ["@iot.id", "parameters", "phenomenonTime", "result", "resultTime"].sort(),
        );
        expect(Object.keys(o.parameters)).toEqual(["sampleIndex"]);
      }
    }
  });
});

describe("expandObservations", () => {
  const time = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) });
  const climateArb = fc
    .record({
      intervalMin: fc.integer({ min: 1, max: 60 }),
      ageS: fc.integer({ min: 0, max: 86_400 }),
      batteryMv: fc.option(fc.integer({ min: 0, max: 6000 }), { nil: null }),
      slots: fc.array(
        fc.tuple(
          fc.option(fc.integer({ min: -4000, max: 8500 }), { nil: null }),
          fc.option(fc.integer({ min: 0, max: 10000 }), { nil: null }),
        ),
        { minLength: 1, maxLength: 32 },
      ),
    })
    .map(({ slots, ...rest }) =>
      decodeUplink(
        1,
        encodeClimate({ ...rest, temperatures: slots.map((s) => s[0]), humidities: slots.map((s) => s[1]) }),
      ),
    );
  const bikeArb = fc
    .record({
      binS: fc.constantFrom(300, 600, 900, 1800, 3600),
      ageS: fc.integer({ min: 0, max: 86_400 }),
      bins: fc.array(
        fc.record({ ab: fc.integer({ min: 0, max: 2 ** 32 - 1 }), ba: fc.integer({ min: 0, max: 500 }) }),
        { minLength: 1, maxLength: 32 },
      ),
    })
    .map((input) => decodeUplink(2, encodeBike(input)));
  const deviceArb = fc.record({
    directionAB: fc.option(fc.constantFrom("northbound", "towards the station"), { nil: undefined }),
    heightM: fc.option(fc.double({ min: -10, max: 300, noNaN: true }), { nil: undefined }),
    description: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    // Names and licences with quotes, backslashes, control and non-ASCII characters need escaping.
    name: fc.option(fc.string({ maxLength: 20, unit: "binary" }), { nil: undefined }),
    licence: fc.option(fc.constantFrom('CC-BY "4.0"', "ODbL\\1.0", "Datenlizenz Deutschland – 2.0"), {
      nil: undefined,
    }),
  });

  function deviceWith(d: {
    directionAB?: string;
    heightM?: number;
    description?: string;
    name?: string;
    licence?: string;
  }): DeviceInfo {
    const { directionAB: _d, ...base } = DEVICE;
    return {
      ...base,
      ...(d.name === undefined ? {} : { name: d.name }),
      ...(d.licence === undefined ? {} : { licence: d.licence }),
      location: {
        lat: 52.37,
        lon: 9.73,
        ...(d.heightM === undefined ? {} : { heightM: d.heightM }),
        ...(d.description === undefined ? {} : { description: d.description }),
      },
      ...(d.directionAB === undefined ? {} : { directionAB: d.directionAB }),
    };
  }

  it("property: a batch expands to exactly what one message per observation sends", () => {
    fc.assert(
      fc.property(
        fc.oneof(climateArb, bikeArb),
        fc.integer({ min: 0, max: 0xffffffff }),
        time,
        fc.integer({ min: 0, max: 10_000 }),
        deviceArb,
        (decoded: DecodedUplink, fcnt32, uplinkTimeMs, delayMs, d) => {
          const uplink = { ...UPLINK, fcnt32, fport: decoded.kind === "bike" ? 2 : 1 };
          const times = { uplinkTimeMs, resultTimeMs: uplinkTimeMs + delayMs };
          const device = deviceWith(d);
          const batches = buildObservationMessages(uplink, decoded, device, times);
          const singles = buildObservationMessages(uplink, decoded, device, times, PER_OBSERVATION);
          const expanded = batches.flatMap((m) => expandObservations(JSON.parse(m.payload))!);
          // Same observations (by id), same content, and the same JSON text once re-serialised.
          const byId = (list: ObservationEnvelope[]) =>
            [...list].sort((a, b) => a["@iot.id"].localeCompare(b["@iot.id"]));
          const published = singles.map((m) => parse(m.payload));
          expect(byId(expanded)).toEqual(byId(published));
          const text = new Map(singles.map((m) => [m.id, m.payload]));
          for (const e of expanded) expect(JSON.stringify(e)).toBe(text.get(e["@iot.id"]));
          // Each batch goes where its observations would go, with the same delivery properties.
          for (const m of batches) {
            const batch = parseBatch(m.payload);
            // The batch's JSON (written directly, not by JSON.stringify) is byte for byte what stringify
            // gives for the documented batch assembled from the single envelopes.
            const [first, ...rest] = published.filter((e) => e["@iot.id"].startsWith(`${m.id}-`));
            const { sampleIndex: _index, ...shared } = first!.parameters;
            const documented = {
              "@iot.id": m.id,
              unitOfMeasurement: first!.unitOfMeasurement,
              Datastream: first!.Datastream,
              FeatureOfInterest: first!.FeatureOfInterest,
              parameters: shared,
              Observations: [first!, ...rest].map((e) => ({
                "@iot.id": e["@iot.id"],
                phenomenonTime: e.phenomenonTime,
                resultTime: e.resultTime,
                result: e.result,
                parameters: { sampleIndex: e.parameters.sampleIndex },
              })),
            };
            expect(m.payload).toBe(JSON.stringify(documented));
            expect(m.id).toBe(batchId(uplink.devEui, fcnt32, batch.Datastream["@iot.id"].split(":")[1]!));
            for (const o of batch.Observations) {
              const single = singles.find((s) => s.id === o["@iot.id"])!;
              expect({ ...single, id: m.id, payload: "" }).toEqual({ ...m, payload: "" });
            }
          }
          // Batch ids are unique, and one batch per datastream and uplink.
          expect(new Set(batches.map((m) => m.id)).size).toBe(batches.length);
          expect(new Set(singles.map((m) => m.topic)).size).toBe(batches.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("gives an envelope back as itself", () => {
    const [single] = buildObservationMessages(
      UPLINK,
      climate([2157], [5512]),
      DEVICE,
      TIMES,
      PER_OBSERVATION,
    );
    const envelope = JSON.parse(single!.payload);
    expect(expandObservations(envelope)).toEqual([envelope]);
  });

  it("returns undefined for anything else", () => {
    const [batch] = buildObservationMessages(UPLINK, climate([2157], [5512]), DEVICE, TIMES);
    const valid = parseBatch(batch!.payload);
    const junk: unknown[] = [
      undefined,
      null,
      42,
      "70B3D57ED0061234-0001002A-air_temperature",
      [],
      [valid],
      {},
      { "@iot.id": "x" }, // no result
      { result: 1 }, // no id
      { ...valid, Observations: "none" },
      { ...valid, Observations: [42] },
      { ...valid, Observations: [{ ...valid.Observations[0], parameters: undefined }] },
      { ...valid, Observations: [{ ...valid.Observations[0], "@iot.id": 7 }] },
      { ...valid, parameters: null },
      { devEui: "70B3D57ED0061234", fcnt: 42, rssi: -97 }, // radio metadata
    ];
    for (const value of junk) expect(expandObservations(value), JSON.stringify(value)).toBeUndefined();
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
      id: `${BASE}-status`,
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
    // Not an observation, so the grouping does not apply to it.
    const single = buildObservationMessages({ ...UPLINK, fport: 3 }, status, DEVICE, TIMES, PER_OBSERVATION);
    expect(single).toEqual(msgs);
    expect(expandObservations(JSON.parse(m.payload))).toBeUndefined();
  });
});
