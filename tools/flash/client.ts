// The tool's side of the provisioning protocol (hw/provisioning-protocol.md): one command at a time, each with
// its own timeout, answers decoded by protocol.ts. Every failure comes out as a FlashError whose message names
// the command but never its arguments (they may be keys).
import { FlashError, TIMEOUT_HINT } from "./errors.ts";
import {
  type ConfigInfo,
  commands,
  ERROR_NAMES,
  ErrorCode,
  type FwInfo,
  type FwStatus,
  type Identity,
  type KeyCheck,
  type Location,
  type NodeStatus,
  ProtocolError,
  parseConfigInfo,
  parseFwInfo,
  parseFwStatus,
  parseIdentity,
  parseKeyCheck,
  parseLocation,
  parseNodeStatus,
  parseResponseLine,
  parseSelfTest,
  parseTimeInfo,
  type SelfTest,
  type TimeInfo,
} from "./protocol.ts";
import type { LineTransport } from "./serial-transport.ts";

export interface ClientOptions {
  /** Default per-command timeout, ms. Default 2000. */
  timeoutMs?: number;
  /** Every line sent and received, keys hidden (for --verbose). */
  trace?: (direction: "tx" | "rx", line: string) => void;
}

export interface Answer {
  info: Array<{ name: string; value: string }>;
}

/** Timeouts of the commands that take longer than a line round trip. */
export const SLOW_COMMAND_MS = { commit: 15_000, test: 5_000, sync: 500 } as const;

/** "AT+NWKSKEY=…" → "AT+NWKSKEY": what messages may show of a command. */
export function commandName(line: string): string {
  return line.replace(/[=?].*$/, "");
}

function redact(line: string): string {
  return line.replace(/^(AT\+(?:NWKSKEY|APPSKEY)=).*/i, "$1<hidden>");
}

export class FlashClient {
  readonly timeoutMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closed: Error | undefined;

  constructor(
    readonly transport: LineTransport,
    private readonly options: ClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    transport.onClose((err) => {
      this.closed = new FlashError(
        "disconnected",
        `the device on ${transport.path} was unplugged${err?.message ? ` (${err.message})` : ""}`,
      );
    });
  }

  /** Sends one command and collects its answer; commands queue behind each other. */
  request(line: string, timeoutMs = this.timeoutMs): Promise<Answer> {
    const run = this.queue.then(() => this.exchange(line, timeoutMs));
    this.queue = run.catch(() => {});
    return run;
  }

  private exchange(line: string, timeoutMs: number): Promise<Answer> {
    const name = commandName(line);
    if (this.closed !== undefined) return Promise.reject(this.closed);
    return new Promise<Answer>((resolve, reject) => {
      const info: Answer["info"] = [];
      const foreign: string[] = [];
      const finish = (err: Error | undefined, answer?: Answer) => {
        clearTimeout(timer);
        offLine();
        offClose();
        if (err) reject(err);
        else resolve(answer!);
      };
      const offLine = this.transport.onLine((raw) => {
        this.options.trace?.("rx", raw);
        const r = parseResponseLine(raw);
        if (r.kind === "info") info.push({ name: r.name, value: r.value });
        else if (r.kind === "foreign" && raw.trim() !== "") foreign.push(raw);
        else if (r.kind === "ok") finish(undefined, { info });
        else if (r.kind === "error") finish(this.rejected(name, r.code, r.text));
      });
      const offClose = this.transport.onClose(() => finish(this.closed));
      const timer = setTimeout(() => finish(this.timeout(name, timeoutMs, foreign)), timeoutMs);
      this.options.trace?.("tx", redact(line));
      this.transport.send(line).catch((err: Error) => finish(this.closed ?? this.unplugged(err)));
    });
  }

  private rejected(name: string, code: number, text: string): FlashError {
    const label = ERROR_NAMES[code] ?? "error";
    if (code === ErrorCode.unknownCommand) {
      return new FlashError(
        "wrong-board",
        `the device does not know ${name} (ERROR:${code} ${text}): not an OpenHerz node, or its host is too old`,
        "check that this is an OpenHerz node; update its native host (hw/provisioning-protocol.md)",
        code,
      );
    }
    if (code === ErrorCode.abiMismatch || code === ErrorCode.wrongBoard) {
      return new FlashError(
        "wrong-board",
        `the device refused the module (${name}): ERROR:${code} ${label}: ${text}`,
        "flash a module built for this node's host ABI and board (--firmware), or update its native host",
        code,
      );
    }
    return new FlashError(
      "rejected",
      `the device rejected ${name}: ERROR:${code} ${label}: ${text}`,
      undefined,
      code,
    );
  }

