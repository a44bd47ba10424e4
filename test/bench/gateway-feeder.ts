/**
 * A packet forwarder for the benchmark, on its own UDP socket: sends pre-built PUSH_DATA datagrams and
 * matches PUSH_ACKs by token. Two modes:
 * - closed loop: keeps at most `window` datagrams unacknowledged, so the gateway's socket buffer never
 *   overflows, and pauses while `paused()` says so (the journal's backlog is high);
 * - paced: one datagram every 1/rate seconds, for latency at a fixed load.
 * A datagram not acknowledged within `ackTimeoutMs` counts as lost and frees its slot.
 */
import { createSocket, type Socket } from "node:dgram";
import { PUSH_ACK } from "../../gateway/radio/semtech-udp-codec.ts";
import { setToken } from "./gateway-fleet.ts";
import { sleep } from "./gateway-harness.ts";

export interface FeederCounts {
  sent: number;
  acked: number;
  lost: number;
}

export interface ClosedLoopOptions {
  datagrams: readonly Buffer[];
  /** Datagrams in flight at most. */
  window: number;
  /** Stop sending once this returns true (checked before each send). */
  stop?: () => boolean;
  /** While true, no new datagram is sent (in-flight ones are still acknowledged). */
  paused?: () => boolean;
  ackTimeoutMs?: number;
}

export interface PacedOptions {
  datagrams: readonly Buffer[];
  ratePerS: number;
  stop?: () => boolean;
  /** Called with the datagram's index and its send time (performance.now()). */
  onSend?: (index: number, atMs: number) => void;
}

interface Outstanding {
  index: number;
  sentAtMs: number;
}

export class UdpFeeder {
  readonly counts: FeederCounts = { sent: 0, acked: 0, lost: 0 };
  private readonly outstanding = new Map<number, Outstanding>();
  private nextToken = 0;
  private onAck: (() => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly target: { address: string; port: number },
  ) {
    socket.on("message", (msg) => {
      if (msg.length !== 4 || msg[3] !== PUSH_ACK) return;
      const token = (msg[1]! << 8) | msg[2]!;
      if (!this.outstanding.delete(token)) return;
      this.counts.acked++;
      this.onAck?.();
    });
  }

  static async open(target: { address: string; port: number }): Promise<UdpFeeder> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return new UdpFeeder(socket, target);
  }

  /** Sends datagrams in order, `window` at a time, until `stop()` or the datagrams run out. */
  async closedLoop(o: ClosedLoopOptions): Promise<number> {
    const ackTimeoutMs = o.ackTimeoutMs ?? 5000;
    let next = 0;
    let wake: (() => void) | undefined;
    this.onAck = () => wake?.();
    try {
      while (next < o.datagrams.length && o.stop?.() !== true) {
        this.expire(ackTimeoutMs);
        if (this.outstanding.size >= o.window || o.paused?.() === true) {
          // An ack, or a timer for the pause and the expiry check, wakes the loop.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 50);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
          continue;
        }
        this.send(o.datagrams[next]!, next);
        next++;
      }
    } finally {
      this.onAck = undefined;
    }
    return next;
  }

  /** Sends one datagram every 1/rate s (catching up after a late timer) until they run out. */
  async paced(o: PacedOptions): Promise<void> {
    const intervalMs = 1000 / o.ratePerS;
    const start = performance.now();
    for (let i = 0; i < o.datagrams.length && o.stop?.() !== true; i++) {
      const due = start + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const at = this.send(o.datagrams[i]!, i);
      o.onSend?.(i, at);
      if (i % 64 === 0) this.expire(5000);
    }
  }

  /** Waits until every datagram sent has been acknowledged or has expired. */
  async settle(timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.outstanding.size > 0 && performance.now() < deadline) {
      this.expire(5000);
      await sleep(20);
    }
    this.expire(0);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private send(datagram: Buffer, index: number): number {
    const token = this.nextToken;
    this.nextToken = (this.nextToken + 1) & 0xffff;
    setToken(datagram, token);
    const at = performance.now();
    this.outstanding.set(token, { index, sentAtMs: at });
    this.counts.sent++;
    this.socket.send(datagram, this.target.port, this.target.address);
    return at;
  }

  private expire(ackTimeoutMs: number): void {
    const limit = performance.now() - ackTimeoutMs;
    for (const [token, o] of this.outstanding) {
      if (o.sentAtMs > limit) break; // insertion order is send order
      this.outstanding.delete(token);
      this.counts.lost++;
    }
  }
}
