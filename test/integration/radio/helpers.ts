import type { RemoteInfo, Socket } from "node:dgram";
import { SerialPort } from "serialport";

/**
 * Change notification for tests: producers call notify(); until(cond) re-checks on each notification
 * and fails after a deadline. No sleeps: a check runs only when something happened.
 */
export class Signal {
  private waiters: Array<() => void> = [];

  notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  until(cond: () => boolean, label = "condition", timeoutMs = 5000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`${label} not reached within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const check = () => {
        let ok = false;
        try {
          ok = cond();
        } catch (err) {
          clearTimeout(deadline);
          reject(err);
          return;
        }
        if (ok) {
          clearTimeout(deadline);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }
}

/** Records every datagram a client socket receives. */
export class Inbox {
  readonly messages: Array<{ bytes: Uint8Array; from: RemoteInfo }> = [];
  readonly signal = new Signal();

  constructor(socket: Socket) {
    socket.on("message", (msg, from) => {
      this.messages.push({ bytes: new Uint8Array(msg), from });
      this.signal.notify();
    });
  }

  /** Resolves with the first message (index ≥ `from`) matching `pred`. */
  async next(pred: (b: Uint8Array) => boolean, from = 0, label = "datagram"): Promise<Uint8Array> {
    let found: Uint8Array | undefined;
    await this.signal.until(() => {
      found = this.messages.slice(from).find((m) => pred(m.bytes))?.bytes;
      return found !== undefined;
    }, label);
    return found!;
  }
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Plays a serial LoRa modem on the far end of a pty: records the command lines it receives, answers them
 * from `respond`, and sends unsolicited lines on request.
 */
export class FakeModem {
  readonly commands: string[] = [];
  readonly signal = new Signal();
  private port: SerialPort | undefined;
  private partial = "";

  constructor(
    private readonly path: string,
    private readonly respond: (command: string) => string[] | undefined,
    private readonly baudRate = 57600,
  ) {}

  async open(): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    port.on("error", () => {});
    port.on("data", (chunk: Buffer) => this.onData(chunk));
    port.on("close", () => {
      if (this.port === port) this.port = undefined;
      this.signal.notify();
    });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.port = port;
    this.partial = "";
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  /** Writes one line with the modem's CRLF ending. */
  send(line: string): Promise<void> {
    return this.sendRaw(Buffer.from(`${line}\r\n`, "latin1"));
  }

  sendRaw(bytes: Buffer): Promise<void> {
    const port = this.port;
    if (!port) return Promise.reject(new Error("fake modem not open"));
    return new Promise<void>((resolve, reject) => {
      port.write(bytes, (err) => (err ? reject(err) : port.drain(() => resolve())));
    });
  }

  count(command: string): number {
    return this.commands.filter((c) => c === command).length;
  }

  untilCommand(command: string, times = 1): Promise<void> {
    return this.signal.until(() => this.count(command) >= times, `${times}× "${command}"`);
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private onData(chunk: Buffer): void {
    this.partial += chunk.toString("latin1");
    let nl = this.partial.indexOf("\n");
    while (nl !== -1) {
      const command = this.partial.slice(0, nl).replace(/\r$/, "");
      this.partial = this.partial.slice(nl + 1);
      this.commands.push(command);
      const answer = this.respond(command);
      if (answer) for (const line of answer) void this.send(line).catch(() => {});
      nl = this.partial.indexOf("\n");
    }
    this.signal.notify();
  }
}

/** RN2483 answers for the init and receive commands. */
export function rn2483Responder(overrides: Record<string, string[]> = {}) {
  return (cmd: string): string[] | undefined => {
    if (cmd in overrides) return overrides[cmd];
    if (cmd === "sys get ver") return ["RN2483 1.0.5 Oct 31 2018 15:06:52"];
    if (cmd === "mac pause") return ["4294967245"];
    if (cmd === "radio get snr") return ["9"];
    if (cmd === "radio get rssi") return ["-97"];
    if (cmd === "radio rxstop") return ["ok"];
    return ["ok"];
  };
}

/** RUI3 answers: a value line for AT+VER=?, then OK for everything. */
export function rak3172Responder(overrides: Record<string, string[]> = {}) {
  return (cmd: string): string[] | undefined => {
    if (cmd in overrides) return overrides[cmd];
    if (cmd === "AT+VER=?") return ["AT+VER=RUI_4.0.6_RAK3172-E", "", "OK"];
    return ["", "OK"];
  };
}
