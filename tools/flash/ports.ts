// Finding the node: serial ports whose USB vendor/product id is a USB-serial chip that OpenHerz boards (and
// their common clones) carry. A port is only a candidate; identification happens with AT+ID? once it is open.
import { readdir, readFile, realpath } from "node:fs/promises";
import { dirname, join } from "node:path";
import { FlashError } from "./errors.ts";

export interface UsbSerialChip {
  vendorId: string;
  productId: string;
  chip: string;
}

/** Lower-case hex ids, as serialport reports them on Linux and macOS. */
export const USB_SERIAL_CHIPS: readonly UsbSerialChip[] = [
  { vendorId: "10c4", productId: "ea60", chip: "Silicon Labs CP210x (Heltec WiFi LoRa 32 V3)" },
  { vendorId: "1a86", productId: "7523", chip: "WCH CH340" },
  { vendorId: "1a86", productId: "55d4", chip: "WCH CH9102" },
  { vendorId: "0403", productId: "6001", chip: "FTDI FT232R" },
  { vendorId: "0403", productId: "6015", chip: "FTDI FT231X" },
  { vendorId: "303a", productId: "1001", chip: "ESP32-S3 native USB (XIAO ESP32S3)" },
];

/** What serialport's `SerialPort.list()` gives per port (the fields used here). */
export interface PortInfo {
  path: string;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
  vendorId?: string | undefined;
  productId?: string | undefined;
}

export interface PortCandidate {
  path: string;
  chip: string;
  vendorId: string;
  productId: string;
  serialNumber: string | undefined;
}

export function chipOf(port: PortInfo): UsbSerialChip | undefined {
  const vid = port.vendorId?.toLowerCase().replace(/^0x/, "");
  const pid = port.productId?.toLowerCase().replace(/^0x/, "");
  return USB_SERIAL_CHIPS.find((c) => c.vendorId === vid && c.productId === pid);
}

export function candidatesOf(ports: readonly PortInfo[]): PortCandidate[] {
  const out: PortCandidate[] = [];
  for (const port of ports) {
    const chip = chipOf(port);
    if (chip === undefined) continue;
    out.push({
      path: port.path,
      chip: chip.chip,
      vendorId: chip.vendorId,
      productId: chip.productId,
      serialNumber: port.serialNumber,
    });
  }
  return out;
}

/**
 * All serial ports the system knows: serialport's list (on Linux it asks udevadm), else — where udevadm is
 * missing, as in minimal images and containers — the same facts read from sysfs.
 */
export async function listSerialPorts(sysfsRoot = "/sys/class/tty"): Promise<PortInfo[]> {
  const { SerialPort } = await import("serialport");
  try {
    return await SerialPort.list();
  } catch (err) {
    if (process.platform !== "linux") {
      throw new FlashError(
        "no-device",
        `cannot list serial ports (${(err as Error).message})`,
        "give the port with --port <path>",
      );
    }
    return listFromSysfs(sysfsRoot);
  }
}

/** USB serial ports from sysfs: /sys/class/tty/ttyUSB0/device → the USB device's idVendor/idProduct. */
export async function listFromSysfs(root = "/sys/class/tty"): Promise<PortInfo[]> {
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => /^tty(USB|ACM)\d+$/.test(n)).sort();
  } catch {
    return [];
  }
  const read = async (dir: string, file: string) => {
    try {
      return (await readFile(join(dir, file), "utf8")).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const out: PortInfo[] = [];
  for (const name of names) {
    let dir: string;
    try {
      dir = await realpath(join(root, name, "device"));
    } catch {
      continue;
    }
    // The tty hangs off a USB interface; idVendor sits on its parent device, one or two levels up.
    for (let depth = 0; depth < 4 && dir !== "/"; depth++, dir = dirname(dir)) {
      const vendorId = await read(dir, "idVendor");
      if (vendorId === undefined) continue;
      out.push({
        path: `/dev/${name}`,
        vendorId,
        productId: await read(dir, "idProduct"),
        serialNumber: await read(dir, "serial"),
        manufacturer: await read(dir, "manufacturer"),
      });
      break;
    }
  }
  return out;
}

export interface ChoosePortOptions {
  /** --port, when given: used as is. */
  port?: string | undefined;
  candidates: readonly PortCandidate[];
  /** Whether a person can answer a question (stdin and stderr are terminals). */
  interactive: boolean;
  /** Asks which one; returns the index into candidates, or undefined for none. */
  ask?: (candidates: readonly PortCandidate[]) => Promise<number | undefined>;
}

/**
 * --port, else the only candidate, else the technician's choice when there is someone to ask; without a
 * terminal several candidates are a usage mistake (returned as a message: the CLI makes it one).
 */
export async function choosePort(
  o: ChoosePortOptions,
): Promise<{ path: string; chip?: string } | { ambiguous: string }> {
  if (o.port !== undefined) return { path: o.port };
  if (o.candidates.length === 0) {
    throw new FlashError(
      "no-device",
      "no node found: no USB serial adapter of a known kind is plugged in",
      "plug the node in with a data cable (not a charge-only one) and check `sensornet flash --list-ports`; " +
        "or give --port <path>",
    );
  }
  if (o.candidates.length === 1) return { path: o.candidates[0]!.path, chip: o.candidates[0]!.chip };
  const list = o.candidates.map((c) => `${c.path} (${c.chip})`).join(", ");
  if (!o.interactive || o.ask === undefined) {
    return { ambiguous: `several candidate ports: ${list}; choose one with --port <path>` };
  }
  const index = await o.ask(o.candidates);
  const chosen = index === undefined ? undefined : o.candidates[index];
  if (chosen === undefined) return { ambiguous: "no port chosen" };
  return { path: chosen.path, chip: chosen.chip };
}
