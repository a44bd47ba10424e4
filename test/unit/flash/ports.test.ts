import { describe, expect, it } from "vitest";
import {
  candidatesOf,
  choosePort,
  FLASH_EXIT_CODES,
  FlashError,
  openError,
  type PortInfo,
} from "../../../tools/flash/index.ts";

const PORTS: PortInfo[] = [
  { path: "/dev/ttyS0" },
  { path: "/dev/ttyUSB0", vendorId: "10c4", productId: "ea60", serialNumber: "0001" },
  { path: "/dev/ttyUSB1", vendorId: "1A86", productId: "7523" },
  { path: "/dev/ttyACM0", vendorId: "303a", productId: "1001" },
  { path: "/dev/ttyACM1", vendorId: "2341", productId: "0043", manufacturer: "Arduino" },
  { path: "/dev/ttyUSB2", vendorId: "0403", productId: "6015" },
];

describe("port discovery", () => {
  it("candidates by USB vendor/product id of the common USB-serial chips", () => {
    expect(candidatesOf(PORTS).map((c) => `${c.path} ${c.vendorId}:${c.productId}`)).toEqual([
      "/dev/ttyUSB0 10c4:ea60",
      "/dev/ttyUSB1 1a86:7523",
      "/dev/ttyACM0 303a:1001",
      "/dev/ttyUSB2 0403:6015",
    ]);
  });

  it("--port wins; the only candidate is taken; none is 'no device'", async () => {
    expect(await choosePort({ port: "/tmp/node0", candidates: [], interactive: false })).toEqual({
      path: "/tmp/node0",
    });
    const one = candidatesOf([PORTS[1]!]);
    expect(await choosePort({ candidates: one, interactive: false })).toMatchObject({ path: "/dev/ttyUSB0" });
    const none = await choosePort({ candidates: [], interactive: true }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(FlashError);
    expect((none as FlashError).kind).toBe("no-device");
    expect((none as FlashError).exitCode).toBe(3);
  });

  it("several: asks on a terminal, otherwise asks for --port", async () => {
    const several = candidatesOf(PORTS);
    expect(await choosePort({ candidates: several, interactive: false })).toEqual({
      ambiguous: expect.stringMatching(/several candidate ports: \/dev\/ttyUSB0 .*choose one with --port/),
    });
    const asked: string[][] = [];
    const chosen = await choosePort({
      candidates: several,
      interactive: true,
      ask: async (list) => {
        asked.push(list.map((c) => c.path));
        return 2;
      },
    });
    expect(asked).toHaveLength(1);
    expect(chosen).toMatchObject({ path: "/dev/ttyACM0" });
    expect(await choosePort({ candidates: several, interactive: true, ask: async () => undefined })).toEqual({
      ambiguous: "no port chosen",
    });
  });
});

describe("open errors", () => {
  it("busy, permission (with the dialout hint) and missing, from serialport's messages", () => {
    const busy = openError(
      "/dev/ttyUSB0",
      new Error("Error Resource temporarily unavailable Cannot lock port"),
    );
    expect(busy.kind).toBe("port-busy");
    const denied = openError("/dev/ttyUSB0", new Error("Error: Permission denied, cannot open /dev/ttyUSB0"));
    expect(denied.kind).toBe("permission");
    expect(denied.hint).toContain("sudo usermod -aG dialout $USER");
    expect(denied.hint).toContain("log out and in");
    expect(openError("/dev/ttyUSB9", new Error("Error: No such file or directory, cannot open")).kind).toBe(
      "no-device",
    );
  });

  it("every failure kind has its own exit status", () => {
    const codes = Object.values(FLASH_EXIT_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).not.toContain(0);
    expect(codes).not.toContain(1);
    expect(codes).not.toContain(2);
  });
});

describe("ports from sysfs (no udevadm)", () => {
  it("finds ttyUSB/ttyACM devices and their USB ids", async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { listFromSysfs } = await import("../../../tools/flash/index.ts");
    const root = mkdtempSync(join(tmpdir(), "sysfs-"));
    try {
      // devices/usb1/1-1 (idVendor) / 1-1:1.0 (interface) / ttyUSB0 ; class/tty/ttyUSB0/device → the interface
      const usb = join(root, "devices/usb1/1-1");
      const iface = join(usb, "1-1:1.0");
      mkdirSync(join(iface, "ttyUSB0"), { recursive: true });
      writeFileSync(join(usb, "idVendor"), "10c4\n");
      writeFileSync(join(usb, "idProduct"), "ea60\n");
      writeFileSync(join(usb, "serial"), "0001\n");
      mkdirSync(join(root, "class/tty/ttyUSB0"), { recursive: true });
      symlinkSync(iface, join(root, "class/tty/ttyUSB0/device"));
      mkdirSync(join(root, "class/tty/ttyS0"), { recursive: true });
      const ports = await listFromSysfs(join(root, "class/tty"));
      expect(ports).toEqual([
        {
          path: "/dev/ttyUSB0",
          vendorId: "10c4",
          productId: "ea60",
          serialNumber: "0001",
          manufacturer: undefined,
        },
      ]);
      expect(candidatesOf(ports)).toHaveLength(1);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
