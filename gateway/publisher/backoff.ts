// Reconnect delays: exponential with "full jitter" (AWS Architecture Blog, "Exponential Backoff And
// Jitter", 2015): uniform between a floor and min(max, initial · 2^attempt). The floor (a tenth of the
// initial delay) keeps a broker that refuses at once from turning the loop into a busy spin; the jitter keeps
// a town's gateways from reconnecting in lockstep after the broker comes back.

export interface BackoffOptions {
  /** Ceiling of the first delay (default 1 s). */
  initialMs: number;
  /** Cap of the ceiling (default 60 s). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000 };

/** The ceiling for the attempt-th retry (0-based). */
export function backoffCeilingMs(attempt: number, { initialMs, maxMs }: BackoffOptions): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(0, attempt), 40));
}

/** Delay before the attempt-th retry (0-based); `random` returns [0, 1) like Math.random. */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeilingMs(attempt, options);
  const floor = Math.min(ceiling, Math.max(1, options.initialMs / 10));
  return Math.round(floor + random() * (ceiling - floor));
}

export function validateBackoff({ initialMs, maxMs }: BackoffOptions): void {
  if (!(initialMs >= 1) || !Number.isFinite(initialMs)) {
    throw new RangeError(`backoff initialMs must be >= 1, got ${initialMs}`);
  }
  if (!(maxMs >= initialMs) || !Number.isFinite(maxMs)) {
    throw new RangeError(`backoff maxMs must be >= initialMs (${initialMs}), got ${maxMs}`);
  }
}
