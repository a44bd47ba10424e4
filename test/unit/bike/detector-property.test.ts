import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { wasmApi } from "../../../firmware/host/wasm-api.ts";
import { type Detector, detectorBinary, loadDetector } from "./detector-wasm.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Any configuration, including values the caller's validation would reject. */
const anyConfig = fc.tuple(
  fc.oneof(fc.integer({ min: 100, max: 5000 }), u32),
  fc.oneof(fc.integer({ min: 1, max: 60 }), u32),
  fc.oneof(fc.integer({ min: 5, max: 100 }), u32),
  fc.oneof(fc.integer({ min: 1, max: 500 }), u32),
);

/** Plausible streams: time-ordered pulses a few ms to seconds apart, starting anywhere (also near the wrap). */
const orderedStream = fc
  .tuple(
    u32,
    fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 3000 })), { maxLength: 200 }),
  )
  .map(([start, steps]) => {
    let t = start;
    return steps.map(([channel, dt]) => {
      t = (t + dt) >>> 0;
      return { channel, tMs: t };
    });
  });

/** Anything: any channel, any time, in any order. */
const wildStream = fc.array(fc.record({ channel: fc.oneof(fc.integer({ min: 0, max: 3 }), u32), tMs: u32 }), {
  maxLength: 200,
});

function feed(det: Detector, pulses: { channel: number; tMs: number }[]): number[] {
  return pulses.map((p) => det.pulse(p.channel, p.tMs));
}

describe("detector properties", () => {
  let det: Detector;
  beforeAll(async () => {
    det = await loadDetector();
  });

  it("never traps and only returns PULSE_NONE, PASS_AB or PASS_BA, for any configuration and input", () => {
    fc.assert(
      fc.property(anyConfig, fc.oneof(orderedStream, wildStream), ([s, lo, hi, d], pulses) => {
        det.configure(s, lo, hi, d);
        det.reset();
        for (const r of feed(det, pulses)) expect([0, 1, 2]).toContain(r);
        det.takeNoise();
      }),
      { numRuns: 400 },
    );
  });

  it("a pass takes at least two pulses", () => {
    fc.assert(
      fc.property(orderedStream, (pulses) => {
        det.configure(1000, 5, 50, 30);
        det.reset();
        const passes = feed(det, pulses).filter((r) => r !== 0).length;
        expect(2 * passes).toBeLessThanOrEqual(pulses.length);
        expect(det.takeNoise()).toBeLessThanOrEqual(pulses.length);
      }),
      { numRuns: 300 },
    );
  });

  it("only time differences matter: shifting every time by a constant (across the wrap) changes nothing", () => {
    fc.assert(
      fc.property(orderedStream, u32, (pulses, shift) => {
        det.configure(1000, 5, 50, 30);
        det.reset();
        const base = feed(det, pulses);
        const baseNoise = det.takeNoise();
        det.reset();
        const shifted = feed(
          det,
          pulses.map((p) => ({ channel: p.channel, tMs: (p.tMs + shift) >>> 0 })),
        );
        expect(shifted).toEqual(base);
        expect(det.takeNoise()).toBe(baseNoise);
      }),
      { numRuns: 300 },
    );
  });

  it("reset returns to the state of a fresh instance", async () => {
    const fresh = await loadDetector();
    fc.assert(
      fc.property(wildStream, orderedStream, (before, pulses) => {
        det.configure(1000, 5, 50, 30);
        det.reset();
        feed(det, before);
        det.reset();
        det.takeNoise();
        fresh.reset();
        fresh.takeNoise();
        expect(feed(det, pulses)).toEqual(feed(fresh, pulses));
        expect(det.takeNoise()).toBe(fresh.takeNoise());
      }),
      { numRuns: 200 },
    );
  });
});

describe("detector size", () => {
  it("its code stays under 1 KiB of the 4 KiB firmware budget", async () => {
    const wasm = await detectorBinary();
    // Sum the bodies of the code section (id 10): the functions the detector adds to the firmware.
    let p = 8;
    let code = 0;
    const leb = () => {
      let r = 0;
      let shift = 0;
      let b: number;
      do {
        b = wasm[p++]!;
        r |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80);
      return r >>> 0;
    };
    while (p < wasm.length) {
      const id = wasm[p++]!;
      const len = leb();
      if (id === 10) code = len;
      p += len;
    }
    console.log(`detector: module ${wasm.length} bytes, code section ${code} bytes`);
    expect(code).toBeGreaterThan(0);
    expect(code).toBeLessThan(1024);
    expect(wasmApi.Module.imports(await wasmApi.compile(wasm))).toEqual([]);
  });
});
