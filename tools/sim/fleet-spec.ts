/**
 * A fleet description: which nodes (kind, position, ABP session, data rate, sensor models) and which gateway
 * sites, derived deterministically from a seed. Pure data; `provisioning.ts` turns it into the gateway's
 * registry and the nodes' configurations, `fleet.ts` runs it.
 */
import { type DataRate, eu868DataRateForSf } from "../../shared/airtime.ts";
import type { ConfigPatch } from "../../shared/payload/index.ts";
import type { AbpSession } from "./lorawan-mac.ts";
import type { ClimateModelOptions } from "./models/climate.ts";
import { Random } from "./models/random.ts";
import {
  DEFAULT_PATH_LOSS,
  DEFAULT_TX_POWER_DBM,
  distanceM,
  type PathLossModel,
  type Position,
  pathLossDb,
  sensitivityDbm,
} from "./radio-channel.ts";

export type NodeKind = "climate" | "bike" | "both";
/** "mixed": of every four nodes two climate, one bike, one both. */
export type KindMix = NodeKind | "mixed";
export const NODE_KINDS: readonly KindMix[] = ["climate", "bike", "both", "mixed"];

/** 2026-06-01T00:00:00Z, a Monday: the default start of simulated time. */
export const DEFAULT_START_S = 1_780_272_000;
/** Hannover, Kröpcke: where the simulated town is (matters only for the registry's coordinates). */
export const DEFAULT_ORIGIN = Object.freeze({ lat: 52.3745, lon: 9.7386 });

export interface LatLon {
  lat: number;
  lon: number;
}

export interface BikeSpec {
  /** Arrival rate of the main direction at the rush-hour peak (commuterProfile), per hour. */
  peakPerHour: number;
  /** Random single spikes per channel per hour. */
  noisePerHour: number;
  /** Probability that a wheel's pulse is missed. */
  missProbability: number;
  /** Timing jitter of the pulses (σ), ms. */
  jitterMs: number;
  /** Distance between channel A and B, mm (also written into the node's configuration). */
  spacingMm: number;
}

export interface NodeSpec {
  /** Unique; also the registry name. */
  name: string;
  kind: NodeKind;
  session: AbpSession;
  position: Position;
  location: LatLon & { heightM: number };
  dataRate: DataRate;
  txPowerDbm: number;
  /** Seed of the node's own random stream (sensors, traffic, radio draws). */
  seed: number;
  /** The provisioning configuration (FPort 10), cfgId included. */
  config: ConfigPatch;
  climate: Omit<ClimateModelOptions, "seed">;
  bike: BikeSpec;
  /** FCnt of the first uplink (to exercise the 16-bit roll-over). */
  fcntStart: number;
}

export interface SiteSpec {
  id: string;
  gatewayEui: string;
  position: Position;
  location: LatLon & { altM: number };
}

export interface FleetSpec {
  seed: number;
  /** Start of simulated time, Unix s. */
  startS: number;
  origin: LatLon;
  nodes: NodeSpec[];
  sites: SiteSpec[];
  pathLoss: PathLossModel;
}

export interface FleetSpecOptions {
  /** Number of nodes. */
  nodes: number;
  /** Default "mixed". */
  kind?: KindMix;
  /** Default 1. */
  seed?: number;
  /** Start of simulated time, Unix s. Default DEFAULT_START_S. */
  startS?: number;
  /** Gateway sites: a number (1 at the centre, more on a ring) or explicit positions. Default 1. */
  sites?: number | Array<{ position: Position; id?: string; gatewayEui?: string }>;
  /** Nodes are spread uniformly over a disc of this radius around the origin, m. Default 2000. */
  areaRadiusM?: number;
  /** Radius of the ring the sites stand on when there are several, m. Default 1000. */
  siteRingRadiusM?: number;
  /**
   * Spreading factor of every node, or "auto": the fastest whose median link to the nearest site keeps
   * `marginDb` above the sensitivity (what ADR would settle on). Default "auto".
   */
  sf?: number | "auto";
  /** Default 10 dB. */
  marginDb?: number;
  /** Configuration entries for every node, over the defaults (cfgId 1, sensors by kind, tube spacing). */
  config?: ConfigPatch;
  /** Day (0 = the first simulated day) on which every climate node sees a heat day. Default none. */
  heatDay?: number;
  /** FCnt of every node's first uplink. Default 0. */
  fcntStart?: number;
  txPowerDbm?: number;
  bike?: Partial<BikeSpec>;
  pathLoss?: Partial<PathLossModel>;
  origin?: LatLon;
}

const SENSOR_BITS: Record<NodeKind, number> = { climate: 1, bike: 2, both: 3 };
const MIXED: readonly NodeKind[] = ["climate", "climate", "bike", "both"];

export function kindOf(mix: KindMix, index: number): NodeKind {
  return mix === "mixed" ? MIXED[index % MIXED.length]! : mix;
}

function hex(value: number, digits: number): string {
  return (value >>> 0).toString(16).toUpperCase().padStart(digits, "0").slice(-digits);
}

function randomHex(random: Random, bytes: number): string {
  let s = "";
  for (let i = 0; i < bytes; i++) s += hex(random.int(0, 255), 2);
  return s;
}

