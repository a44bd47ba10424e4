// The gateway's registry entry of a freshly provisioned node (gateway/lorawan/registry.ts: one JSON file, mode
// 0600, written atomically). Checked before the node is touched — a name or DevEUI already taken must not
// cost a flashed node — and written only after the node verified.
import { randomBytes } from "node:crypto";
import {
  type Device,
  type DeviceInput,
  RegistryError,
  type RegistryFile,
  validateDevice,
} from "../../gateway/lorawan/registry.ts";
import { loadRegistryOrEmpty, saveRegistry } from "../../gateway/lorawan/registry-file.ts";
import { FlashError } from "./errors.ts";

export class EntryInputError extends Error {
  override name = "EntryInputError";
}

/** Validates the entry as the gateway will; the issues name the fields ("location.lat: expected …"). */
export function registryDevice(input: DeviceInput): Device {
  const checked = validateDevice(input);
  if (!checked.ok) throw new EntryInputError(checked.issues.join("; "));
  return checked.device;
}

/** The registry's devices, or none when the file does not exist yet. */
export async function registryDevices(path: string): Promise<readonly Device[]> {
  try {
    return (await loadRegistryOrEmpty(path)).file.devices;
  } catch (err) {
    throw registryError(err);
  }
}

/** Throws FlashError("registry") if the DevEUI, DevAddr or name is already registered. */
export function checkConflicts(devices: readonly Device[], device: Device, path: string): void {
  for (const other of devices) {
    const clash =
      other.devEui === device.devEui
        ? `DevEUI ${device.devEui}`
        : other.devAddr === device.devAddr
          ? `DevAddr ${device.devAddr}`
          : other.name === device.name
            ? `name "${device.name}"`
            : undefined;
    if (clash !== undefined) {
      throw new FlashError(
        "registry",
        `${clash} is already registered (device "${other.name}" in ${path}); nothing was written to the node`,
        `choose another one, or remove the old entry first: sensornet devices remove ${other.devEui} --registry ${path}`,
      );
    }
  }
}

/** Adds the device (creating the file if needed); returns whether the file was created. */
export async function addToRegistry(path: string, device: Device): Promise<{ created: boolean }> {
  let file: RegistryFile;
  let created: boolean;
  try {
    ({ file, created } = await loadRegistryOrEmpty(path));
  } catch (err) {
    throw registryError(err);
  }
  checkConflicts(file.devices, device, path);
  file.devices.push(device);
  try {
    await saveRegistry(path, file);
  } catch (err) {
    throw registryError(err);
  }
  return { created };
}

/**
 * A random DevAddr in 26000000–27FFFFFF (the block of NetID 000013, the one the simulator uses too) that no
 * registered device has. The town's gateway accepts any DevAddr in its registry; --dev-addr sets another.
 */
export function randomDevAddr(taken: readonly Device[], random: (n: number) => Buffer = randomBytes): string {
  const used = new Set(taken.map((d) => d.devAddr));
  for (;;) {
    const n = (0x26000000 | (random(4).readUInt32BE(0) & 0x01ffffff)) >>> 0;
    const hex = n.toString(16).toUpperCase().padStart(8, "0");
    if (!used.has(hex)) return hex;
  }
}

export function randomKey(): string {
  return randomBytes(16).toString("hex").toUpperCase();
}

function registryError(err: unknown): unknown {
  if (err instanceof RegistryError) return new FlashError("registry", err.message);
  return err;
}
