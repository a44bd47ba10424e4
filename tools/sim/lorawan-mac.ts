/**
 * The virtual node's LoRaWAN MAC (1.0.x, ABP, unconfirmed data uplinks only): the session, the 32-bit
 * uplink frame counter, the data rate, channel choice and the EU868 duty cycle. This is the host's part of
 * the node (hw/host-abi.md "What the host must persist"): its state lives outside the firmware module and
 * survives the module's reboots, so the frame counter never repeats within the session.
 *
 * Frames are built by lora-packet (FRMPayload encrypted with the AppSKey, MIC over the full 32-bit FCnt
 * with the NwkSKey); only the low 16 bits of FCnt go on air (LoRaWAN 1.0.x §4.3.1.5).
 */
import { fcntMsbBytes } from "../../gateway/lorawan/fcnt.ts";
import { loraPacket } from "../../gateway/lorawan/lora-packet.ts";
import { type DataRate, timeOnAirMs } from "../../shared/airtime.ts";
import { DutyCycle, type DutyCycleState, EU868_UPLINK_CHANNELS_MHZ } from "./duty-cycle.ts";
import type { Random } from "./models/random.ts";

/** An ABP session; hex strings, any case. */
export interface AbpSession {
  devEui: string;
  devAddr: string;
  nwkSKey: string;
  appSKey: string;
}

/** What the host persists for its MAC. */
export interface MacState {
  /** The FCnt of the next uplink (32 bits). */
  fcntUp: number;
  duty: DutyCycleState;
  /** The radio is busy transmitting until then, virtual ms. */
  radioFreeAtMs: number;
}

export interface Transmission {
  fcnt: number;
  fport: number;
  /** The FRMPayload in clear: what the module built. */
  payload: Uint8Array;
  /** The whole LoRaWAN frame as sent on air. */
  phyPayload: Uint8Array;
  freqMhz: number;
  /** Index into the channel list. */
  channel: number;
  sf: number;
  bwKhz: number;
  startMs: number;
  airtimeMs: number;
}

export type TransmitResult =
  | { sent: true; tx: Transmission }
  /** Not allowed now (duty cycle, radio busy): the module is told `uplink_done(…, 0)` and builds again later. */
  | { sent: false; retryAtMs: number };

/** An unconfirmed data uplink, built by lora-packet. */
export function buildDataUplink(
  session: AbpSession,
  fcnt32: number,
  fport: number,
  payload: Uint8Array,
): Uint8Array {
  if (!Number.isInteger(fcnt32) || fcnt32 < 0 || fcnt32 > 0xffffffff) {
    throw new RangeError(`FCnt ${fcnt32} is not u32`);
  }
  const packet = loraPacket.fromFields(
    {
      MType: "Unconfirmed Data Up",
      DevAddr: Buffer.from(session.devAddr, "hex"),
      FCtrl: { ADR: false },
      FCnt: Buffer.from([(fcnt32 >>> 8) & 0xff, fcnt32 & 0xff]),
      FPort: fport,
      payload: Buffer.from(payload),
    },
    Buffer.from(session.appSKey, "hex"),
    Buffer.from(session.nwkSKey, "hex"),
    undefined,
    fcntMsbBytes(fcnt32),
  );
  return new Uint8Array(packet.getPHYPayload() as Buffer);
}

export class VirtualMac {
  private fcntUp: number;
  private radioFreeAtMs: number;
  private readonly duty: DutyCycle;

  constructor(
    readonly session: AbpSession,
    readonly dataRate: DataRate,
    private readonly random: Random,
    state?: MacState,
    channels: readonly number[] = EU868_UPLINK_CHANNELS_MHZ,
  ) {
    this.fcntUp = state?.fcntUp ?? 0;
    this.radioFreeAtMs = state?.radioFreeAtMs ?? Number.NEGATIVE_INFINITY;
    this.duty = new DutyCycle(channels, undefined, state?.duty);
  }

  /** The FCnt the next uplink will carry. */
  get nextFcnt(): number {
    return this.fcntUp;
  }

  /**
   * Sends the module's uplink at `nowMs` if the radio is free and a channel's sub-band is open (picked at
   * random among the open ones), else says when to try again.
   */
  transmit(nowMs: number, fport: number, payload: Uint8Array): TransmitResult {
    const open = nowMs >= this.radioFreeAtMs ? this.duty.openChannels(nowMs) : [];
    if (open.length === 0) {
      return { sent: false, retryAtMs: Math.max(this.radioFreeAtMs, this.duty.nextOpenMs(), nowMs + 1) };
    }
    if (this.fcntUp > 0xffffffff) throw new Error(`${this.session.devEui}: frame counter exhausted`);
    const channel = open[this.random.int(0, open.length - 1)]!;
    const fcnt = this.fcntUp;
    const phyPayload = buildDataUplink(this.session, fcnt, fport, payload);
    const { sf, bwKhz } = this.dataRate;
    const airtimeMs = timeOnAirMs(phyPayload.length, sf, bwKhz);
    this.duty.record(channel, nowMs, airtimeMs);
    this.radioFreeAtMs = nowMs + airtimeMs;
    this.fcntUp = fcnt + 1;
    return {
      sent: true,
      tx: {
        fcnt,
        fport,
        payload: payload.slice(),
        phyPayload,
        freqMhz: this.duty.channels[channel]!,
        channel,
        sf,
        bwKhz,
        startMs: nowMs,
        airtimeMs,
      },
    };
  }

  state(): MacState {
    return { fcntUp: this.fcntUp, duty: this.duty.state(), radioFreeAtMs: this.radioFreeAtMs };
  }
}
