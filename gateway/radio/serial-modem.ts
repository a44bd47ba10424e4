// RadioSource over a serial LoRa modem (serialport + a bounded @serialport/parser-readline).
//
// Port lifecycle: open → ModemSession (init, continuous receive) → on close or error (unplugged, modem
// silent) reopen after a jittered exponential backoff, for ever, until stop(). A port held by another
// process (serialport's flock: "Cannot lock port", or EBUSY) is retried the same way. Log lines are
// written on state changes only, so a modem that stays unplugged for a week does not fill the SD card.
//
// Frames from a modem carry no GPS time: receivedAtMs is the gateway clock when the line arrived. There
// is no acknowledgement towards the modem, so onFrame is not awaited in the receive path; a rejected
// onFrame is reported as frame_handler_failed.

import { SerialPort } from "serialport";
import type { DropReason, Logger, RadioFrame, RadioSource, RadioSourceCallbacks } from "../types.ts";
import { BoundedReadlineParser } from "./bounded-readline.ts";
import { excerpt } from "./modem-lines.ts";
import { ModemSession, type ModemSessionConfig, type ModemType } from "./modem-session.ts";

export type { ModemType } from "./modem-session.ts";

export const DEFAULT_BAUD_RATE: Readonly<Record<ModemType, number>> = { rn2483: 57600, rak3172: 115200 };

/**
 * RN2483 `radio set` arguments for hearing LoRaWAN EU868 uplinks on 868.1 MHz at SF7 (an example for the
 * gateway config; the module's power-on defaults are SF12 and the private sync word 0x12).
 */
export const RN2483_LORAWAN_EU868_SF7: readonly string[] = [
  "mod lora",
  "freq 868100000",
  "sf sf7",
  "bw 125",
  "cr 4/5",
  "prlen 8",
  "crc on",
  "iqi off",
  "sync 34",
];

export interface SerialModemOptions {
  path: string;
  modem: ModemType;
  /** Default per modem: RN2483 57600, RAK3172 115200. */
  baudRate?: number;
  name?: string;
  /** Default 2000 ms. */
  commandTimeoutMs?: number;
  /** Longest accepted line in bytes; longer lines are discarded (serial_line_too_long). Default 1024. */
  maxLineLength?: number;
  /** Reopen backoff: first delay and cap, ms. Defaults 500 and 30 000. */
  reopenDelayMs?: { initial?: number; max?: number };
  rn2483?: { radioSettings?: readonly string[]; querySnr?: boolean; queryRssi?: boolean };
  rak3172?: { setup?: readonly string[]; receiveCommand?: string };
  frameRadio?: { frequencyMhz?: number; dataRate?: string };
  logger?: Logger;
  /** For tests. */
  random?: () => number;
  now?: () => number;
}

export type SerialModemState = "stopped" | "opening" | "initialising" | "receiving" | "waiting";

export interface SerialModemStatus {
  path: string;
  modem: ModemType;
  state: SerialModemState;
  version?: string;
  /** Successful opens since start(). */
  opens: number;
  lastError?: string;
  lastFrameMs?: number;
  frames: number;
}

const RAK_RECEIVE_CONTINUOUS = "AT+PRECV=65534";

export class SerialModemSource implements RadioSource {
  readonly name: string;
  private readonly config: ModemSessionConfig;
  private readonly baudRate: number;
  private readonly maxLineLength: number;
  private readonly backoff: { initial: number; max: number };
  private readonly log: Logger | undefined;
  private readonly random: () => number;
  private readonly now: () => number;

  private running = false;
  private port: SerialPort | undefined;
  private parser: BoundedReadlineParser | undefined;
  private session: ModemSession | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastLoggedError: string | undefined;
  private readonly st: SerialModemStatus;

  constructor(
    options: SerialModemOptions,
    private readonly callbacks: RadioSourceCallbacks,
  ) {
    const commands = [...(options.rn2483?.radioSettings ?? []), ...(options.rak3172?.setup ?? [])];
    if (options.rak3172?.receiveCommand !== undefined) commands.push(options.rak3172.receiveCommand);
    for (const c of commands) {
      // A line break inside a configured command would smuggle a second command to the modem.
      if (/[\r\n]/.test(c) || c.trim() === "") throw new Error(`invalid modem command ${JSON.stringify(c)}`);
    }
    this.name = options.name ?? `serial:${options.path}`;
    this.baudRate = options.baudRate ?? DEFAULT_BAUD_RATE[options.modem];
    if (!Number.isInteger(this.baudRate) || this.baudRate <= 0)
      throw new Error(`invalid baud rate ${this.baudRate}`);
    if (options.path.trim() === "") throw new Error("serial modem path is empty");
    this.maxLineLength = options.maxLineLength ?? 1024;
    this.backoff = {
      initial: options.reopenDelayMs?.initial ?? 500,
      max: options.reopenDelayMs?.max ?? 30_000,
    };
    this.log = options.logger;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    const commandTimeoutMs = options.commandTimeoutMs ?? 2000;
    this.config = {
      modem: options.modem,
      sourceId: options.path,
      commandTimeoutMs,
      rearmDelayMs: Math.max(commandTimeoutMs, 1000),
      rn2483: {
        radioSettings: options.rn2483?.radioSettings ?? [],
        querySnr: options.rn2483?.querySnr ?? true,
        queryRssi: options.rn2483?.queryRssi ?? true,
        pauseRefreshMs: 24 * 3600_000,
      },
      rak3172: {
        setup: options.rak3172?.setup ?? [],
        receiveCommand: options.rak3172?.receiveCommand ?? RAK_RECEIVE_CONTINUOUS,
      },
      frameRadio: { ...options.frameRadio },
    };
    this.st = { path: options.path, modem: options.modem, state: "stopped", opens: 0, frames: 0 };
  }