  private timeout(name: string, ms: number, foreign: string[]): FlashError {
    if (!this.transport.present()) return this.unplugged(undefined);
    if (foreign.length > 0) {
      const sample = foreign[0]!.slice(0, 60);
      return new FlashError(
        "wrong-board",
        `the device on ${this.transport.path} answers, but not in the OpenHerz provisioning protocol ("${sample}")`,
        "is this an OpenHerz node (and not a LoRa modem or another board)? is the baud rate right (--baud)?",
      );
    }
    return new FlashError("timeout", `no answer to ${name} within ${ms} ms`, TIMEOUT_HINT);
  }

  private unplugged(err: Error | undefined): FlashError {
    return new FlashError(
      "disconnected",
      `the device on ${this.transport.path} was unplugged${err ? ` (${err.message})` : ""}`,
    );
  }

  /** Clears a half-typed line on the device, then `AT` until it answers (a port open may reset the board). */
  async sync(attempts = 5): Promise<void> {
    await this.transport.send("").catch(() => {});
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        await this.request(commands.at(), SLOW_COMMAND_MS.sync);
        return;
      } catch (err) {
        last = err;
        if (!(err instanceof FlashError) || err.kind !== "timeout") throw err;
      }
    }
    throw last;
  }

  private async one<T>(
    line: string,
    name: string,
    parse: (value: string) => T,
    timeoutMs?: number,
  ): Promise<T> {
    const answer = await this.request(line, timeoutMs);
    const found = answer.info.find((i) => i.name === name);
    if (found === undefined) {
      throw new FlashError("wrong-board", `the answer to ${commandName(line)} has no +${name} line`);
    }
    try {
      return parse(found.value);
    } catch (err) {
      if (err instanceof ProtocolError) {
        throw new FlashError("wrong-board", `unexpected answer to ${commandName(line)}: ${err.message}`);
      }
      throw err;
    }
  }

  identify(): Promise<Identity> {
    return this.one(commands.id(), "ID", parseIdentity);
  }

  async setDevEui(hex: string): Promise<void> {
    await this.request(commands.devEui(hex));
  }

  async setDevAddr(hex: string): Promise<void> {
    await this.request(commands.devAddr(hex));
  }

  async setNwkSKey(hex: string): Promise<void> {
    await this.request(commands.nwkSKey(hex));
  }

  async setAppSKey(hex: string): Promise<void> {
    await this.request(commands.appSKey(hex));
  }

  keyCheck(): Promise<KeyCheck> {
    return this.one(commands.kcv(), "KCV", parseKeyCheck);
  }

  async setTime(unixS: number): Promise<void> {
    await this.request(commands.time(unixS));
  }

  time(): Promise<TimeInfo> {
    return this.one(commands.timeQuery(), "TIME", parseTimeInfo);
  }

  /** Writes the configuration; a rejection carries the module's result code in its message. */
  async setConfig(cbor: Uint8Array): Promise<ConfigInfo> {
    const answer = await this.request(commands.config(cbor));
    const line = answer.info.find((i) => i.name === "CONFIG");
    return line === undefined ? { result: 0, cfgId: 0 } : parseConfigInfo(line.value);
  }

  config(): Promise<ConfigInfo> {
    return this.one(commands.configQuery(), "CONFIG", parseConfigInfo);
  }

  async setLocation(loc: Location): Promise<void> {
    await this.request(commands.location(loc));
  }

  location(): Promise<Location | undefined> {
    return this.one(commands.locationQuery(), "LOC", (v) => parseLocation(v));
  }

  fw(): Promise<FwInfo> {
    return this.one(commands.fw(), "FW", parseFwInfo);
  }

  fwStatus(): Promise<FwStatus> {
    return this.one(commands.fwStatus(), "FWSTATUS", parseFwStatus);
  }

  fwBegin(size: number, sha256: string): Promise<FwStatus> {
    return this.one(commands.fwBegin(size, sha256), "FWSTATUS", parseFwStatus);
  }

  async fwChunk(offset: number, bytes: Uint8Array): Promise<void> {
    await this.request(commands.fwChunk(offset, bytes));
  }

  fwCommit(): Promise<FwInfo> {
    return this.one(commands.fwCommit(), "FW", parseFwInfo, SLOW_COMMAND_MS.commit);
  }

  async fwAbort(timeoutMs?: number): Promise<void> {
    await this.request(commands.fwAbort(), timeoutMs);
  }

  selfTest(): Promise<SelfTest> {
    return this.one(commands.test(), "TEST", parseSelfTest, SLOW_COMMAND_MS.test);
  }

  status(): Promise<NodeStatus> {
    return this.one(commands.status(), "STATUS", parseNodeStatus);
  }

  async reboot(): Promise<void> {
    await this.request(commands.reboot());
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
