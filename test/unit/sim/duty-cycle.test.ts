import { describe, expect, it } from "vitest";
import { fcntMsbBytes } from "../../../gateway/lorawan/fcnt.ts";
import { loraPacket } from "../../../gateway/lorawan/lora-packet.ts";
import { eu868DataRateForSf, timeOnAirMs } from "../../../shared/airtime.ts";
import { DutyCycle, EU868_SUB_BANDS, offTimeMs, subBandOf } from "../../../tools/sim/duty-cycle.ts";
import { buildDataUplink, VirtualMac } from "../../../tools/sim/lorawan-mac.ts";
import { Random } from "../../../tools/sim/models/random.ts";

const SESSION = {
  devEui: "5EED000001000001",
  devAddr: "26011BDA",
  nwkSKey: "2B7E151628AED2A6ABF7158809CF4F3C",
  appSKey: "000102030405060708090A0B0C0D0E0F",
};

describe("EU868 duty cycle", () => {
  it("off time is airtime × (1/dc − 1)", () => {
    expect(offTimeMs(100, 0.01)).toBeCloseTo(9900, 9);
    expect(offTimeMs(1482.752, 0.01)).toBeCloseTo(146_792.448, 6);
    expect(offTimeMs(50, 0.1)).toBeCloseTo(450, 9);
  });

  it("maps channels to their ETSI sub-bands", () => {
    expect(EU868_SUB_BANDS[subBandOf(868.1)]!.name).toMatch(/^g1 /);
    expect(EU868_SUB_BANDS[subBandOf(867.5)]!.name).toMatch(/^g /);
    expect(EU868_SUB_BANDS[subBandOf(869.525)]!.dutyCycle).toBe(0.1);
    expect(() => subBandOf(915)).toThrow(RangeError);
  });

  it("closes a transmission's sub-band until start + airtime / dc, leaving the other open", () => {
    const duty = new DutyCycle([868.1, 868.3, 867.1]);
    expect(duty.openChannels(0)).toEqual([0, 1, 2]);
    duty.record(0, 1000, 100); // 868.1 MHz, sub-band g1
    expect(duty.openChannels(1000)).toEqual([2]);
    expect(duty.openChannels(10_999)).toEqual([2]);
    expect(duty.openChannels(11_000)).toEqual([0, 1, 2]);
    duty.record(2, 2000, 200); // 867.1 MHz, sub-band g
    expect(duty.nextOpenMs()).toBe(11_000);
    expect(duty.openChannels(5000)).toEqual([]);
    const restored = new DutyCycle([868.1, 868.3, 867.1], undefined, duty.state());
    expect(restored.openChannels(21_999)).toEqual([0, 1]);
    expect(restored.openChannels(22_000)).toEqual([0, 1, 2]);
  });
});

describe("VirtualMac", () => {
  it("builds ABP frames the gateway's lora-packet accepts, with the 32-bit FCnt in the MIC", () => {
    const fcnt = 0x1_0002; // low 16 bits on air: 2
    const phy = buildDataUplink(SESSION, fcnt, 1, Uint8Array.of(1, 2, 3, 4));
    const packet = loraPacket.fromWire(Buffer.from(phy));
    expect(packet.getFCnt()).toBe(2);
    expect(packet.getFPort()).toBe(1);
    const nwk = Buffer.from(SESSION.nwkSKey, "hex");
    expect(loraPacket.verifyMIC(packet, nwk, undefined, fcntMsbBytes(fcnt))).toBe(true);
    expect(loraPacket.verifyMIC(packet, nwk, undefined, fcntMsbBytes(2))).toBe(false);
    const plain = loraPacket.decrypt(packet, Buffer.from(SESSION.appSKey, "hex"), nwk, fcntMsbBytes(fcnt));
    expect([...plain]).toEqual([1, 2, 3, 4]);
  });

  it("enforces the duty cycle and a busy radio, and says when to retry", () => {
    const dr = eu868DataRateForSf(12);
    const mac = new VirtualMac(SESSION, dr, new Random(1), undefined, [868.1]);
    const payload = new Uint8Array(20);
    const first = mac.transmit(0, 1, payload);
    expect(first.sent).toBe(true);
    if (!first.sent) return;
    expect(first.tx.airtimeMs).toBeCloseTo(timeOnAirMs(13 + 20, 12), 9);
    expect(first.tx.fcnt).toBe(0);
    const blocked = mac.transmit(first.tx.airtimeMs + 1, 1, payload);
    expect(blocked).toEqual({ sent: false, retryAtMs: first.tx.airtimeMs * 100 });
    const again = mac.transmit(first.tx.airtimeMs * 100, 1, payload);
    expect(again.sent && again.tx.fcnt).toBe(1);
  });

  it("waits for the radio between two uplinks of one wake even when another sub-band is open", () => {
    const mac = new VirtualMac(SESSION, eu868DataRateForSf(9), new Random(1), undefined, [868.1, 867.1]);
    const a = mac.transmit(0, 1, new Uint8Array(10));
    expect(a.sent).toBe(true);
    const b = mac.transmit(0, 3, new Uint8Array(10));
    expect(b.sent).toBe(false);
    if (!a.sent || b.sent) return;
    expect(b.retryAtMs).toBeCloseTo(a.tx.airtimeMs, 9);
    const c = mac.transmit(b.retryAtMs, 3, new Uint8Array(10));
    expect(c.sent && c.tx.freqMhz).not.toBe(a.tx.freqMhz);
  });

  it("keeps the FCnt in its persisted state", () => {
    const mac = new VirtualMac(SESSION, eu868DataRateForSf(7), new Random(1));
    for (let i = 0; i < 3; i++) mac.transmit(i * 1_000_000, 1, new Uint8Array(5));
    const restored = new VirtualMac(SESSION, eu868DataRateForSf(7), new Random(2), mac.state());
    expect(restored.nextFcnt).toBe(3);
    const r = restored.transmit(10_000_000, 1, new Uint8Array(5));
    expect(r.sent && r.tx.fcnt).toBe(3);
  });
});
