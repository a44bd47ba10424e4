// `sensornet decode`: a payload as a technician or developer sees it (hex from a network server console,
// base64 from an MQTT message) turned into the decoded JSON of shared/payload/.
import type { Command } from "commander";
import { decodeConfig, decodeUplink, PayloadError } from "../shared/payload/index.ts";
import { UsageError } from "./usage-error.ts";

const EXAMPLES = `
FPorts: 1 climate batch, 2 bicycle counts, 3 node status (uplinks), 10 configuration (downlink).
Hex may contain spaces and colons and start with 0x. Specification: shared/PAYLOAD.md.

Examples:
  $ sensornet decode --fport 1 8a0101050119085919158800004100190bc2
  $ sensornet decode --fport 2 84 01 19 03 84 0c 82 03 05
  $ sensornet decode --fport 10 --base64 owACAgoDGRwg`;

interface DecodeOptions {
  fport?: string;
  base64?: boolean;
}

export function registerDecode(program: Command): void {
  program
    .command("decode")
    .description("decode an OpenHerz payload (LoRaWAN FRMPayload) and print it as JSON")
    .argument("<payload...>", "the payload bytes as hex, or as base64 with --base64")
    .option("-p, --fport <port>", "the frame's FPort: 1, 2, 3 or 10")
    .option("--base64", "the payload is base64 (as in TTN and ChirpStack MQTT messages)")
    .addHelpText("after", EXAMPLES)
    .action((payload: string[], options: DecodeOptions) => {
      const fport = parseFport(options.fport);
      const bytes = options.base64 ? parseBase64(payload.join("")) : parseHex(payload.join(""));
      let decoded: unknown;
      try {
        decoded = fport === 10 ? decodeConfig(bytes) : decodeUplink(fport, bytes);
      } catch (err) {
        if (err instanceof PayloadError) throw new UsageError(`invalid payload: ${err.message}`);
        throw err;
      }
      process.stdout.write(`${JSON.stringify(decoded, null, 2)}\n`);
    });
}

function parseFport(text: string | undefined): number {
  if (text === undefined)
    throw new UsageError("decode needs --fport (1 climate, 2 bike, 3 status, 10 configuration)");
  if (!/^\d{1,3}$/.test(text) || Number(text) > 255) {
    throw new UsageError(`--fport must be a number from 0 to 255, got "${text}"`);
  }
  return Number(text);
}

export function parseHex(text: string): Uint8Array {
  const digits = text.replace(/^0x/i, "").replace(/[\s:]/g, "");
  const bad = digits.search(/[^0-9a-fA-F]/);
  if (bad >= 0)
    throw new UsageError(`payload is not hex: unexpected "${digits[bad]}" (use --base64 for base64)`);
  if (digits.length % 2 !== 0)
    throw new UsageError(`payload has an odd number of hex digits (${digits.length})`);
  return Uint8Array.from(Buffer.from(digits, "hex"));
}

export function parseBase64(text: string): Uint8Array {
  const compact = text.replace(/\s/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new UsageError("payload is not base64");
  }
  return Uint8Array.from(Buffer.from(compact, "base64"));
}
