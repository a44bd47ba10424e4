// Shared by the payload tests: the committed vectors and the ES5 codec loaded the way a network server does.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import type { BikeInput, ClimateInput, ConfigPatch, StatusInput } from "../../../shared/payload/index.ts";

export const REPO = join(import.meta.dirname, "../../..");

export type ValidVector =
  | { name: string; fport: 1; input: ClimateInput; hex: string; decoded: unknown }
  | { name: string; fport: 2; input: BikeInput; hex: string; decoded: unknown }
  | { name: string; fport: 3; input: StatusInput; hex: string; decoded: unknown }
  | { name: string; fport: 10; input: ConfigPatch; hex: string; decoded: unknown };

export interface InvalidVector {
  name: string;
  fport: number;
  hex: string;
  error: string;
  code?: number;
  cfgId?: number;
}

function load<T>(file: string): T[] {
  return JSON.parse(readFileSync(join(REPO, "shared/vectors", file), "utf8")).vectors;
}

export const VALID = load<ValidVector>("payload-vectors.json");
export const INVALID = load<InvalidVector>("invalid-vectors.json");

export function bytesOf(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

export const CODEC_SOURCE = readFileSync(join(REPO, "shared/codec/ttn-codec.js"), "utf8");

interface CodecResult {
  data?: unknown;
  bytes?: number[];
  fPort?: number;
  warnings: string[];
  errors: string[];
}

export interface Es5Codec {
  decodeUplink(input: { bytes: number[]; fPort: number }): CodecResult;
  decodeDownlink(input: { bytes: number[]; fPort: number }): CodecResult;
  encodeDownlink(input: { data: unknown }): CodecResult;
}

/** A fresh global scope with the codec's global functions, as TTN and ChirpStack evaluate it. */
export function loadCodec(): Es5Codec {
  const context: Record<string, unknown> = {};
  runInNewContext(CODEC_SOURCE, context);
  const call = (name: string) => (input: unknown) =>
    // Results cross the realm boundary through JSON, the way a network server serialises them.
    JSON.parse(JSON.stringify((context[name] as (i: unknown) => unknown)(input))) as CodecResult;
  return {
    decodeUplink: call("decodeUplink"),
    decodeDownlink: call("decodeDownlink"),
    encodeDownlink: call("encodeDownlink"),
  };
}

/** The TS decoder's result as JSON, or its error message. */
export function outcome(run: () => unknown): { data: unknown } | { error: string } {
  try {
    return { data: JSON.parse(JSON.stringify(run())) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export function codecOutcome(result: CodecResult): { data: unknown } | { error: string } {
  if (result.errors.length > 0) return { error: result.errors[0]! };
  return { data: result.data };
}
