// Decoded uplinks → outgoing MQTT messages. Every observation is shaped like an OGC SensorThings Observation
// with a deterministic id, so that consumers drop the duplicates that several gateways publish for one frame.
// By default one message per uplink and datastream carries that uplink's observations (a batch); "observation"
// grouping sends one message per observation instead. Pure: no I/O, no clock. Format and examples: ./README.md.
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

/**
 * "uplink" (default): one message per uplink and datastream, an ObservationBatch. "observation": one message
 * per observation, an ObservationEnvelope. Why the default: ./README.md, "Grouping".
 */
export type ObservationGrouping = "uplink" | "observation";
export const OBSERVATION_GROUPINGS: readonly ObservationGrouping[] = ["uplink", "observation"];

export interface ObservationOptions {
  topics?: TopicScheme;
  grouping?: ObservationGrouping;
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

type Parameters = ObservationEnvelope["parameters"];

/** What every observation of one uplink and datastream shares. */
type SharedParameters = Omit<Parameters, "sampleIndex">;

/** One observation inside a batch: what differs between the observations of one uplink and datastream. */
export interface BatchedObservation {
  "@iot.id": string;
  phenomenonTime: string;
  resultTime: string;
  result: number;
  parameters: { sampleIndex: number };
}

/**
 * One uplink's observations of one datastream. Merging `parameters` into each observation's and adding the
 * shared fields gives exactly the ObservationEnvelopes that "observation" grouping publishes
 * (`expandObservations`).
 */
export interface ObservationBatch {
  /** `<DevEUI>-<FCnt32 as 8 hex>-<datastream>`. */
  "@iot.id": string;
  unitOfMeasurement: UnitOfMeasurement;
  Datastream: ObservationEnvelope["Datastream"];
  FeatureOfInterest?: FeatureOfInterest;
  parameters: SharedParameters;
  Observations: BatchedObservation[];
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
 * With "uplink" grouping each datastream's observations form one message, with "observation" grouping each
 * is a message. Missing samples (null) produce no observation, a datastream without any no message. Throws
 * RangeError only for impossible times or counters (a bug in the caller, never the payload).
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
  let series: Series[];
  switch (decoded.kind) {
    case "climate":
      series = climateSeries(ctx, decoded);
      break;
    case "bike":
      series = bikeSeries(ctx, decoded, (options.binAlignToleranceS ?? DEFAULT_BIN_ALIGN_TOLERANCE_S) * 1000);
      break;
    case "status":
      return [buildNodeStatusMessage(uplink, decoded, device, times, options)];
  }
  const nonEmpty = series.filter((s) => s.samples.length > 0);
  // "observation" grouping sends the batch's observations expanded: one format, two shapes.
  return (options.grouping ?? "uplink") === "uplink"
    ? nonEmpty.map((s) => batchMessage(ctx, s))
    : nonEmpty.flatMap((s) => envelopesOf(batchOf(ctx, s)).map((e) => message(ctx, s.name, e)));
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

interface Sample {
  index: number;
  phenomenonTime: string;
  value: number;
}

/** The samples of one datastream in one uplink, oldest first. */
interface Series {
  name: DatastreamName;
  extra: { intervalS?: number; binS?: number; directionAB?: string };
  samples: Sample[];
}

function climateSeries(ctx: Context, batch: ClimateBatch): Series[] {
  const extra = { intervalS: batch.intervalS };
  const temperature: Series = { name: "air_temperature", extra, samples: [] };
  const humidity: Series = { name: "relative_humidity", extra, samples: [] };
  for (const s of batch.samples) {
    const phenomenonTime = isoSeconds(ctx.times.uplinkTimeMs - s.secondsBeforeUplink * 1000);
    if (s.temperatureC !== null)
      temperature.samples.push({ index: s.index, phenomenonTime, value: s.temperatureC });
    if (s.humidityPct !== null)
      humidity.samples.push({ index: s.index, phenomenonTime, value: s.humidityPct });
  }
  const battery: Series = { name: "battery_voltage", extra: {}, samples: [] };
  if (batch.batteryMv !== null) {
    const phenomenonTime = isoSeconds(ctx.times.uplinkTimeMs);
    battery.samples.push({ index: 0, phenomenonTime, value: batch.batteryMv / 1000 });
  }
  return [temperature, humidity, battery];
}

function bikeSeries(ctx: Context, batch: BikeBatch, toleranceMs: number): Series[] {
  const newest = batch.bins[batch.bins.length - 1];
  if (newest === undefined) return [];
  const at = (secondsBefore: number) => ctx.times.uplinkTimeMs - secondsBefore * 1000;
  const offset = alignmentOffsetMs(at(newest.endSecondsBeforeUplink), batch.binS * 1000, toleranceMs);
  const extra = {
    binS: batch.binS,
    ...(ctx.device.directionAB === undefined ? {} : { directionAB: ctx.device.directionAB }),
  };
  const ab: Series = { name: "bicycles_ab", extra, samples: [] };
  const ba: Series = { name: "bicycles_ba", extra, samples: [] };
  for (const bin of batch.bins) {
    const start = isoSeconds(at(bin.startSecondsBeforeUplink) + offset);
    const end = isoSeconds(at(bin.endSecondsBeforeUplink) + offset);
    const phenomenonTime = `${start}/${end}`;
    ab.samples.push({ index: bin.index, phenomenonTime, value: bin.ab });
    ba.samples.push({ index: bin.index, phenomenonTime, value: bin.ba });
  }
  return [ab, ba];
}

function datastreamOf(ctx: Context, name: DatastreamName): ObservationEnvelope["Datastream"] {
  const spec = DATASTREAMS[name];
  return {
    "@iot.id": datastreamId(ctx.devEui, name),
    name: `${ctx.device.name} ${spec.label}`,
    observedProperty: spec.observedProperty,
  };
}

function sharedParameters(ctx: Context, series: Series): SharedParameters {
  return {
    licence: ctx.device.licence,
    deviceName: ctx.device.name,
    fcnt: ctx.uplink.fcnt32,
    ...series.extra,
  };
}

function topicOf(ctx: Context, name: DatastreamName): string {
  return DATASTREAMS[name].open
    ? ctx.topics.observation(ctx.devEui, name)
    : ctx.topics.nodeBattery(ctx.devEui);
}

function batchOf(ctx: Context, series: Series): ObservationBatch {
  const { name } = series;
  const decimals = DATASTREAMS[name].decimals;
  return {
    "@iot.id": batchId(ctx.devEui, ctx.uplink.fcnt32, name),
    unitOfMeasurement: DATASTREAMS[name].unitOfMeasurement,
    Datastream: datastreamOf(ctx, name),
    FeatureOfInterest: ctx.foi,
    parameters: sharedParameters(ctx, series),
    Observations: series.samples.map((sample) => ({
      "@iot.id": observationId(ctx.devEui, ctx.uplink.fcnt32, name, sample.index),
      phenomenonTime: sample.phenomenonTime,
      resultTime: ctx.resultTime,
      result: roundTo(sample.value, decimals),
      parameters: { sampleIndex: sample.index },
    })),
  };
}

/** The message of a batch, or of one of its observations. */
function message(
  ctx: Context,
  name: DatastreamName,
  body: ObservationEnvelope | ObservationBatch,
): OutgoingMessage {
  return {
    id: body["@iot.id"],
    topic: topicOf(ctx, name),
    payload: JSON.stringify(body),
    retain: false,
    qos: 1,
    deviceKey: ctx.devEui,
  };
}

/**
 * The message of a batch, its JSON written directly: exactly JSON.stringify(batchOf(ctx, series)), without
 * building the object first (stringify was the largest single cost per frame in the gateway's profile; the
 * envelopes of a climate frame went from 26 to 15 µs).
 * Ids and times are plain ASCII by construction; every other string goes through JSON.stringify.
 */
function batchMessage(ctx: Context, series: Series): OutgoingMessage {
  const { name, samples } = series;
  if (!PLAIN_DEV_EUI.test(ctx.devEui)) return message(ctx, name, batchOf(ctx, series));
  const spec = DATASTREAMS[name];
  const id = batchId(ctx.devEui, ctx.uplink.fcnt32, name);
  const datastream = `{"@iot.id":"${datastreamId(ctx.devEui, name)}","name":${JSON.stringify(`${ctx.device.name} ${spec.label}`)},"observedProperty":${staticJson(spec.observedProperty)}}`;
  // Joined, not concatenated: join gives one flat string, += a tree of a hundred pieces that the garbage
  // collector would trace and promote for as long as the message waits in the journal's cache.
  const parts = [
    `{"@iot.id":"${id}","unitOfMeasurement":${staticJson(spec.unitOfMeasurement)},"Datastream":${datastream}`,
    `,"FeatureOfInterest":${JSON.stringify(ctx.foi)},"parameters":${JSON.stringify(sharedParameters(ctx, series))}`,
    `,"Observations":[`,
  ];
  const tail = `","resultTime":"${ctx.resultTime}","result":`;
  for (let i = 0; i < samples.length; i++) {
    const { index, phenomenonTime, value } = samples[i]!;
    parts.push(
      `${i === 0 ? "" : ","}{"@iot.id":"${id}-${index}","phenomenonTime":"${phenomenonTime}${tail}${jsonNumber(roundTo(value, spec.decimals))},"parameters":{"sampleIndex":${index}}}`,
    );
  }
  parts.push("]}");
  return {
    id,
    topic: topicOf(ctx, name),
    payload: parts.join(""),
    retain: false,
    qos: 1,
    deviceKey: ctx.devEui,
  };
}

/** A DevEUI that needs no escaping in JSON (the registry only accepts these). */
const PLAIN_DEV_EUI = /^[0-9A-F]{16}$/;

/** JSON of the datastream specs' constant parts, once per object. */
const staticJsonCache = new WeakMap<object, string>();
function staticJson(value: object): string {
  let json = staticJsonCache.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    staticJsonCache.set(value, json);
  }
  return json;
}

/** As JSON.stringify writes a number. */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}

