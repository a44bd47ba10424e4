/**
 * The radio channel between nodes and gateway sites: log-distance path loss with log-normal shadowing,
 * receiver sensitivity per spreading factor, and random loss. Pure maths plus a seeded random source; the
 * same transmission may be heard by several sites, each with its own RSSI and SNR.
 *
 * Path loss (Rappaport, "Wireless Communications", §4.9-4.11):
 *   PL(d) = PL(d0) + 10 · n · log10(d / d0) + X_link + X_frame
 * with PL(d0) the free-space loss at d0 = 1 m (31.2 dB at 868 MHz), n = 3.0 (urban, antennas on lamp posts
 * and masts), X_link ~ N(0, 4 dB) fixed per node–site link (buildings in the way), X_frame ~ N(0, 2 dB) per
 * frame (fading). With 14 dBm that gives about 3.4 km at SF7 and 10 km at SF12 for a median link.
 *
 * Receiver: sensitivity of an SX1276/SX1301 at 125 kHz (SX1276 datasheet, table 13): SF7 −123 dBm …
 * SF12 −137 dBm. SNR = RSSI − noise floor (−174 dBm/Hz + 10·log10(BW) + 6 dB noise figure = −117 dBm at
 * 125 kHz), capped where real concentrators saturate (+13.5 dB). Collisions between nodes are not modelled:
 * `loss` stands for them and for all other losses, independently per frame and site.
 */
import type { Random } from "./models/random.ts";

/** Metres east (x) and north (y) of the fleet's origin. */
export interface Position {
  x: number;
  y: number;
}

export interface PathLossModel {
  /** Loss at the reference distance, dB. Default 31.2 (free space at 868 MHz, 1 m). */
  referenceLossDb: number;
  /** Reference distance, m. Default 1. */
  referenceDistanceM: number;
  /** Path-loss exponent. Default 3.0. */
  exponent: number;
  /** Standard deviation of the per-link shadowing, dB. Default 4. */
  shadowingSdDb: number;
  /** Standard deviation of the per-frame fading, dB. Default 2. */
  fadingSdDb: number;
}

export const DEFAULT_PATH_LOSS: Readonly<PathLossModel> = Object.freeze({
  referenceLossDb: 31.2,
  referenceDistanceM: 1,
  exponent: 3.0,
  shadowingSdDb: 4,
  fadingSdDb: 2,
});

/** Receiver sensitivity at 125 kHz, dBm (SX1276 datasheet, table 13). */
export const SENSITIVITY_DBM: Readonly<Record<number, number>> = Object.freeze({
  7: -123,
  8: -126,
  9: -129,
  10: -132,
  11: -134.5,
  12: -137,
});

export const NOISE_FIGURE_DB = 6;
/** Highest SNR a concentrator reports. */
export const MAX_SNR_DB = 13.5;
/** EU868 default uplink EIRP, dBm. */
export const DEFAULT_TX_POWER_DBM = 14;

export function distanceM(a: Position, b: Position): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/** Median path loss at `distanceM` (no shadowing, no fading), dB. Distances under d0 count as d0. */
export function pathLossDb(distance: number, model: PathLossModel = DEFAULT_PATH_LOSS): number {
  const d = Math.max(distance, model.referenceDistanceM);
  return model.referenceLossDb + 10 * model.exponent * Math.log10(d / model.referenceDistanceM);
}

export function sensitivityDbm(sf: number): number {
  const s = SENSITIVITY_DBM[sf];
  if (s === undefined) throw new RangeError(`no sensitivity for SF${sf}`);
  return s;
}

/** Thermal noise over the bandwidth plus the receiver's noise figure, dBm. */
export function noiseFloorDbm(bwKhz = 125, noiseFigureDb = NOISE_FIGURE_DB): number {
  return -174 + 10 * Math.log10(bwKhz * 1000) + noiseFigureDb;
}

export function snrDb(rssiDbm: number, bwKhz = 125): number {
  return Math.min(MAX_SNR_DB, rssiDbm - noiseFloorDbm(bwKhz));
}

/** Distance at which the median link is exactly at the sensitivity of `sf`, m. */
export function rangeM(sf: number, txPowerDbm = DEFAULT_TX_POWER_DBM, model = DEFAULT_PATH_LOSS): number {
  const maxLoss = txPowerDbm - sensitivityDbm(sf);
  return model.referenceDistanceM * 10 ** ((maxLoss - model.referenceLossDb) / (10 * model.exponent));
}

export interface Site {
  id: string;
  position: Position;
}

export interface Reception {
  siteIndex: number;
  rssiDbm: number;
  snrDb: number;
}

export interface RadioChannelOptions {
  sites: readonly Site[];
  /** Probability that a frame a site could hear is lost anyway, per frame and site. Default 0. */
  loss?: number;
  model?: Partial<PathLossModel>;
}

export class RadioChannel {
  readonly sites: readonly Site[];
  readonly model: PathLossModel;
  private readonly loss: number;
  /** Shadowing per link, keyed by the node's id, one entry per site. */
  private readonly shadowing = new Map<string, number[]>();

  constructor(options: RadioChannelOptions) {
    const loss = options.loss ?? 0;
    if (!(loss >= 0 && loss <= 1)) throw new RangeError(`loss must be 0..1, got ${loss}`);
    this.sites = options.sites;
    this.model = { ...DEFAULT_PATH_LOSS, ...options.model };
    this.loss = loss;
  }

  /** Fixes the shadowing of a node's links, drawn from the node's own stream. */
  addNode(nodeId: string, random: Random): void {
    this.shadowing.set(
      nodeId,
      this.sites.map(() => random.normal(0, this.model.shadowingSdDb)),
    );
  }

  /** Mean RSSI of the link (shadowing included, no fading), dBm. */
  linkRssiDbm(nodeId: string, position: Position, siteIndex: number, txPowerDbm: number): number {
    const site = this.sites[siteIndex];
    if (site === undefined) throw new RangeError(`no site ${siteIndex}`);
    const shadow = this.shadowing.get(nodeId)?.[siteIndex] ?? 0;
    return txPowerDbm - pathLossDb(distanceM(position, site.position), this.model) - shadow;
  }

  /**
   * The sites that hear one transmission, with what they measure. Fading and loss are drawn from `random`
   * (the node's own stream, so that one node's traffic never shifts another's draws).
   */
  transmit(
    nodeId: string,
    position: Position,
    sf: number,
    txPowerDbm: number,
    random: Random,
    bwKhz = 125,
  ): Reception[] {
    const heard: Reception[] = [];
    const sensitivity = sensitivityDbm(sf);
    for (let i = 0; i < this.sites.length; i++) {
      // Draw both numbers for every site, heard or not, so one site's fate never shifts another's draws.
      const fading = random.normal(0, this.model.fadingSdDb);
      const lost = random.chance(this.loss);
      const rssi = this.linkRssiDbm(nodeId, position, i, txPowerDbm) - fading;
      if (rssi < sensitivity || lost) continue;
      heard.push({ siteIndex: i, rssiDbm: rssi, snrDb: snrDb(rssi, bwKhz) });
    }
    return heard;
  }
}
