/**
 * The virtual clock: a discrete-event scheduler over virtual Unix milliseconds. Time jumps from one event
 * to the next; nothing in the simulator reads the wall clock except the pacing here.
 *
 * Pacing: with `speed` S, virtual time runs S times faster than the wall clock (1 = real time, 3600 = one
 * simulated hour per second); with "max" events run back to back. Either way the scheduler hands control to
 * the Node event loop regularly (sockets, timers, Ctrl-C). A paced run that falls behind (a slow event, a
 * gate holding it back) catches up by at most `maxLagMs` and then carries on from where it is: it never
 * races to make up for a long stall.
 *
 * Flow control: `gate`, when set, is asked after every event; a promise it returns is awaited before the
 * next event runs (the fleet uses it to wait for packet forwarders whose window is full).
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { EventQueue } from "./event-queue.ts";

/** Virtual seconds per wall-clock second, or "max": as fast as possible. */
export type Speed = number | "max";

export interface SchedulerOptions {
  /** Virtual time at start, Unix ms. */
  startMs: number;
  /** Default "max". */
  speed?: Speed;
  /** Wall clock in ms for pacing (default performance.now). */
  wallNow?: () => number;
  /** How far (wall ms) a paced run may fall behind before it stops catching up. Default 1000. */
  maxLagMs?: number;
  /** Busy wall time after which control goes back to the event loop. Default 10 ms. */
  yieldEveryMs?: number;
}

export interface EventHandle {
  readonly atMs: number;
  cancel(): void;
}

export interface SchedulerStats {
  /** Events run so far. */
  events: number;
  /** Events waiting. */
  pending: number;
  /** Wall ms spent waiting on the gate. */
  gatedMs: number;
}

export function parseSpeed(text: string): Speed {
  if (text === "max") return "max";
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new RangeError(`speed must be a positive number or "max", got ${text}`);
  return n;
}

export class Scheduler {
  /** Asked after every event; a returned promise holds the clock until it settles. */
  gate: (() => Promise<void> | undefined) | undefined;
  private readonly queue = new EventQueue();
  private readonly wallNow: () => number;
  private readonly maxLagMs: number;
  private readonly yieldEveryMs: number;
  private now: number;
  private currentSpeed: Speed;
  private wallAnchor = 0;
  private virtualAnchor = 0;
  private running = false;
  private stopRequested = false;
  private wakeSleeper: (() => void) | undefined;
  private events = 0;
  private gatedMs = 0;

  constructor(options: SchedulerOptions) {
    this.now = options.startMs;
    this.currentSpeed = options.speed ?? "max";
    this.wallNow = options.wallNow ?? (() => performance.now());
    this.maxLagMs = options.maxLagMs ?? 1000;
    this.yieldEveryMs = options.yieldEveryMs ?? 10;
    checkSpeed(this.currentSpeed);
  }

  /** Virtual time, Unix ms. */
  get nowMs(): number {
    return this.now;
  }

  get speed(): Speed {
    return this.currentSpeed;
  }

  setSpeed(speed: Speed): void {
    checkSpeed(speed);
    this.currentSpeed = speed;
    this.anchor();
    this.wake();
  }

  /** Runs `run` at virtual time `atMs` (now, if that is in the past). */
  at(atMs: number, run: () => void | Promise<void>): EventHandle {
    const when = Math.max(atMs, this.now);
    const event = this.queue.push(when, run);
    const first = this.queue.peek();
    if (first === event) this.wake(); // a paced run may be sleeping towards a later event
    return {
      atMs: when,
      cancel: () => {
        event.cancelled = true;
      },
    };
  }

  after(delayMs: number, run: () => void | Promise<void>): EventHandle {
    return this.at(this.now + delayMs, run);
  }

  stats(): SchedulerStats {
    return { events: this.events, pending: this.queue.size, gatedMs: this.gatedMs };
  }

  /** Makes a running `runUntil` return at the current virtual time. */
  stop(): void {
    this.stopRequested = true;
    this.wake();
  }

  /**
   * Runs every event due at or before `untilMs`, in order, then sets the clock to `untilMs` (a paced run
   * waits for that instant too). Resolves early, at the current virtual time, after `stop()`. An event that
   * throws rejects the run.
   */
  async runUntil(untilMs: number): Promise<void> {
    if (this.running) throw new Error("scheduler is already running");
    this.running = true;
    this.stopRequested = false;
    this.anchor();
    let lastYield = this.wallNow();
    try {
      for (;;) {
        if (this.stopRequested) return;
        const next = this.queue.peek();
        const target = next === undefined || next.atMs > untilMs ? untilMs : next.atMs;
        if (this.currentSpeed !== "max") {
          const waitMs = this.wallTimeOf(target) - this.wallNow();
          if (waitMs > 1) {
            await this.sleep(waitMs);
            lastYield = this.wallNow();
            continue; // something may have been scheduled, stopped or sped up meanwhile
          }
          if (-waitMs > this.maxLagMs) this.anchorAt(target);
        }
        if (next === undefined || next.atMs > untilMs) {
          this.now = Math.max(this.now, untilMs);
          return;
        }
        this.queue.shift();
        this.now = next.atMs;
        this.events++;
        const result = next.run();
        if (result !== undefined) await result;
        const held = this.gate?.();
        if (held !== undefined) {
          const from = this.wallNow();
          await held;
          this.gatedMs += this.wallNow() - from;
          lastYield = this.wallNow();
        }
        if (this.wallNow() - lastYield >= this.yieldEveryMs) {
          await yieldToEventLoop();
          lastYield = this.wallNow();
        }
      }
    } finally {
      this.running = false;
      this.stopRequested = false;
    }
  }

  private wallTimeOf(virtualMs: number): number {
    const speed = this.currentSpeed === "max" ? Number.POSITIVE_INFINITY : this.currentSpeed;
    return this.wallAnchor + (virtualMs - this.virtualAnchor) / speed;
  }

  private anchor(): void {
    this.anchorAt(this.now);
  }

  private anchorAt(virtualMs: number): void {
    this.wallAnchor = this.wallNow();
    this.virtualAnchor = virtualMs;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleeper = () => {
        this.wakeSleeper = undefined;
        done();
      };
    });
  }

  private wake(): void {
    this.wakeSleeper?.();
  }
}

function checkSpeed(speed: Speed): void {
  if (speed !== "max" && !(Number.isFinite(speed) && speed > 0)) {
    throw new RangeError(`speed must be a positive number or "max", got ${speed}`);
  }
}
