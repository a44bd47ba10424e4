// Retained device metadata (open data), radio metadata of each reception and the gateway status (operator).
// Pure: no I/O, no clock. Format and examples: ./README.md.
import type { OutgoingMessage } from "../journal/journal.ts";
import type { AcceptedUplink } from "../lorawan/uplink-decoder.ts";
import { openDatastreamsFor } from "./datastreams.ts";
import {
  type DeviceInfo,
  datastreamId,
  type FeatureOfInterest,
  featureOfInterest,
  formatFcnt,
} from "./envelope.ts";
import { checkTime, isoMillis, isPlausibleTime } from "./time.ts";
import { DEFAULT_TOPICS, type TopicScheme } from "./topics.ts";

export interface DeviceMetadataPayload {
  devEui: string;
  name: string;
  location: FeatureOfInterest;
  sensors: DeviceInfo["sensors"];
  licence: string;
  directionAB?: string;
  installedAt?: string;
  datastreams: Array<{
    "@iot.id": string;
    name: string;
    description: string;
    topic: string;
    observedProperty: { name: string; definition: string; description: string };
    unitOfMeasurement: { name: string; symbol: string; definition: string };
  }>;
}

/**
 * The retained metadata of one device on `<prefix>/v1/devices/<DevEUI>`. Deterministic (no timestamps), so
 * re-announcing after every reconnect changes nothing for subscribers.
 */
export function buildDeviceMetadataMessage(
  device: DeviceInfo,
  topics: TopicScheme = DEFAULT_TOPICS,
): OutgoingMessage {
  const devEui = device.devEui.toUpperCase();
  const payload: DeviceMetadataPayload = {
    devEui,
    name: device.name,
    location: featureOfInterest(device),
    sensors: [...device.sensors],
    licence: device.licence,
    ...(device.directionAB === undefined ? {} : { directionAB: device.directionAB }),
    ...(device.installedAt === undefined ? {} : { installedAt: device.installedAt }),
    datastreams: openDatastreamsFor(device.sensors).map((spec) => ({
      "@iot.id": datastreamId(devEui, spec.name),
      name: `${device.name} ${spec.label}`,
      description: spec.description,
      topic: topics.observation(devEui, spec.name),
      observedProperty: spec.observedProperty,
      unitOfMeasurement: spec.unitOfMeasurement,
    })),
  };
  return {
    id: `device-${devEui}`,
    topic: topics.device(devEui),
    payload: JSON.stringify(payload),
    retain: true,
    qos: 1,
    deviceKey: devEui,
  };
}

/** An empty retained message: clears a removed device's metadata from the broker. */
export function buildDeviceRemovedMessage(
  devEui: string,
  topics: TopicScheme = DEFAULT_TOPICS,
): OutgoingMessage {
  const eui = devEui.toUpperCase();
  return {
    id: `device-${eui}-removed`,
    topic: topics.device(eui),
    payload: "",
    retain: true,
    qos: 1,
    deviceKey: eui,
  };
}

/** The uplink fields the radio metadata needs. */
export type RadioUplinkRef = Pick<AcceptedUplink, "devEui" | "devAddr" | "fcnt32" | "fport" | "frame">;

export interface RadioMetadataPayload {
  devEui: string;
  devAddr: string;
  fcnt: number;
  fport: number;
  receivedAt: string;
  gpsTime?: string;
  source: { kind: "udp" | "serial"; id: string };
  rssi?: number;
  snr?: number;
  frequencyMhz?: number;
  dataRate?: string;
  channel?: number;
  tmst?: number;
}

/**
 * Radio metadata of one reception, on the operator topic `<prefix>/v1/operator/uplinks/<DevEUI>`; never on
 * an open-data topic. Call it again for each duplicate reception (another forwarder or modem) to keep its
 * RSSI/SNR: the id names the source, so receptions are told apart and a replayed journal row is not.
 */
export function buildRadioMetadataMessage(
  uplink: RadioUplinkRef,
  topics: TopicScheme = DEFAULT_TOPICS,
): OutgoingMessage {
  const { frame } = uplink;
  checkTime("frame.receivedAtMs", frame.receivedAtMs);
  const devEui = uplink.devEui.toUpperCase();
  const r = frame.radio;
  const payload: RadioMetadataPayload = {
    devEui,
    devAddr: uplink.devAddr.toUpperCase(),
    fcnt: uplink.fcnt32,
    fport: uplink.fport,
    receivedAt: isoMillis(frame.receivedAtMs),
    ...(frame.gpsTimeMs === undefined ? {} : { gpsTime: isoMillis(frame.gpsTimeMs) }),
    source: { kind: frame.source.kind, id: frame.source.id },
    ...(r.rssi === undefined ? {} : { rssi: r.rssi }),
    ...(r.snr === undefined ? {} : { snr: r.snr }),
    ...(r.frequencyMhz === undefined ? {} : { frequencyMhz: r.frequencyMhz }),
    ...(r.dataRate === undefined ? {} : { dataRate: r.dataRate }),
    ...(r.channel === undefined ? {} : { channel: r.channel }),
    ...(r.tmst === undefined ? {} : { tmst: r.tmst }),
  };
  return {
    id: `${devEui}-${formatFcnt(uplink.fcnt32)}-uplink-${frame.source.kind}:${frame.source.id}`,
    topic: topics.uplink(devEui),
    payload: JSON.stringify(payload),
    retain: false,
    qos: 1,
    deviceKey: devEui,
  };
}

export type GatewayState = "online" | "offline";

export interface GatewayStatusPayload {
  gatewayId: string;
  status: GatewayState;
  /** "shutdown" (clean stop) or "connection-lost" (the Last Will). Absent when online. */
  reason?: "shutdown" | "connection-lost";
  /** When the gateway went online or stopped; absent in the Last Will (it is composed at connect time). */
  time?: string;
}

/**
 * Payload of the retained gateway status. `atMs` omitted gives a payload without time (the Last Will, which the
 * broker publishes later on the gateway's behalf).
 */
export function gatewayStatusPayload(
  gatewayId: string,
  status: GatewayState,
  reason?: GatewayStatusPayload["reason"],
  atMs?: number,
): string {
  const payload: GatewayStatusPayload = {
    gatewayId,
    status,
    ...(reason === undefined ? {} : { reason }),
    // A Pi without RTC may boot at 1970 before NTP: then no time rather than a wrong one.
    ...(atMs === undefined || !isPlausibleTime(atMs) ? {} : { time: isoMillis(atMs) }),
  };
  return JSON.stringify(payload);
}
