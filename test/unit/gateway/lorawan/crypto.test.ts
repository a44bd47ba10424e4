// gateway/lorawan/crypto.ts against its references: RFC 4493's AES-CMAC vectors, and lora-packet's MIC and
// FRMPayload decryption byte for byte, for random keys, addresses, 32-bit counters, payload lengths
// (0 … 64 bytes, across block boundaries), FOpts and both directions.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { aesCmac, cmacKey, cryptFrmPayload, verifyUplinkMic } from "../../../../gateway/lorawan/crypto.ts";
import { fcntMsbBytes } from "../../../../gateway/lorawan/fcnt.ts";
import { loraPacket } from "../../../../gateway/lorawan/lora-packet.ts";

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ""), "hex");

describe("aesCmac", () => {
  // RFC 4493 §4, key 2b7e1516 28aed2a6 abf71588 09cf4f3c.
  const key = cmacKey(hex("2b7e1516 28aed2a6 abf71588 09cf4f3c"));
  const message = hex(
    "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51" +
      "30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710",
  );
  it.each([
    [0, "bb1d6929 e9593728 7fa37d12 9b756746"],
    [16, "070a16b4 6b4d4144 f79bdd9d d04a287c"],
    [40, "dfa66747 de9ae630 30ca3261 1497c827"],
    [64, "51f0bebf 7e3b9d92 fc497417 79363cfe"],
  ])("matches the RFC 4493 example of %i bytes", (length, expected) => {
    expect(aesCmac(key, message.subarray(0, length)).toString("hex")).toBe(hex(expected).toString("hex"));
  });

  it("rejects a key that is not 16 bytes", () => {
    expect(() => cmacKey(Buffer.alloc(15))).toThrow(RangeError);
  });
});

const frameArb = fc.record({
  nwkSKey: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  appSKey: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  devAddr: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  fcnt32: fc.integer({ min: 0, max: 0xffff_ffff }),
  fport: fc.integer({ min: 0, max: 255 }),
  payload: fc.uint8Array({ minLength: 0, maxLength: 64 }),
  fopts: fc.uint8Array({ minLength: 0, maxLength: 15 }),
  downlink: fc.boolean(),
  confirmed: fc.boolean(),
});

type FrameInput = typeof frameArb extends fc.Arbitrary<infer T> ? T : never;

/** A frame signed and encrypted by lora-packet (FOpts only with FPort > 0, as LoRaWAN requires). */
function loraPacketFrame(f: FrameInput) {
  const mtype = `${f.confirmed ? "Confirmed" : "Unconfirmed"} Data ${f.downlink ? "Down" : "Up"}` as const;
  const nwkSKey = Buffer.from(f.nwkSKey);
  const appSKey = Buffer.from(f.appSKey);
  const packet = loraPacket.fromFields(
    {
      MType: mtype,
      DevAddr: Buffer.from(f.devAddr),
      FCtrl: { ADR: false },
      FCnt: Buffer.from([(f.fcnt32 >>> 8) & 0xff, f.fcnt32 & 0xff]),
      FPort: f.fport,
      payload: Buffer.from(f.payload),
      ...(f.fport > 0 && f.fopts.length > 0 ? { FOpts: Buffer.from(f.fopts) } : {}),
    },
    appSKey,
    nwkSKey,
    undefined,
    fcntMsbBytes(f.fcnt32),
  );
  const phy = packet.getPHYPayload() as Buffer;
  return { nwkSKey, appSKey, phy, parsed: loraPacket.fromWire(phy) };
}

describe("verifyUplinkMic", () => {
  it("accepts exactly lora-packet's MIC of an uplink", () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const { nwkSKey, phy, parsed } = loraPacketFrame({ ...f, downlink: false });
        const micStart = phy.length - 4;
        const ok = verifyUplinkMic(
          cmacKey(nwkSKey),
          phy.subarray(1, 5),
          f.fcnt32,
          phy.subarray(0, micStart),
          phy.subarray(micStart),
        );
        expect(ok).toBe(true);
        expect(loraPacket.verifyMIC(parsed, nwkSKey, undefined, fcntMsbBytes(f.fcnt32))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("rejects another 32-bit counter, another key and a changed byte, as lora-packet does", () => {
    fc.assert(
      fc.property(frameArb, fc.integer({ min: 0, max: 10_000 }), (f, flip) => {
        const { nwkSKey, phy, parsed } = loraPacketFrame({ ...f, downlink: false });
        const key = cmacKey(nwkSKey);
        const micStart = phy.length - 4;
        const check = (bytes: Buffer, fcnt32: number, k = key) =>
          verifyUplinkMic(
            k,
            bytes.subarray(1, 5),
            fcnt32,
            bytes.subarray(0, micStart),
            bytes.subarray(micStart),
          );
        const otherFcnt = (f.fcnt32 + 0x1_0000) % 0x1_0000_0000;
        expect(check(phy, otherFcnt)).toBe(
          loraPacket.verifyMIC(parsed, nwkSKey, undefined, fcntMsbBytes(otherFcnt)),
        );
        expect(check(phy, otherFcnt)).toBe(false);
        const otherKey = Buffer.from(nwkSKey);
        otherKey[0]! ^= 0x01;
        expect(check(phy, f.fcnt32, cmacKey(otherKey))).toBe(false);
        const changed = Buffer.from(phy);
        changed[flip % phy.length]! ^= 0x80;
        expect(check(changed, f.fcnt32)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("is false for a MIC that is not 4 bytes", () => {
    const key = cmacKey(Buffer.alloc(16));
    expect(verifyUplinkMic(key, Buffer.alloc(4), 0, Buffer.alloc(9), Buffer.alloc(3))).toBe(false);
  });
});

describe("cryptFrmPayload", () => {
  it("decrypts exactly what lora-packet decrypts, uplinks and downlinks", () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const { nwkSKey, appSKey, phy, parsed } = loraPacketFrame(f);
        const reference = loraPacket.decrypt(parsed, appSKey, nwkSKey, fcntMsbBytes(f.fcnt32));
        const frm = parsed.FRMPayload ?? Buffer.alloc(0);
        const key = f.fport === 0 ? nwkSKey : appSKey;
        const plain = cryptFrmPayload(key, f.downlink ? 1 : 0, phy.subarray(1, 5), f.fcnt32, frm);
        expect(Buffer.from(plain).equals(reference)).toBe(true);
        expect(Buffer.from(plain).equals(Buffer.from(f.payload))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("encrypts and decrypts with the same keystream", () => {
    const key = Buffer.alloc(16, 7);
    const addr = Buffer.from([0xda, 0x1b, 0x01, 0x26]);
    const plain = Uint8Array.from({ length: 40 }, (_, i) => i);
    const cipher = cryptFrmPayload(key, 0, addr, 70_000, plain);
    expect(cipher).not.toEqual(plain);
    expect(cryptFrmPayload(key, 0, addr, 70_000, cipher)).toEqual(plain);
    expect(cryptFrmPayload(key, 0, addr, 70_000, new Uint8Array(0))).toEqual(new Uint8Array(0));
  });
});
