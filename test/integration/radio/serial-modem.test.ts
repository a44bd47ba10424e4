// SerialModemSource against a modem played by the test on the other end of a real pseudo-terminal
// (socat). Unplug = socat stopped (the gateway's end hangs up and its link disappears); replug = socat
// started again with the same link names.

import { SerialPort } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import { type SerialModemOptions, SerialModemSource } from "../../../gateway/radio/serial-modem.ts";
import type { DropReason, Logger, RadioFrame } from "../../../gateway/types.ts";
import { createPtyPair, type PtyPair, ptyTestsAvailable } from "../../support/pty.ts";
import { FakeModem, rak3172Responder, rn2483Responder, Signal } from "./helpers.ts";

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(modem: "rn2483" | "rak3172", options: Partial<SerialModemOptions> = {}) {
  const pty: PtyPair = await createPtyPair();
  cleanups.push(() => pty.dispose());
  const fake = new FakeModem(
    pty.modemPath,
    modem === "rn2483" ? rn2483Responder() : rak3172Responder(),
    modem === "rn2483" ? 57600 : 115200,
  );
  await fake.open();
  cleanups.push(() => fake.close());
  const signal = new Signal();
  const frames: RadioFrame[] = [];
  const drops: Array<[DropReason, string]> = [];
  const logs: Array<[string, string, object]> = [];
  const record =
    (level: string) =>
    (obj: object, msg = "") => {
      logs.push([level, msg, obj]);
      signal.notify();
    };
  const logger: Logger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
  const source = new SerialModemSource(
    {
      path: pty.gatewayPath,
      modem,
      commandTimeoutMs: 500,
      reopenDelayMs: { initial: 20, max: 200 },
      logger,
      ...options,
    },
    {
      onFrame: async (frame) => {
        frames.push(frame);
        signal.notify();
      },
      onDrop: (reason, detail) => {
        drops.push([reason, detail]);
        signal.notify();
      },
    },
  );
  cleanups.push(() => source.stop());
  const receivingCount = () => logs.filter(([, msg]) => msg === "serial modem receiving").length;
  return { pty, fake, source, signal, frames, drops, logs, receivingCount };
}

