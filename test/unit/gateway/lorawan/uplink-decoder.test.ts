import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DedupCache } from "../../../../gateway/lorawan/dedup.ts";
import { MAX_FCNT_GAP } from "../../../../gateway/lorawan/fcnt.ts";
import { loraPacket } from "../../../../gateway/lorawan/lora-packet.ts";
import { createRegistry, type Registry } from "../../../../gateway/lorawan/registry.ts";
import {
  createUplinkDecoder,
  type FirstAcceptance,
  LORAWAN_DROP_REASONS,
  type UplinkDecodeResult,
} from "../../../../gateway/lorawan/uplink-decoder.ts";
import {
  APP_SKEY,
  aesCmac,
  buildUplink,
  DEV_ADDR,
  DEV_EUI,
  NWK_SKEY,
  radioFrame,
  specUplink,
  testDevice,
  testRegistry,
} from "./helpers.ts";

function decoderWith(
  state: Map<string, number>,
  registry: Registry = testRegistry(),
  dedup?: DedupCache<FirstAcceptance>,
) {
  return createUplinkDecoder({
    registry: () => registry,
    lastFcnt: (devEui) => state.get(devEui),
    ...(dedup ? { dedup } : {}),
  });
}

function accepted(result: UplinkDecodeResult) {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.reason}: ${result.detail}`);
  return result.accepted;
}

describe("byte order of the upper FCnt bytes passed to lora-packet", () => {
  it("our AES-CMAC matches RFC 4493's examples", () => {
    const key = Buffer.from("2b7e151628aed2a6abf7158809cf4f3c", "hex");
    expect(aesCmac(key, Buffer.alloc(0)).toString("hex")).toBe("bb1d6929e95937287fa37d129b756746");
    const m16 = Buffer.from("6bc1bee22e409f96e93d7e117393172a", "hex");
    expect(aesCmac(key, m16).toString("hex")).toBe("070a16b46b4d4144f79bdd9dd04a287c");
    const m40 = Buffer.from(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411",
      "hex",
    );
    expect(aesCmac(key, m40).toString("hex")).toBe("dfa66747de9ae63030ca32611497c827");
  });

  it("little-endian: FCnt 0x00010005 built by fromFields with [0x01, 0x00] equals the spec's B0/Ai computation", () => {
    const fcnt32 = 0x0001_0005;
    const spec = specUplink(DEV_ADDR, fcnt32, 7, Buffer.from("temperature 21.50"));
    const lp = loraPacket.fromFields(
      {
        MType: "Unconfirmed Data Up",
        DevAddr: Buffer.from(DEV_ADDR, "hex"),
        FCnt: 5,
        FPort: 7,
        payload: "temperature 21.50",
      },
      Buffer.from(APP_SKEY, "hex"),
      Buffer.from(NWK_SKEY, "hex"),
      undefined,
      Buffer.from([0x01, 0x00]),
    );
    expect((lp.getPHYPayload() as Buffer).toString("hex")).toBe(spec.toString("hex"));

    const parsed = loraPacket.fromWire(spec);
    const nwk = Buffer.from(NWK_SKEY, "hex");
    expect(loraPacket.verifyMIC(parsed, nwk, undefined, Buffer.from([0x01, 0x00]))).toBe(true);
    expect(loraPacket.verifyMIC(parsed, nwk, undefined, Buffer.from([0x00, 0x01]))).toBe(false);
  });

  it("the decoder accepts the spec-built frame at FCnt 0x00010005 and decrypts it", () => {
    const frame = radioFrame(specUplink(DEV_ADDR, 0x0001_0005, 7, Buffer.from("temperature 21.50")));
    const up = accepted(decoderWith(new Map([[DEV_EUI, 0x0001_0004]])).decode(frame));
    expect(up.fcnt32).toBe(0x0001_0005);
    expect(Buffer.from(up.payload).toString()).toBe("temperature 21.50");
  });
});

describe("uplink decoder: accepted frames", () => {
  it("decodes lora-packet's documented example (FCnt 2, 'test')", () => {
    const registry = testRegistry([
      testDevice({
        devAddr: "49BE7DF1",
        nwkSKey: "44024241ed4ce9a68c6a8bc055233fd3",
        appSKey: "ec925802ae430ca77fd3dd73cb2cc588",
      }),
    ]);
    const frame = radioFrame(Buffer.from("40F17DBE4900020001954378762B11FF0D", "hex"));
    const up = accepted(decoderWith(new Map(), registry).decode(frame));
    expect(up).toMatchObject({ devEui: DEV_EUI, devAddr: "49BE7DF1", fcnt32: 2, fport: 1, confirmed: false });
    expect(Buffer.from(up.payload).toString()).toBe("test");
  });

  it("decrypts a multi-block payload and reports the header flags", () => {
    const plain = Buffer.from(Array.from({ length: 51 }, (_, i) => (i * 7) & 0xff));
    const frame = radioFrame(
      buildUplink({ fcnt32: 42, fport: 10, payload: plain, confirmed: true, adr: true }),
    );
    const up = accepted(decoderWith(new Map([[DEV_EUI, 41]])).decode(frame));
    expect(Buffer.from(up.payload).equals(plain)).toBe(true);
    expect(up).toMatchObject({
      fcnt32: 42,
      fport: 10,
      confirmed: true,
      adr: true,
      fcntStatus: "next",
      missed: 0,
    });
    expect(up.frame).toBe(frame);
  });

  it("accepts FOpts (MAC commands piggybacked) with an application payload", () => {
    const frame = radioFrame(buildUplink({ fcnt32: 3, fport: 2, payload: "x", fopts: Uint8Array.of(0x02) }));
    expect(accepted(decoderWith(new Map()).decode(frame)).payload).toEqual(new Uint8Array(Buffer.from("x")));
  });

  it("first frame of a device without state is accepted at its on-air value", () => {
    const up = accepted(decoderWith(new Map()).decode(radioFrame(buildUplink({ fcnt32: 1234 }))));
    expect(up).toMatchObject({ fcnt32: 1234, fcntStatus: "first", missed: 0 });
  });

  it("first frame of a device without state that is past 65535 is still recognised", () => {
    const up = accepted(decoderWith(new Map()).decode(radioFrame(buildUplink({ fcnt32: 0x0003_0010 }))));
    expect(up.fcnt32).toBe(0x0003_0010);
  });

  it("rollover 0xFFFF → 0x0000 is accepted as 0x10000", () => {
    const up = accepted(
      decoderWith(new Map([[DEV_EUI, 0xffff]])).decode(radioFrame(buildUplink({ fcnt32: 0x1_0000 }))),
    );
    expect(up).toMatchObject({ fcnt32: 0x1_0000, fcntStatus: "next", missed: 0 });
  });

  it("a gap beyond MAX_FCNT_GAP is accepted (the MIC proves the counter) and reported", () => {
    const last = 100;
    const fcnt32 = last + MAX_FCNT_GAP + 5;
    const up = accepted(decoderWith(new Map([[DEV_EUI, last]])).decode(radioFrame(buildUplink({ fcnt32 }))));
    expect(up).toMatchObject({ fcnt32, fcntStatus: "gap", missed: MAX_FCNT_GAP + 4 });
  });

  it("a gap of exactly MAX_FCNT_GAP is not a gap", () => {
    const up = accepted(
      decoderWith(new Map([[DEV_EUI, 10]])).decode(radioFrame(buildUplink({ fcnt32: 10 + MAX_FCNT_GAP }))),
    );
    expect(up.fcntStatus).toBe("next");
  });

  it("a gap across the 16-bit rollover is accepted", () => {
    const up = accepted(
      decoderWith(new Map([[DEV_EUI, 0x0002_fff0]])).decode(radioFrame(buildUplink({ fcnt32: 0x0003_5000 }))),
    );
    expect(up).toMatchObject({ fcnt32: 0x0003_5000, fcntStatus: "gap" });
  });

  it("does not advance the FCnt state itself", () => {
    const state = new Map([[DEV_EUI, 5]]);
    const decoder = decoderWith(state);
    accepted(decoder.decode(radioFrame(buildUplink({ fcnt32: 6 }))));
    expect(state.get(DEV_EUI)).toBe(5);
  });

  it("takes a reloaded registry into account on the next frame", () => {
    let registry = testRegistry([]);
    const decoder = createUplinkDecoder({ registry: () => registry, lastFcnt: () => undefined });
    expect(decoder.decode(radioFrame(buildUplink({ fcnt32: 1 })))).toMatchObject({
      reason: "lorawan_unknown_devaddr",
    });
    registry = testRegistry();
    expect(decoder.decode(radioFrame(buildUplink({ fcnt32: 2 }))).ok).toBe(true);
  });

  it("a reloaded registry with new session keys: the new keys verify and decrypt, the old ones no longer", () => {
    const newKeys = { nwkSKey: "0F".repeat(16), appSKey: "A5".repeat(16) };
    let registry = testRegistry();
    const decoder = createUplinkDecoder({ registry: () => registry, lastFcnt: () => undefined });
    expect(accepted(decoder.decode(radioFrame(buildUplink({ fcnt32: 1, payload: "old" })))).payload).toEqual(
      new Uint8Array(Buffer.from("old")),
    );
    registry = testRegistry([testDevice(newKeys)]);
    expect(decoder.decode(radioFrame(buildUplink({ fcnt32: 2 })))).toMatchObject({
      reason: "lorawan_bad_mic",
    });
    const up = accepted(decoder.decode(radioFrame(buildUplink({ fcnt32: 3, payload: "new", ...newKeys }))));
    expect(Buffer.from(up.payload).toString()).toBe("new");
  });

  it("keeps the session keys of many devices apart", () => {
    const devices = Array.from({ length: 300 }, (_, i) =>
      testDevice({
        devEui: `70B3D57ED0${i.toString(16).padStart(6, "0")}`,
        devAddr: `2601${i.toString(16).padStart(4, "0")}`,
        name: `device-${i}`,
        nwkSKey: (i + 1).toString(16).padStart(32, "0"),
        appSKey: (i + 7).toString(16).padStart(32, "0"),
      }),
    );
    const decoder = decoderWith(new Map(), testRegistry(devices));
    // Twice over: the keys are derived on the first frame of a device and reused from then on.
    for (const fcnt32 of [1, 2]) {
      for (const d of devices.toReversed()) {
        const frame = buildUplink({
          fcnt32,
          devAddr: d.devAddr,
          nwkSKey: d.nwkSKey,
          appSKey: d.appSKey,
          payload: d.name,
        });
        const up = accepted(decoder.decode(radioFrame(frame)));
        expect(up.devEui).toBe(d.devEui.toUpperCase());
        expect(Buffer.from(up.payload).toString()).toBe(d.name);
      }
    }
  });
});

describe("uplink decoder: drop reasons", () => {
  it("bad MIC (wrong NwkSKey)", () => {
    const frame = radioFrame(buildUplink({ fcnt32: 9, nwkSKey: "00".repeat(16) }));
    const result = decoderWith(new Map([[DEV_EUI, 8]])).decode(frame);
    expect(result).toMatchObject({ ok: false, reason: "lorawan_bad_mic", devEui: DEV_EUI });
  });

  it("bad MIC (one payload bit flipped)", () => {
    const bytes = buildUplink({ fcnt32: 9 });
    bytes[10]! ^= 0x01;
    expect(decoderWith(new Map()).decode(radioFrame(bytes))).toMatchObject({ reason: "lorawan_bad_mic" });
  });

  it("unknown DevAddr", () => {
    const result = decoderWith(new Map()).decode(radioFrame(buildUplink({ fcnt32: 1, devAddr: "260BEEF0" })));
    expect(result).toMatchObject({
      ok: false,
      reason: "lorawan_unknown_devaddr",
      detail: "DevAddr 260BEEF0 FCnt16 1",
    });
  });

  it("replay: the same counter again once committed, and an older one", () => {
    const decoder = decoderWith(new Map([[DEV_EUI, 20]]), testRegistry(), new DedupCache({ maxAgeMs: 0 }));
    expect(decoder.decode(radioFrame(buildUplink({ fcnt32: 20 })))).toMatchObject({
      reason: "lorawan_replay",
      fcnt32: 20,
      devEui: DEV_EUI,
    });
    expect(decoder.decode(radioFrame(buildUplink({ fcnt32: 3 })))).toMatchObject({
      reason: "lorawan_replay",
      fcnt32: 3,
    });
  });

  it("replay: a device whose counter restarted at 0 after its state reached 0x10005", () => {
    const result = decoderWith(new Map([[DEV_EUI, 0x1_0005]])).decode(radioFrame(buildUplink({ fcnt32: 1 })));
    // Candidates 0x10001 and 0x20001 both fail: a restarted ABP counter shows up as a bad MIC, not as data.
    expect(result).toMatchObject({ ok: false, reason: "lorawan_bad_mic" });
  });

  it("join request, downlink and proprietary frames are not uplinks", () => {
    const decoder = decoderWith(new Map());
    const join = new Uint8Array(23);
    expect(decoder.decode(radioFrame(join))).toMatchObject({
      reason: "lorawan_not_uplink",
      detail: "join request",
    });
    const down = buildUplink({ fcnt32: 1 });
    down[0] = 0x60;
    expect(decoder.decode(radioFrame(down))).toMatchObject({ reason: "lorawan_not_uplink" });
    expect(decoder.decode(radioFrame(Uint8Array.of(0xe0, 1, 2, 3)))).toMatchObject({
      reason: "lorawan_not_uplink",
      detail: "proprietary",
    });
  });

  it("major version other than 0", () => {
    const bytes = buildUplink({ fcnt32: 1 });
    bytes[0]! |= 0x01;
    expect(decoderWith(new Map()).decode(radioFrame(bytes))).toMatchObject({ reason: "lorawan_version" });
  });

  it("malformed: empty, too short, too long, FOpts overrunning", () => {
    const decoder = decoderWith(new Map());
    expect(decoder.decode(radioFrame(new Uint8Array(0)))).toMatchObject({ reason: "lorawan_malformed" });
    expect(decoder.decode(radioFrame(Uint8Array.of(0x40, 1, 2, 3, 4, 0, 0)))).toMatchObject({
      reason: "lorawan_malformed",
    });
    expect(decoder.decode(radioFrame(new Uint8Array(300).fill(0x40, 0, 1)))).toMatchObject({
      reason: "lorawan_malformed",
    });
    const overrun = Uint8Array.of(0x40, 0xda, 0x1b, 0x01, 0x26, 0x0f, 0, 0, 1, 2, 3, 4);
    expect(decoder.decode(radioFrame(overrun))).toMatchObject({ reason: "lorawan_malformed" });
  });

  it("MAC-only frames (no FPort, FPort 0) are authenticated, then dropped with their fcnt32", () => {
    const decoder = decoderWith(new Map([[DEV_EUI, 1]]));
    expect(decoder.decode(radioFrame(buildUplink({ fcnt32: 2, fport: null })))).toMatchObject({
      reason: "lorawan_no_fport",
      fcnt32: 2,
      devEui: DEV_EUI,
    });
    expect(
      decoder.decode(radioFrame(buildUplink({ fcnt32: 3, fport: 0, payload: Uint8Array.of(2) }))),
    ).toMatchObject({
      reason: "lorawan_no_fport",
      fcnt32: 3,
    });
    // Forged MAC-only frames are bad MICs, not no_fport.
    expect(
      decoder.decode(radioFrame(buildUplink({ fcnt32: 4, fport: null, nwkSKey: "11".repeat(16) }))),
    ).toMatchObject({ reason: "lorawan_bad_mic" });
  });

  it("details never contain a key", () => {
    const decoder = decoderWith(new Map([[DEV_EUI, 50]]));
    const results = [
      decoder.decode(radioFrame(buildUplink({ fcnt32: 9 }))),
      decoder.decode(radioFrame(buildUplink({ fcnt32: 60, nwkSKey: "00".repeat(16) }))),
      decoder.decode(radioFrame(buildUplink({ fcnt32: 61, fport: 0 }))),
    ];
    for (const r of results) {
      expect(r.ok).toBe(false);
      const text = JSON.stringify(r).toUpperCase();
      expect(text).not.toContain(NWK_SKEY);
      expect(text).not.toContain(APP_SKEY);
    }
  });
});

describe("uplink decoder: duplicates", () => {
  it("the same frame via a second forwarder is a duplicate carrying the first reception, not a replay", () => {
    const state = new Map<string, number>([[DEV_EUI, 10]]);
    const decoder = decoderWith(state);
    const bytes = buildUplink({ fcnt32: 11 });
    const first = radioFrame(bytes, "0016c001ff10a235", -80);
    const second = radioFrame(Uint8Array.from(bytes), "b827ebfffe000001", -112);
    expect(decoder.decode(first).ok).toBe(true);
    // Before the journal commits…
    const dup = decoder.decode(second);
    expect(dup).toMatchObject({ ok: false, reason: "lorawan_duplicate", devEui: DEV_EUI });
    expect(dup.ok === false && dup.firstReception?.first).toEqual({
      source: first.source,
      devAddr: DEV_ADDR,
      fcnt32: 11,
      fport: expect.any(Number),
    });
    // …and after it has.
    state.set(DEV_EUI, 11);
    expect(decoder.decode(radioFrame(bytes, "serial:/dev/ttyUSB0"))).toMatchObject({
      reason: "lorawan_duplicate",
    });
  });

  it("a frame with a copied header and MIC but other bytes is not a duplicate", () => {
    const decoder = decoderWith(new Map());
    const bytes = buildUplink({ fcnt32: 5, payload: "abc" });
    expect(decoder.decode(radioFrame(bytes)).ok).toBe(true);
    const forged = Uint8Array.from(bytes);
    forged[9]! ^= 0xff;
    expect(decoder.decode(radioFrame(forged))).toMatchObject({ reason: "lorawan_bad_mic" });
  });

  it("frames that failed are not remembered: a copy fails again for the same reason", () => {
    const decoder = decoderWith(new Map([[DEV_EUI, 9]]));
    const bytes = buildUplink({ fcnt32: 9 });
    expect(decoder.decode(radioFrame(bytes))).toMatchObject({ reason: "lorawan_replay" });
    expect(decoder.decode(radioFrame(bytes))).toMatchObject({ reason: "lorawan_replay" });
  });
});

describe("uplink decoder: robustness", () => {
  const registry = createRegistry({
    version: 1,
    devices: [
      { ...testDevice(), licence: "CC-BY-4.0" },
      {
        ...testDevice({ devEui: "0000000000000001", devAddr: "00000000", name: "zero" }),
        licence: "CC-BY-4.0",
      },
    ],
  });

  it("random bytes never throw and always give a known drop reason", () => {
    const decoder = decoderWith(new Map([[DEV_EUI, 7]]), registry);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
        const result = decoder.decode(radioFrame(bytes));
        expect(result.ok).toBe(false);
        if (!result.ok) expect(LORAWAN_DROP_REASONS).toContain(result.reason);
      }),
      { numRuns: 3000 },
    );
  });

  it("random bytes behind a valid uplink header of a registered device never throw", () => {
    const decoder = decoderWith(new Map(), registry);
    const header = fc.tuple(
      fc.constantFrom(0x40, 0x80, 0x41, 0x42, 0x43),
      fc.constantFrom([0xda, 0x1b, 0x01, 0x26], [0, 0, 0, 0]),
      fc.integer({ min: 0, max: 255 }),
      fc.uint8Array({ minLength: 0, maxLength: 40 }),
    );
    fc.assert(
      fc.property(header, ([mhdr, addr, fctrl, rest]) => {
        const result = decoder.decode(radioFrame(Uint8Array.from([mhdr, ...addr, fctrl, ...rest])));
        expect(result.ok).toBe(false);
        if (!result.ok) expect(LORAWAN_DROP_REASONS).toContain(result.reason);
      }),
      { numRuns: 3000 },
    );
  });
});
