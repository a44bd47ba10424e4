// ISO 8601 rendering of gateway times. Sample times are derived from the reception time and are accurate to
// a few seconds (PAYLOAD.md, "Times are relative to the uplink"), so they are published to the whole second.

/** "2025-06-01T10:15:00Z": whole seconds, UTC. */
export function isoSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  const hourS = Math.floor(s / 3600) * 3600;
  // A Date per sample showed up in the gateway's profile; the hour's prefix is shared by most samples.
  let prefix = hourPrefixes.get(hourS);
  if (prefix === undefined) {
    if (hourPrefixes.size >= MAX_HOUR_PREFIXES) hourPrefixes.clear();
    prefix = new Date(hourS * 1000).toISOString().slice(0, -10); // "2025-06-01T10:"
    hourPrefixes.set(hourS, prefix);
  }
  const inHour = s - hourS;
  return `${prefix}${twoDigits(Math.floor(inHour / 60))}:${twoDigits(inHour % 60)}Z`;
}

const hourPrefixes = new Map<number, string>();
const MAX_HOUR_PREFIXES = 64;

function twoDigits(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** "2025-06-01T10:15:00.123Z": milliseconds, UTC. */
export function isoMillis(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}

const MIN_TIME_MS = Date.UTC(2000, 0, 1);
const MAX_TIME_MS = Date.UTC(9999, 0, 1);

export function isPlausibleTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_TIME_MS && ms < MAX_TIME_MS;
}

/**
 * Times are computed by the caller, which detects an unsynchronised clock; a non-finite or pre-2000 value
 * reaching this module is a bug there, not bad input, and must never become a 1970 observation.
 */
export function checkTime(name: string, ms: number): void {
  if (!isPlausibleTime(ms)) {
    throw new RangeError(`${name} must be a Unix time in ms after 2000-01-01, got ${ms}`);
  }
}

/**
 * Offset (ms) that moves `endMs` onto the nearest UTC multiple of `binMs` when it is at most `toleranceMs`
 * away, else 0. Nodes with a Unix clock align bike bins to UTC multiples of the bin length (PAYLOAD.md,
 * FPort 2); the gateway's estimate of the bin end is off by the airtime and host latency, so it snaps back.
 */
export function alignmentOffsetMs(endMs: number, binMs: number, toleranceMs: number): number {
  if (toleranceMs <= 0 || binMs <= 0) return 0;
  const rem = ((endMs % binMs) + binMs) % binMs;
  if (rem <= toleranceMs) return -rem;
  if (binMs - rem <= toleranceMs) return binMs - rem;
  return 0;
}