  /** Resolves after the first open attempt: with the port open, or with a retry scheduled. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.failures = 0;
    await this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const port = this.port;
    this.teardown();
    this.st.state = "stopped";
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  status(): SerialModemStatus {
    return { ...this.st };
  }

  private open(): Promise<void> {
    this.st.state = "opening";
    let port: SerialPort;
    try {
      port = new SerialPort({ path: this.config.sourceId, baudRate: this.baudRate, autoOpen: false });
    } catch (err) {
      this.retryLater(`cannot open ${this.config.sourceId}: ${(err as Error).message}`);
      return Promise.resolve();
    }
    this.port = port;
    // Without an "error" listener an unplug during a write would crash the process.
    port.on("error", (err) => this.onPortError(port, err));
    return new Promise<void>((resolve) => {
      port.open((err) => {
        if (port !== this.port || !this.running) {
          if (!err) port.close(() => {});
          resolve();
          return;
        }
        if (err) {
          this.port = undefined;
          this.retryLater(describeOpenError(err, this.config.sourceId));
        } else {
          this.attach(port);
        }
        resolve();
      });
    });
  }

  private attach(port: SerialPort): void {
    this.st.opens++;
    this.st.state = "initialising";
    this.log?.debug({ path: this.config.sourceId, baudRate: this.baudRate }, "serial modem port open");
    const parser = new BoundedReadlineParser(this.maxLineLength);
    this.parser = parser;
    const session = new ModemSession(this.config, {
      write: (line) => {
        if (port.isOpen) port.write(line);
      },
      frame: (frame) => this.deliver(frame),
      drop: (reason, detail) => this.drop(reason, detail),
      ready: ({ version }) => {
        this.failures = 0;
        this.lastLoggedError = undefined;
        this.st.state = "receiving";
        if (version) this.st.version = version;
        this.info({ path: this.config.sourceId, version }, "serial modem receiving");
      },
      fatal: (detail) => {
        this.st.lastError = detail;
        if (detail !== this.lastLoggedError) {
          this.lastLoggedError = detail;
          this.warn({ path: this.config.sourceId, detail }, "serial modem not answering; reopening");
        }
        if (port.isOpen) port.close();
      },
      now: this.now,
    });
    this.session = session;
    parser.on("data", (line: string) => {
      if (line.length > this.maxLineLength) {
        this.drop("serial_line_too_long", `${line.length} bytes > ${this.maxLineLength}`);
      } else {
        session.handleLine(line);
      }
    });
    parser.on("overflow", (held: number) => {
      this.drop("serial_line_too_long", `more than ${held} bytes without a line break`);
    });
    port.pipe(parser);
    port.on("close", (err?: Error | null) => {
      if (port !== this.port) return;
      this.teardown();
      if (this.running) this.retryLater(err ? `port closed: ${err.message}` : "port closed");
    });
    session.start();
  }

  private teardown(): void {
    this.session?.dispose();
    this.session = undefined;
    if (this.port && this.parser) this.port.unpipe(this.parser);
    this.parser?.removeAllListeners();
    this.parser?.destroy();
    this.parser = undefined;
    this.port = undefined;
  }

  private onPortError(port: SerialPort, err: Error): void {
    if (port !== this.port) return;
    this.st.lastError = err.message;
    // A failed write or read usually means the device is gone; closing triggers the reopen path.
    if (port.isOpen) port.close();
  }

  private retryLater(reason: string): void {
    if (!this.running) return;
    const wasInitialising = this.st.state === "initialising";
    this.st.state = "waiting";
    this.st.lastError = reason;
    const delay = Math.min(this.backoff.max, this.backoff.initial * 2 ** Math.min(this.failures, 16));
    this.failures++;
    // Jitter in [0.5, 1) of the delay: several gateways on one USB hub do not retry in lockstep.
    const ms = Math.round(delay * (0.5 + this.random() / 2));
    // "port closed" right after a fatal report is the same incident.
    if (reason !== this.lastLoggedError && !(reason === "port closed" && wasInitialising)) {
      this.lastLoggedError = reason;
      this.warn({ path: this.config.sourceId, reason, retryInMs: ms }, "serial modem unavailable; retrying");
    }
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.running) void this.open();
    }, ms);
  }

  private deliver(frame: RadioFrame): void {
    this.st.frames++;
    this.st.lastFrameMs = frame.receivedAtMs;
    let p: Promise<void>;
    try {
      p = this.callbacks.onFrame(frame);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.catch((err: unknown) => this.drop("frame_handler_failed", (err as Error)?.message ?? String(err)));
  }

  private drop(reason: DropReason, detail: string): void {
    try {
      this.callbacks.onDrop(reason, detail, { source: "serial", sourceId: this.config.sourceId });
    } catch (err) {
      this.warn({ err, reason }, "onDrop callback threw");
    }
  }

  private info(obj: object, msg: string): void {
    this.log?.info(obj, msg);
  }

  private warn(obj: object, msg: string): void {
    this.log?.warn(obj, msg);
  }
}

function describeOpenError(err: Error, path: string): string {
  const m = err.message;
  if (/Cannot lock port|EBUSY|Resource busy/i.test(m)) {
    return `port ${path} is busy or locked by another process (${excerpt(m, 80)})`;
  }
  if (/ENOENT|No such file/i.test(m)) return `port ${path} not present (unplugged?)`;
  if (/EACCES|Permission denied/i.test(m)) {
    return `permission denied on ${path} (is the gateway user in the dialout group?)`;
  }
  return `cannot open ${path}: ${excerpt(m, 80)}`;
}