/** Metres east/north of `origin` to latitude/longitude (equirectangular: fine over a town). */
export function toLatLon(origin: LatLon, p: Position): LatLon {
  const lat = origin.lat + p.y / 111_132;
  const lon = origin.lon + p.x / (111_320 * Math.cos((origin.lat * Math.PI) / 180));
  return { lat: Math.round(lat * 1e6) / 1e6, lon: Math.round(lon * 1e6) / 1e6 };
}

/** The fastest SF (7..12) whose median link to the nearest site has `marginDb` to spare; SF12 if none. */
export function autoSf(
  position: Position,
  sites: readonly { position: Position }[],
  txPowerDbm: number,
  marginDb: number,
  model: PathLossModel = DEFAULT_PATH_LOSS,
): number {
  const nearest = Math.min(...sites.map((s) => distanceM(position, s.position)));
  const rssi = txPowerDbm - pathLossDb(nearest, model);
  for (let sf = 7; sf <= 12; sf++) if (rssi - marginDb >= sensitivityDbm(sf)) return sf;
  return 12;
}

function siteSpecs(options: FleetSpecOptions, origin: LatLon): SiteSpec[] {
  const given = options.sites ?? 1;
  const ring = options.siteRingRadiusM ?? 1000;
  const positions =
    typeof given === "number"
      ? Array.from({ length: given }, (_, i): Position => {
          if (given === 1) return { x: 0, y: 0 };
          const angle = Math.PI / 2 + (2 * Math.PI * i) / given;
          return { x: Math.round(ring * Math.cos(angle)), y: Math.round(ring * Math.sin(angle)) };
        })
      : given.map((s) => s.position);
  if (positions.length === 0) throw new RangeError("a fleet needs at least one gateway site");
  return positions.map((position, i) => {
    const explicit = typeof given === "number" ? undefined : given[i];
    return {
      id: explicit?.id ?? `site-${i + 1}`,
      gatewayEui: explicit?.gatewayEui ?? `5EEDFFFE0000${hex(i + 1, 4)}`,
      position,
      location: { ...toLatLon(origin, position), altM: 30 },
    };
  });
}

export function describeFleet(options: FleetSpecOptions): FleetSpec {
  const count = options.nodes;
  if (!Number.isInteger(count) || count < 0 || count > 100_000) {
    throw new RangeError(`nodes must be an integer 0..100000, got ${count}`);
  }
  const seed = (options.seed ?? 1) >>> 0;
  const startS = options.startS ?? DEFAULT_START_S;
  const origin = options.origin ?? DEFAULT_ORIGIN;
  const mix = options.kind ?? "mixed";
  const radius = options.areaRadiusM ?? 2000;
  const txPowerDbm = options.txPowerDbm ?? DEFAULT_TX_POWER_DBM;
  const marginDb = options.marginDb ?? 10;
  const pathLoss = { ...DEFAULT_PATH_LOSS, ...options.pathLoss };
  const sites = siteSpecs(options, origin);
  const root = new Random(seed);
  const devAddrBase = root.int(0, 0x1ffffff);
  const euiSeed = hex(seed, 6);
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < count; i++) {
    const random = root.fork();
    const nodeSeed = random.int(0, 0xffffffff);
    const kind = kindOf(mix, i);
    // Uniform over the disc: radius ∝ √u.
    const r = radius * Math.sqrt(random.next());
    const angle = 2 * Math.PI * random.next();
    const position = { x: Math.round(r * Math.cos(angle)), y: Math.round(r * Math.sin(angle)) };
    const session: AbpSession = {
      devEui: `5EED${euiSeed}${hex(i, 6)}`,
      devAddr: hex(0x26000000 + ((devAddrBase + i) % 0x2000000), 8),
      nwkSKey: randomHex(random, 16),
      appSKey: randomHex(random, 16),
    };
    const sf =
      options.sf === undefined || options.sf === "auto"
        ? autoSf(position, sites, txPowerDbm, marginDb, pathLoss)
        : options.sf;
    const bike: BikeSpec = {
      peakPerHour: Math.round(random.uniform(60, 240)),
      noisePerHour: 1,
      missProbability: 0,
      jitterMs: 2,
      spacingMm: 1000,
      ...options.bike,
    };
    const config: ConfigPatch = {
      cfgId: 1,
      sensors: SENSOR_BITS[kind],
      ...(kind === "climate" ? {} : { tubeSpacingMm: bike.spacingMm }),
      ...options.config,
    };
    nodes.push({
      name: `sim-${kind}-${String(i + 1).padStart(3, "0")}`,
      kind,
      session,
      position,
      location: { ...toLatLon(origin, position), heightM: 4 },
      dataRate: eu868DataRateForSf(sf),
      txPowerDbm,
      seed: nodeSeed,
      config,
      climate: {
        // Heat island: the centre is warmer than the edge of town.
        baseC: Math.round((18 - r / 1000 + random.normal(0, 0.3)) * 100) / 100,
        amplitudeC: Math.round(random.uniform(4, 6) * 100) / 100,
        dewPointC: 7,
        ...(options.heatDay === undefined ? {} : { heatDay: { dayS: startS + options.heatDay * 86_400 } }),
      },
      bike,
      fcntStart: options.fcntStart ?? 0,
    });
  }
  return { seed, startS, origin, nodes, sites, pathLoss };
}
