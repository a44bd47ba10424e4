import { describe, expect, it } from "vitest";
import {
  buildDeviceMetadataMessage,
  buildDeviceRemovedMessage,
  buildRadioMetadataMessage,
  createTopics,
  DEFAULT_TOPICS,
  type DeviceInfo,
  type DeviceMetadataPayload,
  gatewayStatusPayload,
  topicPrefixProblem,
} from "../../../../gateway/observations/index.ts";
import type { RadioFrame } from "../../../../gateway/types.ts";

const DEVICE: DeviceInfo = {
  devEui: "70B3D57ED0061234",
  name: "bahnhofstrasse-12",
  location: { lat: 52.37, lon: 9.73 },
  sensors: ["bike", "climate"],
  licence: "CC-BY-4.0",
  directionAB: "northbound",
  installedAt: "2025-04-01",
};

describe("topics", () => {
  it("follows the documented scheme", () => {
    const t = DEFAULT_TOPICS;
    expect(t.observation("70b3d57ed0061234", "air_temperature")).toBe(
      "openherz/v1/observations/70B3D57ED0061234/air_temperature",
    );
    expect(t.device("70B3D57ED0061234")).toBe("openherz/v1/devices/70B3D57ED0061234");
    expect(t.nodeStatus("70B3D57ED0061234")).toBe("openherz/v1/operator/nodes/70B3D57ED0061234/status");
    expect(t.nodeBattery("70B3D57ED0061234")).toBe(
      "openherz/v1/operator/nodes/70B3D57ED0061234/battery_voltage",
    );
    expect(t.uplink("70B3D57ED0061234")).toBe("openherz/v1/operator/uplinks/70B3D57ED0061234");
    expect(t.gatewayStatus("b827ebfffe123456")).toBe("openherz/v1/operator/gateways/b827ebfffe123456/status");
    expect(t.filters).toEqual({
      observations: "openherz/v1/observations/#",
      devices: "openherz/v1/devices/+",
      operator: "openherz/v1/operator/#",
    });
  });

  it("keeps operator data out of the open-data subtrees", () => {
    const t = createTopics("town");
    for (const topic of [
      t.nodeStatus("70B3D57ED0061234"),
      t.uplink("70B3D57ED0061234"),
      t.gatewayStatus("gw1"),
    ]) {
      expect(topic.startsWith("town/v1/operator/")).toBe(true);
    }
  });

  it("refuses prefixes and levels that would break the scheme", () => {
    expect(topicPrefixProblem("openherz")).toBeUndefined();
    expect(topicPrefixProblem("city/openherz")).toBeUndefined();
    for (const bad of ["", "$SYS", "a/+/b", "a/#", "a//b", "/a", "a/", "a\0b"]) {
      expect(topicPrefixProblem(bad), bad).toBeDefined();
      expect(() => createTopics(bad)).toThrow(RangeError);
    }
    expect(() => DEFAULT_TOPICS.gatewayStatus("gw/1")).toThrow(RangeError);
    expect(() => DEFAULT_TOPICS.device("70B3D57ED006123")).toThrow(RangeError);
    expect(() => DEFAULT_TOPICS.observation("70B3D57ED0061234", "a+b")).toThrow(RangeError);
  });
});

