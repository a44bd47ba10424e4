// The datastreams a node can have, with their observed property and unit. Units follow UCUM
// (https://ucum.org/ucum): `symbol` is the human-readable symbol, `definition` is always "ucum:" followed by
// the case-sensitive UCUM code, so a consumer gets the code with definition.slice(5).
import type { SensorKind } from "../lorawan/registry.ts";

export type OpenDatastream = "air_temperature" | "relative_humidity" | "bicycles_ab" | "bicycles_ba";
/** Operator data, never on the open-data topics. */
export type OperatorDatastream = "battery_voltage";
export type DatastreamName = OpenDatastream | OperatorDatastream;

export interface UnitOfMeasurement {
  name: string;
  symbol: string;
  /** "ucum:" + UCUM code. */
  definition: string;
}

export interface ObservedProperty {
  name: string;
  /** A resolvable vocabulary URI where one exists (CF standard names), else an OpenHerz URN. */
  definition: string;
  description: string;
}

export interface DatastreamSpec {
  name: DatastreamName;
  /** Human-readable, used in "<device name> <label>". */
  label: string;
  description: string;
  sensor: SensorKind;
  open: boolean;
  observedProperty: ObservedProperty;
  unitOfMeasurement: UnitOfMeasurement;
  /** Decimals the payload resolution allows (PAYLOAD.md, "Value ranges"). */
  decimals: number;
}

const CELSIUS: UnitOfMeasurement = { name: "degree Celsius", symbol: "°C", definition: "ucum:Cel" };
const PERCENT: UnitOfMeasurement = { name: "percent", symbol: "%", definition: "ucum:%" };
const BICYCLES: UnitOfMeasurement = { name: "bicycles", symbol: "{bicycles}", definition: "ucum:{bicycles}" };
const VOLT: UnitOfMeasurement = { name: "volt", symbol: "V", definition: "ucum:V" };

const BICYCLE_COUNT: ObservedProperty = {
  name: "bicycle count",
  definition: "urn:openherz:observed-property:bicycle-count",
  description: "Bicycles that passed the counter during the time interval, in one direction",
};

export const DATASTREAMS: Readonly<Record<DatastreamName, Readonly<DatastreamSpec>>> = {
  air_temperature: {
    name: "air_temperature",
    label: "air temperature",
    description: "Air temperature near the node, sampled at the node's climate interval",
    sensor: "climate",
    open: true,
    observedProperty: {
      name: "air temperature",
      definition: "http://vocab.nerc.ac.uk/standard_name/air_temperature/",
      description: "Temperature of the ambient air (CF standard name air_temperature)",
    },
    unitOfMeasurement: CELSIUS,
    decimals: 2,
  },
  relative_humidity: {
    name: "relative_humidity",
    label: "relative humidity",
    description: "Relative humidity of the air near the node, sampled at the node's climate interval",
    sensor: "climate",
    open: true,
    observedProperty: {
      name: "relative humidity",
      definition: "http://vocab.nerc.ac.uk/standard_name/relative_humidity/",
      description: "Relative humidity of the ambient air (CF standard name relative_humidity), in percent",
    },
    unitOfMeasurement: PERCENT,
    decimals: 2,
  },
  bicycles_ab: {
    name: "bicycles_ab",
    label: "bicycles A→B",
    description: "Bicycles per time bin in direction A→B (the device metadata's directionAB says which way)",
    sensor: "bike",
    open: true,
    observedProperty: BICYCLE_COUNT,
    unitOfMeasurement: BICYCLES,
    decimals: 0,
  },
  bicycles_ba: {
    name: "bicycles_ba",
    label: "bicycles B→A",
    description: "Bicycles per time bin in direction B→A (the opposite of directionAB)",
    sensor: "bike",
    open: true,
    observedProperty: BICYCLE_COUNT,
    unitOfMeasurement: BICYCLES,
    decimals: 0,
  },
  battery_voltage: {
    name: "battery_voltage",
    label: "battery voltage",
    description: "Battery voltage of the node at the time of the uplink (operator data)",
    sensor: "climate",
    open: false,
    observedProperty: {
      name: "battery voltage",
      definition: "urn:openherz:observed-property:battery-voltage",
      description: "Voltage of the node's battery",
    },
    unitOfMeasurement: VOLT,
    decimals: 3,
  },
};

const BY_SENSOR: Record<SensorKind, OpenDatastream[]> = {
  climate: ["air_temperature", "relative_humidity"],
  bike: ["bicycles_ab", "bicycles_ba"],
};

/** The open-data datastreams of the sensors fitted, in a fixed order (climate first). */
export function openDatastreamsFor(sensors: readonly SensorKind[]): DatastreamSpec[] {
  const out: DatastreamSpec[] = [];
  for (const kind of ["climate", "bike"] as const) {
    if (sensors.includes(kind)) for (const name of BY_SENSOR[kind]) out.push(DATASTREAMS[name]);
  }
  return out;
}

/** Rounds to the datastream's resolution, so binary floating point never shows as 21.570000000000004. */
export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  const r = Math.round(value * f) / f;
  return r === 0 ? 0 : r; // no -0
}
