// The conversation with one serial LoRa modem while its port is open: init commands, arming continuous
// receive, turning receive lines into frames, re-arming. No port handling here (serial-modem.ts opens,
// reopens and feeds lines); this module only writes lines through the injected `write`.

import type { DropReason, RadioFrame } from "../types.ts";
import {
  excerpt,
  parseRak3172Line,
  parseRn2483Line,
  type Rak3172Line,
  Rak3172RxAssembler,
  type Rn2483Line,
} from "./modem-lines.ts";

export type ModemType = "rn2483" | "rak3172";

export interface ModemSessionConfig {
  modem: ModemType;
  /** Serial port path: the frames' source id. */
  sourceId: string;
  commandTimeoutMs: number;
  /** Delay before retrying a receive command the modem refused. */
  rearmDelayMs: number;
  rn2483: {
    /** Arguments of `radio set`, sent in order after `radio set wdt 0`, e.g. "sync 34". */
    radioSettings: readonly string[];
    querySnr: boolean;
    /** `radio get rssi` exists from firmware 1.0.5; on `invalid_param` the session stops asking. */
    queryRssi: boolean;
    /** Re-send `mac pause` before arming after this long, or after half the pause the module granted. */
    pauseRefreshMs: number;
  };
  rak3172: {
    /** AT commands sent before the receive command, e.g. "AT+P2P=868100000:7:125:0:8:14". */
    setup: readonly string[];
    receiveCommand: string;
  };
  /** Static radio metadata added to every frame (the modem does not report it). */
  frameRadio: { frequencyMhz?: number; dataRate?: string };
}

export interface ModemSessionEvents {
  write(line: string): void;
  frame(frame: RadioFrame): void;
  drop(reason: DropReason, detail: string): void;
  /** The modem is in continuous receive. */
  ready(info: { version?: string }): void;
  /** The modem does not answer: the port should be closed and reopened. */
  fatal(detail: string): void;
  now(): number;
}

type Response = { ok: true; lines: string[] } | { ok: false; detail: string };

interface Pending {
  command: string;
  lines: string[];
  resolve(r: Response): void;
  timer: NodeJS.Timeout;
}

class Disposed extends Error {}

export class ModemSession {
  private pending: Pending | undefined;
  private chain: Promise<void> = Promise.resolve();
  private disposed = false;
  private rearmTimer: NodeJS.Timeout | undefined;
  /** When `mac pause` must be sent again (the LoRaWAN stack resumes by itself after the pause it granted). */
  private pauseRefreshAtMs = Number.NEGATIVE_INFINITY;
  private rssiSupported: boolean;
  /** In continuous receive as far as we know; `ready` is reported on each change to true. */
  private receiving = false;
  private version: string | undefined;
  private readonly assembler = new Rak3172RxAssembler();

  constructor(
    private readonly config: ModemSessionConfig,
    private readonly events: ModemSessionEvents,
  ) {
    this.rssiSupported = config.rn2483.queryRssi;
  }

  start(): void {
    this.enqueue(() => (this.config.modem === "rn2483" ? this.initRn() : this.initRak()));
  }

