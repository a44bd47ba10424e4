/**
 * LoRa time on air and the EU868 data rates, for budgets and benchmarks on the TypeScript side. The firmware
 * computes the same quantity in integer maths (hw/host-abi.md, "Airtime").
 *
 * Formula: Semtech AN1200.13 "LoRa Modem Designer's Guide" §4 (also SX1276 datasheet §4.1.1.7):
 *   T_sym     = 2^SF / BW
 *   T_packet  = (n_preamble + 4.25 + n_payload) · T_sym
 *   n_payload = 8 + max(ceil((8·PL − 4·SF + 28 + 16·CRC − 20·IH) / (4·(SF − 2·DE))) · (CR + 4), 0)
 */

export interface LoraPhyOptions {
  /** Coding rate 4/(4+cr), cr = 1..4. LoRaWAN uses 4/5. */
  codingRate?: 1 | 2 | 3 | 4;
  /** Programmed preamble length in symbols; 8 in every LoRaWAN region. */
  preambleSymbols?: number;
  /** Explicit (variable-length) PHY header; always on for LoRaWAN. */
  explicitHeader?: boolean;
  /** Payload CRC; on for LoRaWAN uplinks, off for downlinks. */
  crc?: boolean;
  /** Low data rate optimisation; default: on when the symbol time reaches 16 ms (SF11/SF12 at 125 kHz). */
  lowDataRateOptimize?: boolean;
}

/** MHDR 1 + DevAddr 4 + FCtrl 1 + FCnt 2 + FPort 1 + MIC 4 bytes, without FOpts (LoRaWAN 1.0.x §4). */
export const LORAWAN_OVERHEAD_BYTES = 13;

/** Time on air of one LoRa packet with `phyPayloadBytes` bytes of PHY payload, in milliseconds. */
export function timeOnAirMs(
  phyPayloadBytes: number,
  sf: number,
  bwKhz = 125,
  opts: LoraPhyOptions = {},
): number {
  if (!Number.isInteger(phyPayloadBytes) || phyPayloadBytes < 0 || phyPayloadBytes > 255) {
    throw new RangeError(`PHY payload must be 0..255 bytes, got ${phyPayloadBytes}`);
  }
  if (!Number.isInteger(sf) || sf < 6 || sf > 12)
    throw new RangeError(`spreading factor must be 6..12, got ${sf}`);
  if (!(bwKhz > 0)) throw new RangeError(`bandwidth must be positive, got ${bwKhz}`);
  const cr = opts.codingRate ?? 1;
  const preamble = opts.preambleSymbols ?? 8;
  const ih = (opts.explicitHeader ?? true) ? 0 : 1;
  const crc = (opts.crc ?? true) ? 1 : 0;
  const symbolMs = 2 ** sf / bwKhz;
  // The datasheet mandates the optimisation when a symbol lasts 16 ms or more.
  const de = (opts.lowDataRateOptimize ?? symbolMs >= 16) ? 1 : 0;
  const numerator = 8 * phyPayloadBytes - 4 * sf + 28 + 16 * crc - 20 * ih;
  const payloadSymbols = 8 + Math.max(Math.ceil(numerator / (4 * (sf - 2 * de))) * (cr + 4), 0);
  return (preamble + 4.25 + payloadSymbols) * symbolMs;
}

/** Time on air of a LoRaWAN uplink carrying `frmPayloadBytes` of application payload (no FOpts), in ms. */
export function uplinkAirtimeMs(frmPayloadBytes: number, sf: number, bwKhz = 125): number {
  return timeOnAirMs(LORAWAN_OVERHEAD_BYTES + frmPayloadBytes, sf, bwKhz);
}

export interface DataRate {
  dr: number;
  sf: number;
  bwKhz: number;
  /** Largest FRMPayload without FOpts (N), repeater-compatible column. */
  maxFrmPayload: number;
}

/** EU863-870 LoRa data rates, LoRaWAN Regional Parameters RP002-1.0.x §2.1 (tables "data rates" and "maximum payload size"). */
export const EU868_DATA_RATES: readonly DataRate[] = [
  { dr: 0, sf: 12, bwKhz: 125, maxFrmPayload: 51 },
  { dr: 1, sf: 11, bwKhz: 125, maxFrmPayload: 51 },
  { dr: 2, sf: 10, bwKhz: 125, maxFrmPayload: 51 },
  { dr: 3, sf: 9, bwKhz: 125, maxFrmPayload: 115 },
  { dr: 4, sf: 8, bwKhz: 125, maxFrmPayload: 222 },
  { dr: 5, sf: 7, bwKhz: 125, maxFrmPayload: 222 },
];

/** The EU868 125 kHz data rate that uses spreading factor `sf` (7..12). */
export function eu868DataRateForSf(sf: number): DataRate {
  const rate = EU868_DATA_RATES.find((r) => r.sf === sf);
  if (rate === undefined) throw new RangeError(`no EU868 125 kHz data rate with SF${sf}`);
  return rate;
}
