import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  classifyFcnt,
  fcnt32Candidates,
  fcntMsbBytes,
  MAX_FCNT_GAP,
  UNKNOWN_STATE_EPOCHS,
} from "../../../../gateway/lorawan/fcnt.ts";

describe("fcnt32Candidates", () => {
  it("same upper 16 bits first, then the rollover", () => {
    expect(fcnt32Candidates(10, 11)).toEqual([11, 0x1_000b]);
    expect(fcnt32Candidates(0x0002_fff0, 0x0005)).toEqual([0x0002_0005, 0x0003_0005]);
    expect(fcnt32Candidates(0xffff, 0)).toEqual([0, 0x1_0000]);
  });

  it("never above 2^32 - 1", () => {
    expect(fcnt32Candidates(0xffff_fff0, 0x0001)).toEqual([0xffff_0001]);
    expect(fcnt32Candidates(0xffff_fff0, 0xffff)).toEqual([0xffff_ffff]);
  });

  it("without state: the on-air value, then the same low bits in later epochs", () => {
    const c = fcnt32Candidates(undefined, 7);
    expect(c).toHaveLength(UNKNOWN_STATE_EPOCHS);
    expect(c[0]).toBe(7);
    expect(c[1]).toBe(0x1_0007);
  });

  it("invalid input gives no candidates", () => {
    expect(fcnt32Candidates(1, 0x1_0000)).toEqual([]);
    expect(fcnt32Candidates(1, -1)).toEqual([]);
    expect(fcnt32Candidates(1, 1.5)).toEqual([]);
    expect(fcnt32Candidates(-1, 1)).toEqual([]);
    expect(fcnt32Candidates(2 ** 32, 1)).toEqual([]);
  });

  it("property: any counter up to one epoch ahead of the state is among the candidates", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 1, max: 0x1_0000 }),
        (last, ahead) => {
          const fcnt32 = last + ahead;
          if (fcnt32 > 0xffff_ffff) return;
          const candidates = fcnt32Candidates(last, fcnt32 % 0x1_0000);
          expect(candidates).toContain(fcnt32);
          expect(candidates.every((c) => c % 0x1_0000 === fcnt32 % 0x1_0000)).toBe(true);
        },
      ),
    );
  });
});

describe("classifyFcnt", () => {
  it("first frame without state", () => {
    expect(classifyFcnt(undefined, 5)).toEqual({ kind: "first", fcnt32: 5 });
  });

  it("replay when not above the last accepted value", () => {
    expect(classifyFcnt(5, 5)).toEqual({ kind: "replay", fcnt32: 5, last: 5 });
    expect(classifyFcnt(5, 4)).toEqual({ kind: "replay", fcnt32: 4, last: 5 });
  });

  it("next, with missed frames counted", () => {
    expect(classifyFcnt(5, 6)).toEqual({ kind: "next", fcnt32: 6, missed: 0 });
    expect(classifyFcnt(5, 9)).toEqual({ kind: "next", fcnt32: 9, missed: 3 });
  });

  it("gap when the difference exceeds MAX_FCNT_GAP (16384)", () => {
    expect(MAX_FCNT_GAP).toBe(16384);
    expect(classifyFcnt(0, MAX_FCNT_GAP).kind).toBe("next");
    expect(classifyFcnt(0, MAX_FCNT_GAP + 1)).toEqual({
      kind: "gap",
      fcnt32: MAX_FCNT_GAP + 1,
      missed: MAX_FCNT_GAP,
    });
  });
});

describe("fcntMsbBytes", () => {
  it("upper 16 bits, little-endian", () => {
    expect([...fcntMsbBytes(0x0001_0005)]).toEqual([0x01, 0x00]);
    expect([...fcntMsbBytes(0xabcd_1234)]).toEqual([0xcd, 0xab]);
    expect([...fcntMsbBytes(0xffff)]).toEqual([0, 0]);
  });
});