  dispose(): void {
    this.disposed = true;
    if (this.rearmTimer) clearTimeout(this.rearmTimer);
    this.rearmTimer = undefined;
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, detail: "port closed" });
    }
  }

  handleLine(raw: string): void {
    if (this.disposed) return;
    if (this.config.modem === "rn2483") this.handleRn(raw);
    else this.handleRak(raw);
  }

  // ------------------------------------------------------------------------------------------ RN2483

  private handleRn(raw: string): void {
    const r = parseRn2483Line(raw);
    if (!r.ok) {
      this.events.drop(r.reason, r.detail);
      // After printing radio_rx the radio has left receive mode, even when the line was unusable.
      if (raw.trimStart().startsWith("radio_rx")) this.enqueue(() => this.armRn());
      return;
    }
    const line: Rn2483Line = r.line;
    switch (line.kind) {
      case "empty":
        return;
      case "rx": {
        const receivedAtMs = this.events.now();
        this.enqueue(() => this.rnFrame(line.payload, receivedAtMs));
        return;
      }
      case "rx_error":
        this.events.drop("serial_rx_error", "radio_err");
        this.enqueue(() => this.armRn());
        return;
      case "version":
        if (!this.pending) {
          // The module prints its version after a reset (brown-out, watchdog): configure it again.
          this.enqueue(() => this.initRn());
          return;
        }
        break;
    }
    if (!this.completeWith(raw.trim(), true))
      this.events.drop("serial_garbage", `unsolicited: ${excerpt(raw)}`);
  }

  private async initRn(): Promise<void> {
    // Leave a receive left running by a previous gateway process (firmware ≥ 1.0.5; older firmware
    // answers invalid_param, and a missing answer is not an error here).
    await this.command("radio rxstop");
    const ver = await this.command("sys get ver");
    if (!ver.ok) this.fail(`no answer to "sys get ver": ${ver.detail}`);
    this.version = ver.lines[0];
    this.receiving = false;
    await this.pauseMac();
    for (const setting of ["wdt 0", ...this.config.rn2483.radioSettings]) {
      await this.expectOk(`radio set ${setting}`);
    }
    await this.armRn();
  }

  private async pauseMac(): Promise<void> {
    const r = await this.command("mac pause");
    const granted = r.ok && /^\d+$/.test(r.lines[0] ?? "") ? Number(r.lines[0]) : undefined;
    if (!r.ok) this.fail(`no answer to "mac pause": ${r.detail}`);
    const refreshIn = granted === undefined ? this.config.rn2483.pauseRefreshMs : granted / 2;
    if (granted === undefined) this.commandFailed("mac pause", r);
    this.pauseRefreshAtMs = this.events.now() + Math.min(refreshIn, this.config.rn2483.pauseRefreshMs);
  }

  /** Puts the radio into continuous receive; on refusal retries after rearmDelayMs. */
  private async armRn(): Promise<void> {
    if (this.events.now() >= this.pauseRefreshAtMs) await this.pauseMac();
    const r = await this.command("radio rx 0");
    // busy: the radio is already receiving.
    if (r.ok && (r.lines[0] === "ok" || r.lines[0] === "busy")) {
      this.markReceiving();
      return;
    }
    this.receiving = false;
    this.commandFailed("radio rx 0", r);
    if (!r.ok) this.fail(`no answer to "radio rx 0": ${r.detail}`);
    this.scheduleRearm(() => this.armRn());
  }

  private async rnFrame(payload: Uint8Array, receivedAtMs: number): Promise<void> {
    const radio: RadioFrame["radio"] = { ...this.config.frameRadio };
    if (this.config.rn2483.querySnr) {
      const snr = await this.command("radio get snr");
      const v = snr.ok ? parseRn2483Line(snr.lines[0] ?? "") : undefined;
      if (v?.ok && v.line.kind === "integer") radio.snr = v.line.value;
      else this.commandFailed("radio get snr", snr);
    }
    if (this.rssiSupported) {
      const rssi = await this.command("radio get rssi");
      const v = rssi.ok ? parseRn2483Line(rssi.lines[0] ?? "") : undefined;
      if (v?.ok && v.line.kind === "integer") radio.rssi = v.line.value;
      else if (rssi.ok && rssi.lines[0] === "invalid_param") this.rssiSupported = false;
      else this.commandFailed("radio get rssi", rssi);
    }
    this.emitFrame(payload, receivedAtMs, radio);
    await this.armRn();
  }

  // ---------------------------------------------------------------------------------------- RAK3172

  private handleRak(raw: string): void {
    const r = parseRak3172Line(raw);
    if (!r.ok) {
      this.events.drop(r.reason, r.detail);
      return;
    }
    const line: Rak3172Line = r.line;
    switch (line.kind) {
      case "empty":
        return;
      case "rx":
      case "rx_meta":
      case "rx_payload":
      case "event": {
        const frame = this.assembler.push(line);
        if (frame) {
          const radio: RadioFrame["radio"] = { ...this.config.frameRadio };
          if (frame.rssi !== undefined) radio.rssi = frame.rssi;
          if (frame.snr !== undefined) radio.snr = frame.snr;
          this.emitFrame(frame.payload, this.events.now(), radio);
        }
        return;
      }
      case "status":
        if (this.completeWith(line.status, true)) return;
        break;
      case "value":
        if (this.completeWith(line.text, false)) return;
        break;
    }
    this.events.drop("serial_garbage", `unsolicited: ${excerpt(raw)}`);
  }

  private async initRak(): Promise<void> {
    const at = await this.command("AT");
    if (!at.ok) this.fail(`no answer to "AT": ${at.detail}`);
    const ver = await this.command("AT+VER=?");
    this.version = ver.ok ? ver.lines.find((l) => l.startsWith("AT+VER="))?.slice(7) : undefined;
    this.receiving = false;
    for (const cmd of this.config.rak3172.setup) await this.expectOk(cmd);
    await this.armRak();
  }

  private async armRak(): Promise<void> {
    const cmd = this.config.rak3172.receiveCommand;
    const r = await this.command(cmd);
    if (r.ok && r.lines.at(-1) === "OK") {
      this.markReceiving();
      return;
    }
    this.receiving = false;
    this.commandFailed(cmd, r);
    if (!r.ok) this.fail(`no answer to "${cmd}": ${r.detail}`);
    this.scheduleRearm(() => this.armRak());
  }

  // ---------------------------------------------------------------------------------------- common

  private markReceiving(): void {
    if (this.receiving) return;
    this.receiving = true;
    this.events.ready(this.version === undefined ? {} : { version: this.version });
  }

  private emitFrame(payload: Uint8Array, receivedAtMs: number, radio: RadioFrame["radio"]): void {
    this.events.frame({
      phyPayload: payload,
      receivedAtMs,
      source: { kind: "serial", id: this.config.sourceId },
      radio,
    });
  }

  /** Runs steps one at a time; a failed step never stops later ones. */
  private enqueue(step: () => Promise<unknown>): void {
    this.chain = this.chain.then(async () => {
      if (this.disposed) return;
      try {
        await step();
      } catch (err) {
        if (!(err instanceof Disposed) && !this.disposed) {
          this.events.drop("serial_command_failed", `internal: ${(err as Error).message}`);
        }
      }
    });
  }

  /** The modem is silent: ask for a reopen (unless the port is already gone) and end this step. */
  private fail(detail: string): never {
    if (!this.disposed) this.events.fatal(detail);
    throw new Disposed();
  }

  private scheduleRearm(arm: () => Promise<unknown>): void {
    if (this.disposed || this.rearmTimer) return;
    this.rearmTimer = setTimeout(() => {
      this.rearmTimer = undefined;
      this.enqueue(arm);
    }, this.config.rearmDelayMs);
  }

  /**
   * A refusal is counted and the init goes on; silence is fatal: a module that restarted (RUI3 does on a
   * network-mode change) or hung has lost the command, and only a fresh init applies the whole setup.
   */
  private async expectOk(cmd: string): Promise<void> {
    const r = await this.command(cmd);
    if (!r.ok) this.fail(`no answer to "${cmd}": ${r.detail}`);
    const last = r.lines.at(-1);
    if (last !== "ok" && last !== "OK") this.commandFailed(cmd, r);
  }

  private commandFailed(cmd: string, r: Response): void {
    if (this.disposed) return;
    const answer = r.ok ? `answered ${excerpt(r.lines.join(" | "))}` : r.detail;
    this.events.drop("serial_command_failed", `"${cmd}" ${answer}`);
  }

  /**
   * Sends one command and collects its answer: RN2483 answers with one line; RUI3 with optional value
   * lines and then a status line. Resolves (never rejects) with a time-out after commandTimeoutMs.
   */
  private command(cmd: string): Promise<Response> {
    if (this.disposed) throw new Disposed();
    return new Promise<Response>((resolve) => {
      const timer = setTimeout(() => {
        if (this.pending?.timer === timer) this.pending = undefined;
        resolve({ ok: false, detail: `no answer within ${this.config.commandTimeoutMs} ms` });
      }, this.config.commandTimeoutMs);
      this.pending = { command: cmd, lines: [], resolve, timer };
      this.events.write(`${cmd}\r\n`);
    });
  }

  /** Feeds an answer line to the pending command; returns false when no command is waiting. */
  private completeWith(line: string, final: boolean): boolean {
    const p = this.pending;
    if (!p) return false;
    // RUI3 may echo the command itself; that is not part of the answer.
    if (line === p.command) return true;
    p.lines.push(line);
    if (final || this.config.modem === "rn2483") {
      this.pending = undefined;
      clearTimeout(p.timer);
      p.resolve({ ok: true, lines: p.lines });
    }
    return true;
  }
}
