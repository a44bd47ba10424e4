// The firmware file to upload: its bytes, SHA-256, and the host ABI and version it declares (read by calling
// its `abi_version` and `fw_version` exports in a throw-away instance with stub imports), so the tool can
// refuse a node whose host speaks another ABI before it writes anything.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { wasmApi } from "../../firmware/host/wasm-api.ts";
import { FlashError } from "./errors.ts";
import { formatVersion, SLOT_SIZE, toHex } from "./protocol.ts";

export interface FirmwareImage {
  path: string;
  bytes: Uint8Array;
  /** Upper-case hex. */
  sha256: string;
  abi: number;
  /** "x.y.z" */
  fwVersion: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return toHex(createHash("sha256").update(bytes).digest());
}

/** Reads and inspects a module; every problem is a FlashError("firmware"). */
export async function readFirmware(path: string): Promise<FirmwareImage> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FlashError(
      "firmware",
      `cannot read firmware ${path}${code ? ` (${code})` : ""}`,
      code === "ENOENT" ? "build it with `npm run build`, or give --firmware <file.wasm>" : undefined,
    );
  }
  return inspectFirmware(path, bytes);
}

export async function inspectFirmware(path: string, bytes: Uint8Array): Promise<FirmwareImage> {
  if (bytes.length === 0 || bytes.length > SLOT_SIZE) {
    throw new FlashError("firmware", `${path} is ${bytes.length} bytes; a module slot holds 1..${SLOT_SIZE}`);
  }
  const notModule = (why: string) =>
    new FlashError(
      "firmware",
      `${path} is not a node firmware module: ${why}`,
      "give --firmware <node.wasm>",
    );
  let module: WebAssembly.Module;
  try {
    module = await wasmApi.compile(bytes);
  } catch (err) {
    throw notModule((err as Error).message);
  }
  const exported = new Set(wasmApi.Module.exports(module).map((e) => e.name));
  for (const name of ["abi_version", "fw_version", "memory", "init", "tick"]) {
    if (!exported.has(name)) throw notModule(`no export ${name}`);
  }
  const imports: Record<string, Record<string, () => number>> = {};
  for (const imp of wasmApi.Module.imports(module)) {
    if (imp.kind !== "function") throw notModule(`imports a ${imp.kind} (${imp.module}.${imp.name})`);
    imports[imp.module] ??= {};
    imports[imp.module]![imp.name] = () => 0;
  }
  try {
    const instance = await wasmApi.instantiate(module, imports);
    const call = (name: string) => (instance.exports[name] as () => number)() >>> 0;
    return {
      path,
      bytes,
      sha256: sha256Hex(bytes),
      abi: call("abi_version"),
      fwVersion: formatVersion(call("fw_version")),
    };
  } catch (err) {
    throw notModule((err as Error).message);
  }
}
