/**
 * EU868 duty cycle per sub-band (ETSI EN 300 220-2 V3.2.1, Annex B; LoRaWAN Regional Parameters RP002
 * §2.1.2): after a transmission of `airtime` on a channel, the whole sub-band of that channel stays closed
 * to this device until `start + airtime / dutyCycle` — i.e. an off time of airtime × (1/dc − 1) after the
 * end. The device may still use a channel of another sub-band, once its radio is free again.
 */

export interface SubBand {
  name: string;
  minMhz: number;
  maxMhz: number;
  /** Fraction of time, e.g. 0.01 for 1 %. */
  dutyCycle: number;
}

/** ETSI EN 300 220 sub-bands that EU868 LoRaWAN channels fall into. */
export const EU868_SUB_BANDS: readonly SubBand[] = [
  { name: "g (865.0–868.0 MHz, 1 %)", minMhz: 865.0, maxMhz: 868.0, dutyCycle: 0.01 },
  { name: "g1 (868.0–868.6 MHz, 1 %)", minMhz: 868.0, maxMhz: 868.6, dutyCycle: 0.01 },
  { name: "g2 (868.7–869.2 MHz, 0.1 %)", minMhz: 868.7, maxMhz: 869.2, dutyCycle: 0.001 },
  { name: "g3 (869.4–869.65 MHz, 10 %)", minMhz: 869.4, maxMhz: 869.65, dutyCycle: 0.1 },
  { name: "g4 (869.7–870.0 MHz, 1 %)", minMhz: 869.7, maxMhz: 870.0, dutyCycle: 0.01 },
];

/**
 * Uplink channels: the three mandatory EU868 channels (sub-band g1) and the five that The Things Network
 * adds (867.1–867.9 MHz, sub-band g). An ABP device is provisioned with them.
 */
export const EU868_UPLINK_CHANNELS_MHZ: readonly number[] = [
  868.1, 868.3, 868.5, 867.1, 867.3, 867.5, 867.7, 867.9,
];

/** The wait after the end of a transmission before its sub-band may be used again, ms. */
export function offTimeMs(airtimeMs: number, dutyCycle: number): number {
  return airtimeMs * (1 / dutyCycle - 1);
}

export function subBandOf(freqMhz: number, bands: readonly SubBand[] = EU868_SUB_BANDS): number {
  // A channel sits inside a band with its whole 125 kHz; comparing the centre frequency is enough here.
  const i = bands.findIndex((b) => freqMhz >= b.minMhz && freqMhz < b.maxMhz);
  if (i < 0) throw new RangeError(`${freqMhz} MHz is in no EU868 sub-band`);
  return i;
}

export interface DutyCycleState {
  /** Per sub-band index: virtual ms from which it may be used again. */
  closedUntilMs: number[];
}

/** One device's duty-cycle bookkeeping. Host-side MAC state: it survives a reboot of the firmware module. */
export class DutyCycle {
  readonly channels: readonly number[];
  private readonly bandOfChannel: number[];
  private readonly closedUntil: number[];

  constructor(
    channels: readonly number[] = EU868_UPLINK_CHANNELS_MHZ,
    private readonly bands: readonly SubBand[] = EU868_SUB_BANDS,
    state?: DutyCycleState,
  ) {
    this.channels = channels;
    this.bandOfChannel = channels.map((f) => subBandOf(f, bands));
    this.closedUntil = bands.map((_, i) => state?.closedUntilMs[i] ?? Number.NEGATIVE_INFINITY);
  }

  /** Indexes (into `channels`) of the channels that may transmit at `nowMs`. */
  openChannels(nowMs: number): number[] {
    const open: number[] = [];
    for (let c = 0; c < this.channels.length; c++) {
      if (this.closedUntil[this.bandOfChannel[c]!]! <= nowMs) open.push(c);
    }
    return open;
  }

  /** The earliest virtual time at which some channel is open. */
  nextOpenMs(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const band of this.bandOfChannel) earliest = Math.min(earliest, this.closedUntil[band]!);
    return earliest;
  }

  /** Books a transmission starting at `startMs` on channel index `channel`. */
  record(channel: number, startMs: number, airtimeMs: number): void {
    const band = this.bandOfChannel[channel];
    if (band === undefined) throw new RangeError(`no channel ${channel}`);
    const dc = this.bands[band]!.dutyCycle;
    this.closedUntil[band] = Math.max(this.closedUntil[band]!, startMs + airtimeMs / dc);
  }

  state(): DutyCycleState {
    return { closedUntilMs: [...this.closedUntil] };
  }
}
