// Inputs for the end-to-end tests: LoRaWAN frames built with lora-packet around payloads from the shared
// encoders, and a virtual packet forwarder that sends real PUSH_DATA datagrams and records the PUSH_ACKs.
import { createSocket, type Socket } from "node:dgram";
import type { DeviceInput } from "../../../gateway/lorawan/registry.ts";
import {
  encodePushData,
  PUSH_ACK,
  type RxpkJson,
  rxpkFor,
} from "../../../gateway/radio/semtech-udp-codec.ts";
import { encodeBike, encodeClimate, encodeStatus, packFwVersion } from "../../../shared/payload/index.ts";
import type { BikeInput, ClimateInput } from "../../../shared/payload/types.ts";
import { APP_SKEY, buildUplink, DEV_ADDR, DEV_EUI, NWK_SKEY } from "../../unit/gateway/lorawan/helpers.ts";
import { Signal } from "../radio/helpers.ts";

export const DEVICE_1: DeviceInput = {
  devEui: DEV_EUI,
  devAddr: DEV_ADDR,
  nwkSKey: NWK_SKEY,
  appSKey: APP_SKEY,
  name: "bahnhofstrasse-12",
  location: { lat: 52.3745, lon: 9.7386, heightM: 4.5, description: "lamp post, east side" },
  sensors: ["climate", "bike"],
  directionAB: "northbound",
};

export const DEVICE_2: DeviceInput = {
  devEui: "70B3D57ED0065678",
  devAddr: "26011BDB",
  nwkSKey: "8D1A6F3B2C4E5D60718293A4B5C6D7E8",
  appSKey: "F0E1D2C3B4A5968778695A4B3C2D1E0F",
  name: "marktplatz-3",
  location: { lat: 52.3712, lon: 9.7352 },
  sensors: ["climate"],
};

/** Every key of the test devices, for "never in a message or log" checks. */
export const ALL_KEYS = [DEVICE_1, DEVICE_2].flatMap((d) => [d.nwkSKey, d.appSKey]);

export const CLIMATE: ClimateInput = {
  intervalMin: 5,
  ageS: 10,
  batteryMv: 3600,
  temperatures: [2149, 2157, 2163],
  humidities: [5512, 5498, 5480],
};

export const BIKE: BikeInput = {
  binS: 900,
  ageS: 60,
  bins: [
    { ab: 12, ba: 7 },
    { ab: 3, ba: 0 },
  ],
};

export const STATUS = {
  fwVersion: packFwVersion(1, 2, 0),
  uptimeS: 86_400,
  resetCause: 0,
  batteryMv: 3590,
  flags: 0,
  cfgId: 7,
  cfgResult: 0,
  dropped: 0,
  noisePulses: 4,
};

/** A LoRaWAN data uplink of `device` (lora-packet: encrypted with its AppSKey, MIC with its NwkSKey). */
export function uplink(device: DeviceInput, fcnt32: number, fport: number, payload: Uint8Array): Uint8Array {
  return buildUplink({
    devAddr: device.devAddr,
    nwkSKey: device.nwkSKey,
    appSKey: device.appSKey,
    fcnt32,
    fport,
    payload,
  });
}

export const climateUplink = (device: DeviceInput, fcnt32: number, input: ClimateInput = CLIMATE) =>
  uplink(device, fcnt32, 1, encodeClimate(input));
export const bikeUplink = (device: DeviceInput, fcnt32: number, input: BikeInput = BIKE) =>
  uplink(device, fcnt32, 2, encodeBike(input));
export const statusUplink = (device: DeviceInput, fcnt32: number) =>
  uplink(device, fcnt32, 3, encodeStatus(STATUS));

/** Radio fields of a concentrator reception. */
export const RX_META = {
  tmst: 3_512_348_611,
  chan: 0,
  rfch: 0,
  freq: 868.1,
  datr: "SF9BW125",
  codr: "4/5",
  rssi: -97,
  lsnr: 7.5,
};

export const rxpk = (phy: Uint8Array, meta: Partial<RxpkJson> = {}): RxpkJson =>
  rxpkFor(phy, { ...RX_META, ...meta });

/** A packet forwarder on a real UDP socket: sends PUSH_DATA, records PUSH_ACK tokens as they arrive. */
export class VirtualForwarder {
  readonly acks: number[] = [];
  readonly signal = new Signal();
  /** Called synchronously when a PUSH_ACK arrives, before anything else runs. */
  onAck: ((token: number) => void) | undefined;
  private token = 0;

  private constructor(
    readonly gatewayEui: string,
    private readonly socket: Socket,
    private readonly target: { address: string; port: number },
  ) {
    socket.on("message", (msg) => {
      if (msg.length === 4 && msg[3] === PUSH_ACK) {
        const token = (msg[1]! << 8) | msg[2]!;
        this.onAck?.(token);
        this.acks.push(token);
        this.signal.notify();
      }
    });
  }

  static async open(
    gatewayEui: string,
    target: { address: string; port: number },
  ): Promise<VirtualForwarder> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return new VirtualForwarder(gatewayEui, socket, target);
  }

  /** Sends one PUSH_DATA; returns its token. */
  push(rxpks: RxpkJson[]): number {
    const token = ++this.token & 0xffff;
    this.socket.send(
      encodePushData(token, this.gatewayEui, { rxpk: rxpks }),
      this.target.port,
      this.target.address,
    );
    return token;
  }

  /** Sends one PUSH_DATA and resolves when its PUSH_ACK arrives. */
  async pushAndWaitAck(rxpks: RxpkJson[], timeoutMs = 5000): Promise<number> {
    const token = this.push(rxpks);
    await this.signal.until(() => this.acks.includes(token), `PUSH_ACK ${token}`, timeoutMs);
    return token;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex").toUpperCase();

/** The 32-bit FCnt as it appears in ids. */
export const fcntHex = (fcnt32: number) => fcnt32.toString(16).toUpperCase().padStart(8, "0");

export const parseIso = (s: string) => Date.parse(s);
