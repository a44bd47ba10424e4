// Time policy. A Raspberry Pi has no real-time clock: it boots at 1970, or at the time fake-hwclock saved at
// the last shutdown (possibly weeks ago), and jumps when NTP synchronises — if the backhaul is up.
//
// Which time an uplink gets (chooseUplinkTime):
//  1. the packet forwarder's GPS time, when present, trusted (time.trustForwarderGpsTime) and plausible;
//  2. else the system clock at reception, when the clock is valid;
//  3. else none yet: the frame keeps its monotonic reception time (process.hrtime, which never jumps) and
//     its wall time is resolved once the clock becomes valid, as monotonic reception time + (wall −
//     monotonic offset learned at that moment) (resolveWallTimeMs). Until then gateway/pipeline.ts holds
//     the frame in memory, unacknowledged (gateway/README.md, "Time").
// The gateway never stamps an observation with 1970 or with a stale fake-hwclock time.
//
// "Valid" (clockState): the wall clock is at or after time.minValidUnixS, and — when systemd-timesyncd runs
// (its /run/systemd/timesync directory exists) and time.waitForNtpSync is on — timesyncd has created its
// "synchronized" flag file, because a fake-hwclock time after minValidUnixS is plausible but still wrong.
// With chrony or ntpd only the plausibility test applies.
//
// On Linux, process.hrtime is CLOCK_MONOTONIC: time since boot, the same for every process of one boot. A
// monotonic time stored with the boot id (/proc/sys/kernel/random/boot_id) can therefore still be resolved
// by the next gateway process of the same boot; after a reboot it cannot.
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

export const TIMESYNC_FLAG = "/run/systemd/timesync/synchronized";

/** Monotonic milliseconds (CLOCK_MONOTONIC on Linux); never jumps with the wall clock. */
export function monotonicNowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** This boot's id, or undefined where the kernel does not provide it. */
export function bootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export function isPlausibleTime(wallMs: number, minValidUnixS: number): boolean {
  return Number.isFinite(wallMs) && wallMs >= minValidUnixS * 1000;
}

export interface ClockFacts {
  wallMs: number;
  minValidUnixS: number;
  /** systemd-timesyncd runs here (its runtime directory exists). */
  timesyncdPresent: boolean;
  /** Its synchronized flag file exists. */
  timesyncdSynced: boolean;
  waitForNtpSync: boolean;
}

export type ClockState = "valid" | "implausible" | "waiting_for_ntp";

/** Pure: is the system clock good enough to stamp observations? */
export function clockState(f: ClockFacts): ClockState {
  if (!isPlausibleTime(f.wallMs, f.minValidUnixS)) return "implausible";
  if (f.waitForNtpSync && f.timesyncdPresent && !f.timesyncdSynced) return "waiting_for_ntp";
  return "valid";
}

export interface UplinkTimePolicy {
  trustGpsTime: boolean;
  /** The system clock is valid now (ClockGuard.valid). */
  clockValid: boolean;
  minValidUnixS: number;
}

export type UplinkTime =
  | { source: "gps"; wallMs: number }
  | { source: "system"; wallMs: number }
  /** No trustworthy time yet: keep monotonicMs, resolve with resolveWallTimeMs once the clock is valid. */
  | { source: "pending"; monotonicMs: number };

/** Pure: the reception time of an uplink under the policy above. */
export function chooseUplinkTime(
  frame: { gpsTimeMs?: number; receivedAtMs: number; receivedMonotonicMs: number },
  policy: UplinkTimePolicy,
): UplinkTime {
  const { gpsTimeMs } = frame;
  // A GPS receiver before its first fix, or hit by the week-number rollover, reports years in the past.
  if (policy.trustGpsTime && gpsTimeMs !== undefined && isPlausibleTime(gpsTimeMs, policy.minValidUnixS)) {
    return { source: "gps", wallMs: gpsTimeMs };
  }
  // receivedAtMs is checked too: the clock may have become valid between reception and this call.
  if (policy.clockValid && isPlausibleTime(frame.receivedAtMs, policy.minValidUnixS)) {
    return { source: "system", wallMs: frame.receivedAtMs };
  }
  return { source: "pending", monotonicMs: frame.receivedMonotonicMs };
}

/** Pure: wall time of a monotonic instant, given offset = wall − monotonic measured on a valid clock. */
export function resolveWallTimeMs(monotonicMs: number, offsetMs: number): number {
  return Math.round(monotonicMs + offsetMs);
}

export interface ClockGuardOptions {
  minValidUnixS: number;
  waitForNtpSync?: boolean;
  /** How often to look while the clock is not valid. Default 5000 ms. */
  checkIntervalMs?: number;
  /** Default /run/systemd/timesync/synchronized; its directory tells whether timesyncd runs. */
  timesyncFlag?: string;
  /** For tests. */
  wallNow?: () => number;
  monotonicNow?: () => number;
  exists?: (path: string) => boolean;
}

/**
 * Watches the system clock until it becomes valid, then learns the monotonic→wall offset and tells its
 * listeners once. It stops checking after that: a valid clock only gets better (NTP slews or steps it
 * forward by seconds, and such small steps do not matter for 15-minute observations).
 */
export class ClockGuard {
  private offset: number | undefined;
  private state: ClockState = "implausible";
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(offsetMs: number) => void> = [];
  private readonly wallNow: () => number;
  private readonly monotonicNow: () => number;
  private readonly exists: (path: string) => boolean;
  private readonly flag: string;

  constructor(private readonly options: ClockGuardOptions) {
    this.wallNow = options.wallNow ?? Date.now;
    this.monotonicNow = options.monotonicNow ?? monotonicNowMs;
    this.exists = options.exists ?? existsSync;
    this.flag = options.timesyncFlag ?? TIMESYNC_FLAG;
  }

  get valid(): boolean {
    return this.offset !== undefined;
  }

  /** Why the clock is not valid yet, or "valid". */
  get currentState(): ClockState {
    return this.state;
  }

  /** wall − monotonic, learned when the clock became valid. */
  get offsetMs(): number | undefined {
    return this.offset;
  }

  /** Checks now; returns whether the clock is valid. */
  check(): boolean {
    if (this.offset !== undefined) return true;
    const wallMs = this.wallNow();
    const monotonicMs = this.monotonicNow();
    this.state = clockState({
      wallMs,
      minValidUnixS: this.options.minValidUnixS,
      timesyncdPresent: this.exists(dirname(this.flag)),
      timesyncdSynced: this.exists(this.flag),
      waitForNtpSync: this.options.waitForNtpSync ?? true,
    });
    if (this.state !== "valid") return false;
    this.offset = wallMs - monotonicMs;
    this.stop();
    for (const listener of this.listeners.splice(0)) {
      try {
        listener(this.offset);
      } catch {
        // A listener's failure is its own; the clock is valid regardless.
      }
    }
    return true;
  }

  /** Calls `listener(offsetMs)` once, when the clock is (or becomes) valid. */
  onValid(listener: (offsetMs: number) => void): void {
    if (this.offset !== undefined) listener(this.offset);
    else this.listeners.push(listener);
  }

  /** Checks now, then every checkIntervalMs until valid. */
  start(): void {
    if (this.check() || this.timer) return;
    this.timer = setInterval(() => this.check(), this.options.checkIntervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Wall time of a monotonic instant, or null while the clock is not valid. */
  wallTimeOf(monotonicMs: number): number | null {
    return this.offset === undefined ? null : resolveWallTimeMs(monotonicMs, this.offset);
  }
}
