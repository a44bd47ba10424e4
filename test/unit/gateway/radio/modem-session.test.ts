import { describe, expect, it } from "vitest";
import { ModemSession, type ModemSessionConfig } from "../../../../gateway/radio/modem-session.ts";
import type { DropReason, RadioFrame } from "../../../../gateway/types.ts";

type Responder = (command: string) => string[] | undefined;

/** A modem that answers each command line from a table, asynchronously like a real UART. */
function harness(
  modem: "rn2483" | "rak3172",
  respond: Responder,
  overrides: Partial<ModemSessionConfig> = {},
) {
  const written: string[] = [];
  const frames: RadioFrame[] = [];
  const drops: Array<[DropReason, string]> = [];
  const ready: Array<{ version?: string }> = [];
  const fatal: string[] = [];
  const waiters: Array<() => void> = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  const config: ModemSessionConfig = {
    modem,
    sourceId: "/dev/ttyTEST",
    commandTimeoutMs: 200,
    rearmDelayMs: 10,
    rn2483: { radioSettings: [], querySnr: true, queryRssi: true, pauseRefreshMs: 3600_000 },
    rak3172: { setup: [], receiveCommand: "AT+PRECV=65534" },
    frameRadio: {},
    ...overrides,
  };
  const clock = { now: 1_700_000_000_000 };
  const session = new ModemSession(config, {
    write(line) {
      expect(line.endsWith("\r\n")).toBe(true);
      const cmd = line.slice(0, -2);
      written.push(cmd);
      notify();
      const answer = respond(cmd);
      if (answer) {
        setImmediate(() => {
          for (const l of answer) session.handleLine(`${l}\r`);
        });
      }
    },
    frame: (f) => {
      frames.push(f);
      notify();
    },
    drop: (reason, detail) => {
      drops.push([reason, detail]);
      notify();
    },
    ready: (info) => {
      ready.push(info);
      notify();
    },
    fatal: (d) => {
      fatal.push(d);
      notify();
    },
    now: () => clock.now,
  });
  /** Resolves once `cond` holds; re-checked on every session event (no sleeps). */
  const until = (cond: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error("condition not reached within 2 s")), 2000);
      const check = () => {
        if (cond()) {
          clearTimeout(deadline);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  const feed = (line: string) => session.handleLine(line);
  return { session, written, frames, drops, ready, fatal, until, feed, clock };
}

const rnTable =
  (overrides: Record<string, string[]> = {}): Responder =>
  (cmd) => {
    if (cmd in overrides) return overrides[cmd];
    if (cmd === "sys get ver") return ["RN2483 1.0.5 Oct 31 2018 15:06:52"];
    if (cmd === "mac pause") return ["4294967245"];
    if (cmd === "radio get snr") return ["7"];
    if (cmd === "radio get rssi") return ["-91"];
    if (cmd === "radio rxstop") return ["invalid_param"];
    return ["ok"];
  };

describe("ModemSession: RN2483", () => {
  it("sends the init sequence in order and reports ready with the version", async () => {
    const h = harness("rn2483", rnTable(), {
      rn2483: {
        radioSettings: ["sf sf7", "sync 34"],
        querySnr: true,
        queryRssi: true,
        pauseRefreshMs: 3600_000,
      },
    });
    h.session.start();
    await h.until(() => h.ready.length === 1);
    expect(h.written).toEqual([
      "radio rxstop",
      "sys get ver",
      "mac pause",
      "radio set wdt 0",
      "radio set sf sf7",
      "radio set sync 34",
      "radio rx 0",
    ]);
    expect(h.ready[0]).toEqual({ version: "RN2483 1.0.5 Oct 31 2018 15:06:52" });
    expect(h.drops).toEqual([]);
  });

  it("radio_rx → frame with SNR and RSSI, then re-arms", async () => {
    const h = harness("rn2483", rnTable());
    h.session.start();
    await h.until(() => h.ready.length === 1);
    h.written.length = 0;
    h.feed("radio_rx  40010203\r");
    await h.until(() => h.frames.length === 1 && h.written.includes("radio rx 0"));
    expect(h.written).toEqual(["radio get snr", "radio get rssi", "radio rx 0"]);
    expect(h.frames[0]).toMatchObject({
      phyPayload: Uint8Array.of(0x40, 1, 2, 3),
      source: { kind: "serial", id: "/dev/ttyTEST" },
      radio: { snr: 7, rssi: -91 },
    });
    expect(h.frames[0]?.gpsTimeMs).toBeUndefined();
  });

  it("re-sends `mac pause` before arming once half the granted pause has passed", async () => {
    const h = harness("rn2483", rnTable({ "mac pause": ["10000"] }));
    h.session.start();
    await h.until(() => h.ready.length === 1);
    h.written.length = 0;
    h.clock.now += 4999;
    h.feed("radio_rx  01");
    await h.until(() => h.written.includes("radio rx 0"));
    expect(h.written).not.toContain("mac pause");
    h.written.length = 0;
    h.clock.now += 1;
    h.feed("radio_rx  02");
    await h.until(() => h.written.includes("radio rx 0"));
    expect(h.written).toEqual(["radio get snr", "radio get rssi", "mac pause", "radio rx 0"]);
  });

  it("stops asking for RSSI when the firmware does not know `radio get rssi`", async () => {
    const h = harness("rn2483", rnTable({ "radio get rssi": ["invalid_param"] }));
    h.session.start();
    await h.until(() => h.ready.length === 1);
    h.feed("radio_rx  01");
    await h.until(() => h.frames.length === 1);
    h.written.length = 0;
    h.feed("radio_rx  02");
    await h.until(() => h.frames.length === 2 && h.written.includes("radio rx 0"));
    expect(h.written).toEqual(["radio get snr", "radio rx 0"]);
    expect(h.drops).toEqual([]);
  });

  it("radio_err and unusable radio_rx lines are counted and the radio is re-armed", async () => {
    const h = harness("rn2483", rnTable());
    h.session.start();
    await h.until(() => h.ready.length === 1);
    h.written.length = 0;
    h.feed("radio_err");
    h.feed("radio_rx  ABC");
    await h.until(() => h.written.filter((c) => c === "radio rx 0").length === 2);
    expect(h.drops.map((d) => d[0])).toEqual(["serial_rx_error", "serial_odd_hex"]);
    expect(h.frames).toEqual([]);
  });

  it("garbage outside a command is counted, not fatal", async () => {
    const h = harness("rn2483", rnTable());
    h.session.start();
    await h.until(() => h.ready.length === 1);
    h.feed("\u00ff\u00fe garbage");
    h.feed("ok");
    expect(h.drops.map((d) => d[0])).toEqual(["serial_garbage", "serial_garbage"]);
    expect(h.fatal).toEqual([]);
  });

  it("re-initialises when the module announces a reset", async () => {
    const h = harness("rn2483", rnTable());
    h.session.start();
    await h.until(() => h.ready.length === 1);
    h.feed("RN2483 1.0.5 Oct 31 2018 15:06:52");
    await h.until(() => h.ready.length === 2);
    expect(h.written.filter((c) => c === "sys get ver")).toHaveLength(2);
  });

  it("a silent modem is fatal (the port gets reopened)", async () => {
    const h = harness("rn2483", () => undefined, { commandTimeoutMs: 20 });
    h.session.start();
    await h.until(() => h.fatal.length === 1);
    expect(h.fatal[0]).toMatch(/no answer to "sys get ver"/);
    expect(h.ready).toEqual([]);
  });

  it("a refused `radio rx 0` is counted and retried", async () => {
    let refusals = 2;
    const h = harness("rn2483", (cmd) =>
      cmd === "radio rx 0" && refusals-- > 0 ? ["invalid_param"] : rnTable()(cmd),
    );
    h.session.start();
    await h.until(() => h.ready.length === 1);
    expect(h.written.filter((c) => c === "radio rx 0")).toHaveLength(3);
    expect(h.drops.map((d) => d[0])).toEqual(["serial_command_failed", "serial_command_failed"]);
  });

  it("dispose stops everything without a fatal report", async () => {
    const h = harness("rn2483", () => undefined, { commandTimeoutMs: 1000 });
    h.session.start();
    await h.until(() => h.written.length === 1);
    h.session.dispose();
    h.feed("radio_rx  0102");
    await new Promise((r) => setImmediate(r));
    expect(h.fatal).toEqual([]);
    expect(h.frames).toEqual([]);
    expect(h.written).toEqual(["radio rxstop"]);
  });
});

const rakTable =
  (overrides: Record<string, string[]> = {}): Responder =>
  (cmd) => {
    if (cmd in overrides) return overrides[cmd];
    if (cmd === "AT+VER=?") return ["AT+VER=RUI_4.0.6_RAK3172-E", "", "OK"];
    return ["", "OK"];
  };

describe("ModemSession: RAK3172 (RUI3)", () => {
  it("init sequence, ready with version, then frames from RXP2P events without re-arming", async () => {
    const h = harness("rak3172", rakTable(), {
      rak3172: { setup: ["AT+P2P=868100000:7:125:0:8:14"], receiveCommand: "AT+PRECV=65534" },
      frameRadio: { frequencyMhz: 868.1, dataRate: "SF7BW125" },
    });
    h.session.start();
    await h.until(() => h.ready.length === 1);
    expect(h.written).toEqual(["AT", "AT+VER=?", "AT+P2P=868100000:7:125:0:8:14", "AT+PRECV=65534"]);
    expect(h.ready[0]).toEqual({ version: "RUI_4.0.6_RAK3172-E" });
    h.feed("+EVT:RXP2P:-60:11:AABBCCDD\r");
    h.feed("+EVT:RXP2P, RSSI -70, SNR 3\r");
    h.feed("+EVT:0102\r");
    expect(h.frames.map((f) => [f.phyPayload, f.radio])).toEqual([
      [
        Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd),
        { frequencyMhz: 868.1, dataRate: "SF7BW125", rssi: -60, snr: 11 },
      ],
      [Uint8Array.of(1, 2), { frequencyMhz: 868.1, dataRate: "SF7BW125", rssi: -70, snr: 3 }],
    ]);
    expect(h.written).toHaveLength(4);
  });

  it("setup errors and garbage are counted; other events are ignored", async () => {
    const h = harness("rak3172", rakTable({ "AT+BAD": ["AT_PARAM_ERROR"] }), {
      rak3172: { setup: ["AT+BAD"], receiveCommand: "AT+PRECV=65534" },
    });
    h.session.start();
    await h.until(() => h.ready.length === 1);
    h.feed("+EVT:TXP2P DONE");
    h.feed("\u0001\u0002");
    h.feed("+EVT:RXP2P:-60:11:ABC");
    expect(h.drops.map((d) => d[0])).toEqual(["serial_command_failed", "serial_garbage", "serial_odd_hex"]);
    expect(h.drops[0]?.[1]).toContain("AT_PARAM_ERROR");
  });

  it("an unanswered setup command is fatal, so a restarted module gets the whole setup again", async () => {
    const h = harness("rak3172", (cmd) => (cmd === "AT+NWM=0" ? undefined : rakTable()(cmd)), {
      commandTimeoutMs: 20,
      rak3172: { setup: ["AT+NWM=0", "AT+P2P=868100000:7:125:0:8:14"], receiveCommand: "AT+PRECV=65534" },
    });
    h.session.start();
    await h.until(() => h.fatal.length === 1);
    expect(h.fatal[0]).toMatch(/no answer to "AT\+NWM=0"/);
    expect(h.written).toEqual(["AT", "AT+VER=?", "AT+NWM=0"]);
  });

  it("ignores the echo of its own command", async () => {
    const h = harness("rak3172", (cmd) => [cmd, ...(rakTable()(cmd) ?? [])]);
    h.session.start();
    await h.until(() => h.ready.length === 1);
    expect(h.drops).toEqual([]);
  });
});
