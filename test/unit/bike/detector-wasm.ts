/**
 * The bicycle detector compiled on its own (firmware/assembly/bike-detector.ts as the entry, so its exports
 * are the module's; options as the release build in asconfig.json) and instantiated with plain WebAssembly:
 * no imports, no loader.
 */
import { createHash } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { wasmApi } from "../../../firmware/host/wasm-api.ts";
import type { Direction, Pulse } from "../../../tools/sim/models/bike-traffic.ts";

export const PULSE_NONE = 0;
export const PASS_AB = 1;
export const PASS_BA = 2;

export interface Detector {
  configure(spacingMm: number, speedMinKmh: number, speedMaxKmh: number, debounceMs: number): void;
  reset(): void;
  /** Returns PULSE_NONE, PASS_AB or PASS_BA. */
  pulse(channel: number, tMs: number): number;
  takeNoise(): number;
}

export interface DetectorConfig {
  spacingMm: number;
  speedMinKmh: number;
  speedMaxKmh: number;
  debounceMs: number;
}

/** The configuration defaults of shared/PAYLOAD.md (FPort 10, keys 11..14). */
export const DEFAULT_CONFIG: DetectorConfig = {
  spacingMm: 1000,
  speedMinKmh: 5,
  speedMaxKmh: 50,
  debounceMs: 30,
};

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../..");

/** Compiles the detector alone. */
async function compileDetector(): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const errors: string[] = [];
  const { error } = await asc.main(
    [
      "firmware/assembly/bike-detector.ts",
      "--config",
      relative(root, join(here, "asconfig.json")),
      "--outFile",
      "detector.wasm",
      "--baseDir",
      root,
    ],
    {
      writeFile(name, contents) {
        if (name.endsWith(".wasm") && contents instanceof Uint8Array) binary = contents;
      },
      stderr: {
        write(chunk: string | Uint8Array) {
          errors.push(String(chunk));
          return true;
        },
      },
    },
  );
  if (error || !binary) throw new Error(`asc failed: ${error?.message ?? "no binary"}\n${errors.join("")}`);
  return binary;
}

/**
 * The compiled detector, cached in the temp directory under a hash of its sources and compiler version, so
 * that test files running in parallel workers do not each spend a second in the compiler.
 */
export async function detectorBinary(): Promise<Uint8Array> {
  const hash = createHash("sha256");
  for (const file of ["firmware/assembly/bike-detector.ts", "test/unit/bike/asconfig.json"]) {
    hash.update(await readFile(join(root, file)));
  }
  hash.update(
    JSON.parse(await readFile(join(root, "node_modules/assemblyscript/package.json"), "utf8")).version,
  );
  const path = join(tmpdir(), `openherz-bike-detector-${hash.digest("hex").slice(0, 16)}.wasm`);
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    const binary = await compileDetector();
    const temp = `${path}.${process.pid}`;
    await writeFile(temp, binary);
    await rename(temp, path);
    return binary;
  }
}

let module: Promise<WebAssembly.Module> | undefined;

/** A fresh detector instance (own memory and globals), configured with `config`. */
export async function loadDetector(config: DetectorConfig = DEFAULT_CONFIG): Promise<Detector> {
  module ??= detectorBinary().then((bin) => wasmApi.compile(bin));
  const instance = await wasmApi.instantiate(await module, {});
  const ex = instance.exports as Record<string, (...args: number[]) => number>;
  const det: Detector = {
    configure: (s, lo, hi, d) => void ex.detectorConfigure!(s, lo, hi, d),
    reset: () => void ex.detectorReset!(),
    pulse: (ch, t) => ex.detectorPulse!(ch, t >>> 0),
    takeNoise: () => ex.detectorTakeNoise!() >>> 0,
  };
  det.configure(config.spacingMm, config.speedMinKmh, config.speedMaxKmh, config.debounceMs);
  det.reset();
  return det;
}

export interface Pass {
  /** Time of the pulse that completed the pass. */
  tMs: number;
  direction: Direction;
}

/** Feeds pulses in order; returns the passes reported and the noise pulses counted. */
export function runDetector(det: Detector, pulses: readonly Pulse[]): { passes: Pass[]; noise: number } {
  const passes: Pass[] = [];
  for (const p of pulses) {
    const r = det.pulse(p.channel, p.tMs);
    if (r === PASS_AB) passes.push({ tMs: p.tMs, direction: "ab" });
    else if (r === PASS_BA) passes.push({ tMs: p.tMs, direction: "ba" });
    else if (r !== PULSE_NONE) throw new Error(`detectorPulse returned ${r}`);
  }
  return { passes, noise: det.takeNoise() };
}