describe("device metadata", () => {
  it("is retained, deterministic and lists datastreams with units", () => {
    const m = buildDeviceMetadataMessage(DEVICE);
    expect(m).toMatchObject({ topic: "openherz/v1/devices/70B3D57ED0061234", retain: true, qos: 1 });
    expect(buildDeviceMetadataMessage(DEVICE)).toEqual(m);
    const p = JSON.parse(m.payload) as DeviceMetadataPayload;
    expect(p).toMatchObject({
      devEui: "70B3D57ED0061234",
      name: "bahnhofstrasse-12",
      location: {
        encodingType: "application/geo+json",
        feature: { type: "Point", coordinates: [9.73, 52.37] },
      },
      sensors: ["bike", "climate"],
      licence: "CC-BY-4.0",
      directionAB: "northbound",
      installedAt: "2025-04-01",
    });
    expect(p.datastreams.map((d) => [d["@iot.id"], d.topic, d.unitOfMeasurement.definition])).toEqual([
      [
        "70B3D57ED0061234:air_temperature",
        "openherz/v1/observations/70B3D57ED0061234/air_temperature",
        "ucum:Cel",
      ],
      [
        "70B3D57ED0061234:relative_humidity",
        "openherz/v1/observations/70B3D57ED0061234/relative_humidity",
        "ucum:%",
      ],
      [
        "70B3D57ED0061234:bicycles_ab",
        "openherz/v1/observations/70B3D57ED0061234/bicycles_ab",
        "ucum:{bicycles}",
      ],
      [
        "70B3D57ED0061234:bicycles_ba",
        "openherz/v1/observations/70B3D57ED0061234/bicycles_ba",
        "ucum:{bicycles}",
      ],
    ]);
    expect(m.payload).not.toMatch(/battery|SKey|devAddr/);
  });

  it("lists only the fitted sensors' datastreams", () => {
    const p = JSON.parse(
      buildDeviceMetadataMessage({ ...DEVICE, sensors: ["climate"] }).payload,
    ) as DeviceMetadataPayload;
    expect(p.datastreams.map((d) => d["@iot.id"].split(":")[1])).toEqual([
      "air_temperature",
      "relative_humidity",
    ]);
  });

  it("is cleared by an empty retained message when the device is removed", () => {
    expect(buildDeviceRemovedMessage("70b3d57ed0061234")).toMatchObject({
      topic: "openherz/v1/devices/70B3D57ED0061234",
      payload: "",
      retain: true,
    });
  });
});

describe("radio metadata", () => {
  const frame: RadioFrame = {
    phyPayload: new Uint8Array([0x40]),
    receivedAtMs: Date.UTC(2025, 5, 1, 10, 15, 2, 412),
    gpsTimeMs: Date.UTC(2025, 5, 1, 10, 15, 2, 400),
    source: { kind: "udp", id: "b827ebfffe123456" },
    radio: { rssi: -97, snr: 7.5, frequencyMhz: 868.1, dataRate: "SF9BW125", channel: 0, tmst: 123456789 },
  };

  it("goes to the operator uplinks topic with the reception details", () => {
    const m = buildRadioMetadataMessage({
      devEui: "70B3D57ED0061234",
      devAddr: "26011bda",
      fcnt32: 42,
      fport: 1,
      frame,
    });
    expect(m).toMatchObject({
      id: "70B3D57ED0061234-0000002A-uplink-udp:b827ebfffe123456",
      topic: "openherz/v1/operator/uplinks/70B3D57ED0061234",
      retain: false,
      qos: 1,
    });
    expect(JSON.parse(m.payload)).toEqual({
      devEui: "70B3D57ED0061234",
      devAddr: "26011BDA",
      fcnt: 42,
      fport: 1,
      receivedAt: "2025-06-01T10:15:02.412Z",
      gpsTime: "2025-06-01T10:15:02.400Z",
      source: { kind: "udp", id: "b827ebfffe123456" },
      rssi: -97,
      snr: 7.5,
      frequencyMhz: 868.1,
      dataRate: "SF9BW125",
      channel: 0,
      tmst: 123456789,
    });
  });

  it("omits what the radio did not report and never includes the frame bytes", () => {
    const serial: RadioFrame = {
      ...frame,
      gpsTimeMs: undefined,
      source: { kind: "serial", id: "/dev/ttyUSB0" },
      radio: { rssi: -110 },
    };
    delete serial.gpsTimeMs;
    const m = buildRadioMetadataMessage({
      devEui: "70B3D57ED0061234",
      devAddr: "26011BDA",
      fcnt32: 43,
      fport: 2,
      frame: serial,
    });
    expect(Object.keys(JSON.parse(m.payload))).toEqual([
      "devEui",
      "devAddr",
      "fcnt",
      "fport",
      "receivedAt",
      "source",
      "rssi",
    ]);
  });
});

describe("gateway status", () => {
  it("says online with a time, and offline with a reason", () => {
    expect(JSON.parse(gatewayStatusPayload("gw1", "online", undefined, Date.UTC(2025, 0, 1)))).toEqual({
      gatewayId: "gw1",
      status: "online",
      time: "2025-01-01T00:00:00.000Z",
    });
    expect(JSON.parse(gatewayStatusPayload("gw1", "offline", "connection-lost"))).toEqual({
      gatewayId: "gw1",
      status: "offline",
      reason: "connection-lost",
    });
  });

  it("leaves the time out while the clock still says 1970", () => {
    expect(JSON.parse(gatewayStatusPayload("gw1", "online", undefined, 12_000))).toEqual({
      gatewayId: "gw1",
      status: "online",
    });
  });
});