/** `<DevEUI>-<FCnt32 as 8 hex>-<datastream>`: the id of one uplink's batch of one datastream. */
export function batchId(devEui: string, fcnt32: number, datastream: string): string {
  return `${devEui.toUpperCase()}-${formatFcnt(fcnt32)}-${datastream}`;
}

/**
 * The observations of a parsed message from an observation topic, whichever the grouping: an ObservationBatch
 * gives one ObservationEnvelope per entry of `Observations`, identical to what "observation" grouping sends;
 * an ObservationEnvelope gives itself. For consumers and tests; undefined when the value is neither.
 */
export function expandObservations(value: unknown): ObservationEnvelope[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (!Array.isArray(record.Observations)) {
    return typeof record["@iot.id"] === "string" && "result" in record
      ? [value as ObservationEnvelope]
      : undefined;
  }
  if (!isObject(record.parameters) || !record.Observations.every(isBatchedObservation)) return undefined;
  return envelopesOf(value as ObservationBatch);
}

/** A batch's observations, each with the batch's shared fields. */
function envelopesOf(batch: ObservationBatch): ObservationEnvelope[] {
  return batch.Observations.map((o) => ({
    "@iot.id": o["@iot.id"],
    phenomenonTime: o.phenomenonTime,
    resultTime: o.resultTime,
    result: o.result,
    unitOfMeasurement: batch.unitOfMeasurement,
    Datastream: batch.Datastream,
    ...(batch.FeatureOfInterest === undefined ? {} : { FeatureOfInterest: batch.FeatureOfInterest }),
    parameters: withSampleIndex(batch.parameters, o.parameters.sampleIndex),
  }));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Enough of a BatchedObservation for expandObservations not to throw. */
function isBatchedObservation(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof value["@iot.id"] === "string" &&
    "result" in value &&
    isObject(value.parameters) &&
    typeof value.parameters.sampleIndex === "number"
  );
}

/** An observation's parameters, keys in the documented order. */
function withSampleIndex(shared: SharedParameters, sampleIndex: number): Parameters {
  const { licence, deviceName, fcnt, ...extra } = shared;
  return { licence, deviceName, sampleIndex, fcnt, ...extra };
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
