/**
 * `--duration`: how long the demo runs before it stops by itself. With a unit it is simulated time
 * ("90m", "6h", "2d", "1.5d", "30s"); a bare number is wall-clock seconds ("60"). Pure.
 */
export type Duration = { clock: "simulated"; ms: number } | { clock: "wall"; ms: number };

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): Duration {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd])?\s*$/.exec(text);
  const value = m === null ? Number.NaN : Number(m[1]);
  if (m === null || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `duration must be a positive number of wall-clock seconds ("60") or simulated time with a unit ` +
        `s, m, h or d ("6h", "2d"), got "${text}"`,
    );
  }
  const unit = m[2];
  return unit === undefined
    ? { clock: "wall", ms: Math.round(value * 1000) }
    : { clock: "simulated", ms: Math.round(value * UNIT_MS[unit]!) };
}
