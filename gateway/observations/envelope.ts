// Decoded uplinks → outgoing MQTT messages: one open-data envelope per sample and datastream, shaped like an
// OGC SensorThings Observation, with a deterministic id so that consumers drop the duplicates that several
// gateways publish for one frame. Pure: no I/O, no clock. Format and examples: ./README.md.
import type { BikeBatch, ClimateBatch, DecodedUplink, NodeStatus } from "../../shared/payload/index.ts";
import type { OutgoingMessage } from "../journal/journal.ts";
import type { Device } from "../lorawan/registry.ts";
import type { AcceptedUplink } from "../lorawan/uplink-decoder.ts";
import {
  DATASTREAMS,
  type DatastreamName,
  type ObservedProperty,
  roundTo,
  type UnitOfMeasurement,
} from "./datastreams.ts";
import { alignmentOffsetMs, checkTime, isoMillis, isoSeconds } from "./time.ts";
import { DEFAULT_TOPICS, type TopicScheme } from "./topics.ts";

/** The uplink fields the envelopes need. */
export type UplinkRef = Pick<AcceptedUplink, "devEui" | "fcnt32" | "fport">;

/** The registry fields the envelopes need (never the keys). */
export type DeviceInfo = Pick<
  Device,
  "devEui" | "name" | "location" | "sensors" | "licence" | "directionAB" | "installedAt"
>;

export interface ObservationTimes {
  /** When the node built the uplink: GPS time of reception when present, else the gateway's reception time. */
  uplinkTimeMs: number;
  /** When the gateway produced the observation (its reception time). */
  resultTimeMs: number;
}

export interface ObservationOptions {
  topics?: TopicScheme;
  /** Snap bike bins onto UTC multiples of the bin length when the estimate is this close (default 5 s, 0 = off). */
  binAlignToleranceS?: number;
}

export interface GeoJsonPoint {
  type: "Point";
  /** [lon, lat] or [lon, lat, height in m], as GeoJSON orders them (RFC 7946 §3.1.1). */
  coordinates: [number, number] | [number, number, number];
}

export interface FeatureOfInterest {
  name: string;
  description?: string;
  encodingType: "application/geo+json";
  feature: GeoJsonPoint;
}

export interface ObservationEnvelope {
  "@iot.id": string;
  /** Instant ("2025-06-01T10:15:00Z") for climate samples; interval ("start/end") for bike bins. */
  phenomenonTime: string;
  resultTime: string;
  result: number;
  unitOfMeasurement: UnitOfMeasurement;
  Datastream: { "@iot.id": string; name: string; observedProperty: ObservedProperty };
  FeatureOfInterest?: FeatureOfInterest;
  parameters: {
    licence: string;
    deviceName: string;
    /** Slot or bin index within the uplink, 0 = oldest. */
    sampleIndex: number;
    /** 32-bit frame counter of the uplink. */
    fcnt: number;
    intervalS?: number;
    binS?: number;
    directionAB?: string;
  };
}

const MAX_FCNT32 = 0xffff_ffff;
const DEFAULT_BIN_ALIGN_TOLERANCE_S = 5;

/** The 32-bit frame counter as 8 upper-case hex digits. */
export function formatFcnt(fcnt32: number): string {
  if (!Number.isInteger(fcnt32) || fcnt32 < 0 || fcnt32 > MAX_FCNT32) {
    throw new RangeError(`fcnt32 must be an integer 0..2^32-1, got ${fcnt32}`);
  }
  return fcnt32.toString(16).toUpperCase().padStart(8, "0");
}

/** `<DevEUI>-<FCnt32 as 8 hex>-<datastream>-<sample index>`, e.g. "70B3D57ED0061234-0000002A-air_temperature-3". */
export function observationId(
  devEui: string,
  fcnt32: number,
  datastream: string,
  sampleIndex: number,
): string {
  return `${devEui.toUpperCase()}-${formatFcnt(fcnt32)}-${datastream}-${sampleIndex}`;
}

export function datastreamId(devEui: string, datastream: string): string {
  return `${devEui.toUpperCase()}:${datastream}`;
}

export function featureOfInterest(device: DeviceInfo): FeatureOfInterest {
  const { lat, lon, heightM, description } = device.location;
  const feature: GeoJsonPoint = {
    type: "Point",
    coordinates: heightM === undefined ? [lon, lat] : [lon, lat, heightM],
  };
  return {
    name: device.name,
    ...(description === undefined ? {} : { description }),
    encodingType: "application/geo+json",
    feature,
  };
}

/**
 * The messages for one accepted, decoded uplink:
 * - climate batch: air_temperature and relative_humidity per valid slot (open data), battery_voltage (operator);
 * - bike batch: bicycles_ab and bicycles_ba per bin (open data);
 * - node status: the retained node status (operator).
 * Missing samples (null) produce no message. Throws RangeError only for impossible times or counters (a bug
 * in the caller, never the payload).
 */
export function buildObservationMessages(
  uplink: UplinkRef,
  decoded: DecodedUplink,
  device: DeviceInfo,
  times: ObservationTimes,
  options: ObservationOptions = {},
): OutgoingMessage[] {
  checkTime("uplinkTimeMs", times.uplinkTimeMs);
  checkTime("resultTimeMs", times.resultTimeMs);
  const ctx: Context = {
    uplink,
    device,
    times,
    topics: options.topics ?? DEFAULT_TOPICS,
    devEui: uplink.devEui.toUpperCase(),
    resultTime: isoMillis(times.resultTimeMs),
    foi: featureOfInterest(device),
  };
  switch (decoded.kind) {
    case "climate":
      return climateMessages(ctx, decoded);
    case "bike":
      return bikeMessages(ctx, decoded, (options.binAlignToleranceS ?? DEFAULT_BIN_ALIGN_TOLERANCE_S) * 1000);
    case "status":
      return [buildNodeStatusMessage(uplink, decoded, device, times, options)];
  }
}

