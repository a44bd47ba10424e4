// The simulated node's time: a virtual clock paced against the wall clock (`speed` virtual seconds per wall
// second: 1 for a technician's rehearsal, hundreds in tests so that uplinks come in seconds), and timers on
// it. Unlike the fleet simulator's discrete-event scheduler this clock runs by itself, because the node must
// answer USB commands at any wall-clock moment.

export interface ClockTimer {
  cancel(): void;
}

export class DeviceClock {
  private readonly wall0: number;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    /** Virtual time at creation, ms. */
    private readonly startMs: number,
    readonly speed: number,
    private readonly wallNow: () => number = () => performance.now(),
  ) {
    if (!(speed > 0 && Number.isFinite(speed))) throw new RangeError(`speed must be positive, got ${speed}`);
    this.wall0 = wallNow();
  }

  /** Virtual ms; never goes backwards. */
  nowMs(): number {
    return this.startMs + (this.wallNow() - this.wall0) * this.speed;
  }

  /** Runs `run` when the virtual clock reaches `atMs` (at once if it has). */
  at(atMs: number, run: () => void): ClockTimer {
    const delay = Math.max(0, (atMs - this.nowMs()) / this.speed);
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        run();
      },
      Math.min(delay, 2 ** 31 - 1),
    );
    this.timers.add(timer);
    return {
      cancel: () => {
        clearTimeout(timer);
        this.timers.delete(timer);
      },
    };
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