describe.runIf(ptyTestsAvailable())("SerialModemSource over a real pty", () => {
  it("RN2483: init commands, frames with SNR/RSSI, re-arm after each rx, garbage counted", async () => {
    const t = await setup("rn2483", { rn2483: { radioSettings: ["sf sf7", "sync 34"] } });
    await t.source.start();
    await t.signal.until(() => t.receivingCount() === 1, "receiving");
    expect(t.fake.commands).toEqual([
      "radio rxstop",
      "sys get ver",
      "mac pause",
      "radio set wdt 0",
      "radio set sf sf7",
      "radio set sync 34",
      "radio rx 0",
    ]);
    expect(t.source.status()).toMatchObject({
      state: "receiving",
      version: "RN2483 1.0.5 Oct 31 2018 15:06:52",
    });

    const before = Date.now();
    await t.fake.send("radio_rx  40F17DBE4900020001954378762B11FF0D");
    await t.signal.until(() => t.frames.length === 1, "frame");
    await t.fake.untilCommand("radio rx 0", 2);
    expect(t.fake.commands.slice(7)).toEqual(["radio get snr", "radio get rssi", "radio rx 0"]);
    const f = t.frames[0]!;
    expect(Buffer.from(f.phyPayload).toString("hex")).toBe("40f17dbe4900020001954378762b11ff0d");
    expect(f.source).toEqual({ kind: "serial", id: t.pty.gatewayPath });
    expect(f.radio).toEqual({ snr: 9, rssi: -97 });
    expect(f.receivedAtMs).toBeGreaterThanOrEqual(before);
    expect(f.gpsTimeMs).toBeUndefined();

    await t.fake.send("radio_err");
    await t.fake.untilCommand("radio rx 0", 3);
    await t.fake.sendRaw(Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x0d, 0x0a]));
    await t.fake.send("radio_rx  ABC");
    await t.fake.untilCommand("radio rx 0", 4);
    await t.fake.sendRaw(Buffer.alloc(3000, 0x41));
    await t.fake.send("");
    await t.fake.send("radio_rx  0102");
    await t.signal.until(() => t.frames.length === 2, "frame after garbage");
    expect(t.drops.map((d) => d[0])).toEqual([
      "serial_rx_error",
      "serial_garbage",
      "serial_odd_hex",
      "serial_line_too_long",
    ]);
  });

  it("RAK3172 (RUI3): AT init, continuous P2P receive, RXP2P events become frames", async () => {
    const t = await setup("rak3172", {
      rak3172: { setup: ["AT+NWM=0", "AT+P2P=868100000:7:125:0:8:14"] },
      frameRadio: { frequencyMhz: 868.1, dataRate: "SF7BW125" },
    });
    await t.source.start();
    await t.signal.until(() => t.receivingCount() === 1, "receiving");
    expect(t.fake.commands).toEqual([
      "AT",
      "AT+VER=?",
      "AT+NWM=0",
      "AT+P2P=868100000:7:125:0:8:14",
      "AT+PRECV=65534",
    ]);
    expect(t.source.status()).toMatchObject({ version: "RUI_4.0.6_RAK3172-E" });
    await t.fake.send("+EVT:RXP2P:-74:9:40F17DBE49000300");
    await t.fake.send("+EVT:RXP2P:-74:9:40F");
    await t.fake.send("+EVT:RXP2P, RSSI -80, SNR 2");
    await t.fake.send("+EVT:0102");
    await t.signal.until(() => t.frames.length === 2 && t.drops.length === 1);
    expect(t.frames.map((f) => f.radio)).toEqual([
      { frequencyMhz: 868.1, dataRate: "SF7BW125", rssi: -74, snr: 9 },
      { frequencyMhz: 868.1, dataRate: "SF7BW125", rssi: -80, snr: 2 },
    ]);
    expect(t.drops.map((d) => d[0])).toEqual(["serial_odd_hex"]);
    expect(t.fake.commands).toHaveLength(5);
  });

  it("unplug then replug: the source reopens, re-initialises and frames flow again", async () => {
    const t = await setup("rn2483");
    await t.source.start();
    await t.signal.until(() => t.receivingCount() === 1, "receiving");
    await t.fake.send("radio_rx  0A0B");
    await t.signal.until(() => t.frames.length === 1);

    await t.pty.stop();
    await t.signal.until(() => t.source.status().state !== "receiving", "port loss noticed");
    await t.signal.until(
      () =>
        t.logs.some(
          ([level, , obj]) =>
            level === "warn" && /not present/.test(String((obj as { reason?: string }).reason)),
        ),
      "retrying while unplugged",
    );
    await t.fake.close();

    await t.pty.start();
    await t.fake.open();
    // The source retries on its own timer; its first commands may race the fake modem's open, in which
    // case the session times out and reopens once more. Either way it comes back.
    await t.signal.until(() => t.receivingCount() === 2, "receiving again", 8000);
    await t.fake.send("radio_rx  0C0D");
    await t.signal.until(() => t.frames.length === 2, "frame after replug");
    expect(t.frames[1]!.phyPayload).toEqual(Uint8Array.of(0x0c, 0x0d));
    expect(t.source.status().opens).toBeGreaterThanOrEqual(2);
  });

  it("a port locked by another process is retried with a clear log line, then opened", async () => {
    const t = await setup("rn2483");
    const holder = new SerialPort({ path: t.pty.gatewayPath, baudRate: 57600, autoOpen: false });
    await new Promise<void>((resolve, reject) => holder.open((e) => (e ? reject(e) : resolve())));
    await t.source.start();
    expect(t.source.status().state).toBe("waiting");
    await t.signal.until(() => t.logs.some(([level]) => level === "warn"));
    expect(String((t.logs.find(([level]) => level === "warn")![2] as { reason: string }).reason)).toMatch(
      /busy or locked by another process/,
    );
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    await t.signal.until(() => t.receivingCount() === 1, "receiving after the lock is released");
  });

  it("stop() closes the port and no reopen follows", async () => {
    const t = await setup("rn2483");
    await t.source.start();
    await t.signal.until(() => t.receivingCount() === 1);
    await t.source.stop();
    expect(t.source.status().state).toBe("stopped");
    // The gateway end is free again: another process can lock it.
    const again = new SerialPort({ path: t.pty.gatewayPath, baudRate: 57600, autoOpen: false });
    await new Promise<void>((resolve, reject) => again.open((e) => (e ? reject(e) : resolve())));
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });
});