interface Context {
  uplink: UplinkRef;
  device: DeviceInfo;
  times: ObservationTimes;
  topics: TopicScheme;
  devEui: string;
  resultTime: string;
  foi: FeatureOfInterest;
}

function climateMessages(ctx: Context, batch: ClimateBatch): OutgoingMessage[] {
  const out: OutgoingMessage[] = [];
  const extra = { intervalS: batch.intervalS };
  for (const s of batch.samples) {
    const time = isoSeconds(ctx.times.uplinkTimeMs - s.secondsBeforeUplink * 1000);
    if (s.temperatureC !== null)
      out.push(observation(ctx, "air_temperature", s.index, time, s.temperatureC, extra));
    if (s.humidityPct !== null)
      out.push(observation(ctx, "relative_humidity", s.index, time, s.humidityPct, extra));
  }
  if (batch.batteryMv !== null) {
    const time = isoSeconds(ctx.times.uplinkTimeMs);
    out.push(observation(ctx, "battery_voltage", 0, time, batch.batteryMv / 1000, {}));
  }
  return out;
}

function bikeMessages(ctx: Context, batch: BikeBatch, toleranceMs: number): OutgoingMessage[] {
  const out: OutgoingMessage[] = [];
  const newest = batch.bins[batch.bins.length - 1];
  if (newest === undefined) return out;
  const at = (secondsBefore: number) => ctx.times.uplinkTimeMs - secondsBefore * 1000;
  const offset = alignmentOffsetMs(at(newest.endSecondsBeforeUplink), batch.binS * 1000, toleranceMs);
  const extra = {
    binS: batch.binS,
    ...(ctx.device.directionAB === undefined ? {} : { directionAB: ctx.device.directionAB }),
  };
  for (const bin of batch.bins) {
    const start = isoSeconds(at(bin.startSecondsBeforeUplink) + offset);
    const end = isoSeconds(at(bin.endSecondsBeforeUplink) + offset);
    const interval = `${start}/${end}`;
    out.push(observation(ctx, "bicycles_ab", bin.index, interval, bin.ab, extra));
    out.push(observation(ctx, "bicycles_ba", bin.index, interval, bin.ba, extra));
  }
  return out;
}

function observation(
  ctx: Context,
  name: DatastreamName,
  sampleIndex: number,
  phenomenonTime: string,
  value: number,
  extra: { intervalS?: number; binS?: number; directionAB?: string },
): OutgoingMessage {
  const spec = DATASTREAMS[name];
  const id = observationId(ctx.devEui, ctx.uplink.fcnt32, name, sampleIndex);
  const envelope: ObservationEnvelope = {
    "@iot.id": id,
    phenomenonTime,
    resultTime: ctx.resultTime,
    result: roundTo(value, spec.decimals),
    unitOfMeasurement: spec.unitOfMeasurement,
    Datastream: {
      "@iot.id": datastreamId(ctx.devEui, name),
      name: `${ctx.device.name} ${spec.label}`,
      observedProperty: spec.observedProperty,
    },
    FeatureOfInterest: ctx.foi,
    parameters: {
      licence: ctx.device.licence,
      deviceName: ctx.device.name,
      sampleIndex,
      fcnt: ctx.uplink.fcnt32,
      ...extra,
    },
  };
  return {
    id,
    topic: spec.open ? ctx.topics.observation(ctx.devEui, name) : ctx.topics.nodeBattery(ctx.devEui),
    payload: JSON.stringify(envelope),
    retain: false,
    qos: 1,
    deviceKey: ctx.devEui,
  };
}

export interface NodeStatusPayload {
  devEui: string;
  deviceName: string;
  fcnt: number;
  /** When the node sent the status. */
  time: string;
  resultTime: string;
  firmware: string;
  uptimeS: number;
  resetCause: NodeStatus["resetCause"];
  batteryV: number | null;
  flags: number;
  flagNames: string[];
  config: { id: number; result: number; resultName: NodeStatus["cfgResultName"] };
  dropped: number;
  noisePulses: number;
}

/** The retained node status (operator topic), id `<DevEUI>-<FCnt32>-status`. */
export function buildNodeStatusMessage(
  uplink: UplinkRef,
  status: NodeStatus,
  device: DeviceInfo,
  times: ObservationTimes,
  options: ObservationOptions = {},
): OutgoingMessage {
  checkTime("uplinkTimeMs", times.uplinkTimeMs);
  checkTime("resultTimeMs", times.resultTimeMs);
  const topics = options.topics ?? DEFAULT_TOPICS;
  const devEui = uplink.devEui.toUpperCase();
  const payload: NodeStatusPayload = {
    devEui,
    deviceName: device.name,
    fcnt: uplink.fcnt32,
    time: isoSeconds(times.uplinkTimeMs),
    resultTime: isoMillis(times.resultTimeMs),
    firmware: status.fwVersion,
    uptimeS: status.uptimeS,
    resetCause: status.resetCause,
    batteryV: status.batteryMv === null ? null : roundTo(status.batteryMv / 1000, 3),
    flags: status.flags,
    flagNames: status.flagNames,
    config: { id: status.cfgId, result: status.cfgResult, resultName: status.cfgResultName },
    dropped: status.dropped,
    noisePulses: status.noisePulses,
  };
  return {
    id: `${devEui}-${formatFcnt(uplink.fcnt32)}-status`,
    topic: topics.nodeStatus(devEui),
    payload: JSON.stringify(payload),
    retain: true,
    qos: 1,
    deviceKey: devEui,
  };
}
