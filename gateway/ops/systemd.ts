// systemd readiness, status and watchdog — only when systemd started us with NOTIFY_SOCKET set; without it
// every call does nothing.
//
// Why a child process: sd_notify is one datagram on an AF_UNIX socket, and Node's net/dgram modules cannot
// send AF_UNIX datagrams; that would need a native addon, one more binary to build on a Pi. The
// `systemd-notify` binary does it for us. Two consequences, both handled:
//  - the message comes from the child's PID, not the service's main PID, so the unit needs
//    NotifyAccess=all (deploy/openherz-gateway.service);
//  - a sender that exits before systemd reads the datagram cannot be attributed to the unit. Since systemd
//    246, systemd-notify waits for systemd to process the message (sd_notify_barrier) unless --no-block is
//    given, which closes that race. Raspberry Pi OS bookworm ships systemd 252.
// Each call runs execFile asynchronously: the event loop never waits for it. Failures are logged once per
// kind and are never fatal: a gateway that cannot talk to systemd still receives and forwards frames.
//
// Watchdog: systemd sets WATCHDOG_USEC (WatchdogSec=); we ping every half of it, and only while the
// caller's healthy() says the main loop works. A wedged gateway therefore stops pinging and systemd
// restarts it (Restart=always).
import { execFile } from "node:child_process";
import type { Logger } from "../types.ts";

export interface SystemdNotifierOptions {
  /** Default process.env. Passed to systemd-notify as its environment (it reads NOTIFY_SOCKET from it). */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Default "systemd-notify", looked up on the PATH of `env`. */
  command?: string;
  /** A systemd-notify call running longer than this is killed. Default 5000 ms. */
  timeoutMs?: number;
  /** Default process.pid; WATCHDOG_PID naming another process means the watchdog is not ours. */
  pid?: number;
}

export class SystemdNotifier {
  /** True when NOTIFY_SOCKET is set. */
  readonly enabled: boolean;
  /** Ping interval (half of WATCHDOG_USEC), or undefined when systemd wants no watchdog from us. */
  readonly watchdogIntervalMs: number | undefined;
  private readonly env: NodeJS.ProcessEnv;
  private readonly command: string;
  private readonly timeoutMs: number;
  private readonly loggedProblems = new Set<string>();
  private watchdogTimer: NodeJS.Timeout | undefined;
  private pingInFlight = false;
  private withheld = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: SystemdNotifierOptions = {}) {
    this.env = options.env ?? process.env;
    this.command = options.command ?? "systemd-notify";
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.enabled = typeof this.env.NOTIFY_SOCKET === "string" && this.env.NOTIFY_SOCKET !== "";
    this.watchdogIntervalMs = this.enabled
      ? watchdogInterval(this.env, options.pid ?? process.pid)
      : undefined;
  }

  /** READY=1, with an optional status line. */
  ready(status?: string): Promise<void> {
    return this.send(["--ready", ...statusArg(status)]);
  }

  /** STATUS=… shown by `systemctl status`. */
  status(text: string): Promise<void> {
    return this.send(statusArg(text));
  }

  /** STOPPING=1 at the start of a graceful shutdown. */
  stopping(status?: string): Promise<void> {
    return this.send(["STOPPING=1", ...statusArg(status)]);
  }

  /** Starts pinging WATCHDOG=1 every watchdogIntervalMs while healthy() returns true. */
  startWatchdog(healthy: () => boolean): void {
    if (this.watchdogIntervalMs === undefined || this.watchdogTimer) return;
    const tick = () => {
      let ok: boolean;
      try {
        ok = healthy();
      } catch {
        ok = false;
      }
      if (!ok) {
        if (!this.withheld)
          this.options.logger?.warn({}, "main loop unhealthy: withholding systemd watchdog ping");
        this.withheld = true;
        return;
      }
      if (this.withheld)
        this.options.logger?.info({}, "main loop healthy again: resuming systemd watchdog ping");
      this.withheld = false;
      // One ping at a time: a slow systemd must not pile up processes on a small board.
      if (this.pingInFlight) return;
      this.pingInFlight = true;
      void this.send(["WATCHDOG=1"]).finally(() => {
        this.pingInFlight = false;
      });
    };
    this.watchdogTimer = setInterval(tick, this.watchdogIntervalMs);
    this.watchdogTimer.unref();
    tick();
  }

  stopWatchdog(): void {
    clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
  }

  /** Resolves when no systemd-notify call is running. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Stops the watchdog and waits for running systemd-notify calls (graceful shutdown, tests). */
  async close(): Promise<void> {
    this.stopWatchdog();
    await this.idle();
  }

  private send(args: string[]): Promise<void> {
    if (!this.enabled || args.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => {
      try {
        execFile(this.command, args, { env: this.env, timeout: this.timeoutMs }, (err, _stdout, stderr) => {
          if (err) this.problem(err, stderr);
          resolve();
        });
      } catch (err) {
        this.problem(err as Error, "");
        resolve();
      }
    });
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return done;
  }

  private problem(err: Error, stderr: string): void {
    const e = err as NodeJS.ErrnoException & { killed?: boolean };
    const kind = e.code === "ENOENT" ? "ENOENT" : e.killed ? "timeout" : `exit:${String(e.code)}`;
    if (this.loggedProblems.has(kind)) return;
    this.loggedProblems.add(kind);
    const hint =
      kind === "ENOENT"
        ? `${this.command} not found on PATH (package systemd)`
        : kind === "timeout"
          ? `${this.command} did not finish within ${this.timeoutMs} ms`
          : `${this.command} failed: ${stderr.trim() || e.message}`;
    this.options.logger?.warn({ err: e.message }, `systemd notification failed (logged once): ${hint}`);
  }
}

function statusArg(status: string | undefined): string[] {
  // One line: systemd shows STATUS= as is, and a newline would end the assignment.
  return status === undefined ? [] : [`--status=${status.replace(/[\r\n]+/g, " ").slice(0, 200)}`];
}

/** Half of WATCHDOG_USEC in ms, or undefined when unset, invalid, or meant for another process. */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== "" && Number(env.WATCHDOG_PID) !== pid) {
    return undefined;
  }
  return Math.max(1, Math.floor(usec / 2000));
}
