import { describe, expect, it } from "vitest";
import {
  ClockGuard,
  chooseUplinkTime,
  clockState,
  isPlausibleTime,
  monotonicNowMs,
  resolveWallTimeMs,
  TIMESYNC_FLAG,
} from "../../../../gateway/ops/clock.ts";
import { DEFAULT_MIN_VALID_UNIX_S } from "../../../../gateway/ops/config.ts";

const MIN = DEFAULT_MIN_VALID_UNIX_S;
const GOOD = Date.parse("2026-05-04T12:00:00Z");
const BOOT_1970 = 12_000; // 12 s after the epoch: a Pi without fake-hwclock
const FAKE_HWCLOCK_2025 = Date.parse("2025-11-02T08:00:00Z");

describe("clock plausibility", () => {
  it("accepts times from minValidUnixS on", () => {
    expect(isPlausibleTime(GOOD, MIN)).toBe(true);
    expect(isPlausibleTime(MIN * 1000, MIN)).toBe(true);
    expect(isPlausibleTime(MIN * 1000 - 1, MIN)).toBe(false);
    expect(isPlausibleTime(BOOT_1970, MIN)).toBe(false);
    expect(isPlausibleTime(FAKE_HWCLOCK_2025, MIN)).toBe(false);
    expect(isPlausibleTime(Number.NaN, MIN)).toBe(false);
  });

  it("waits for timesyncd's flag when timesyncd runs", () => {
    const facts = {
      wallMs: GOOD,
      minValidUnixS: MIN,
      timesyncdPresent: true,
      timesyncdSynced: false,
      waitForNtpSync: true,
    };
    expect(clockState(facts)).toBe("waiting_for_ntp");
    expect(clockState({ ...facts, timesyncdSynced: true })).toBe("valid");
    expect(clockState({ ...facts, waitForNtpSync: false })).toBe("valid");
    expect(clockState({ ...facts, timesyncdPresent: false })).toBe("valid");
    expect(clockState({ ...facts, wallMs: BOOT_1970, timesyncdSynced: true })).toBe("implausible");
  });
});

describe("uplink time policy", () => {
  const frame = { receivedAtMs: GOOD, receivedMonotonicMs: 5000 };
  const policy = { trustGpsTime: true, clockValid: true, minValidUnixS: MIN };

  it("prefers trusted, plausible GPS time", () => {
    expect(chooseUplinkTime({ ...frame, gpsTimeMs: GOOD - 250 }, policy)).toEqual({
      source: "gps",
      wallMs: GOOD - 250,
    });
    expect(
      chooseUplinkTime(
        { ...frame, receivedAtMs: BOOT_1970, gpsTimeMs: GOOD },
        { ...policy, clockValid: false },
      ),
    ).toEqual({ source: "gps", wallMs: GOOD });
  });

  it("falls back to the system clock when GPS time is absent, untrusted or implausible", () => {
    expect(chooseUplinkTime(frame, policy)).toEqual({ source: "system", wallMs: GOOD });
    expect(chooseUplinkTime({ ...frame, gpsTimeMs: GOOD - 999 }, { ...policy, trustGpsTime: false })).toEqual(
      {
        source: "system",
        wallMs: GOOD,
      },
    );
    // GPS week-number rollover: 1024 weeks in the past.
    const rolledOver = GOOD - 1024 * 7 * 86_400_000;
    expect(chooseUplinkTime({ ...frame, gpsTimeMs: rolledOver }, policy)).toEqual({
      source: "system",
      wallMs: GOOD,
    });
  });

  it("never stamps 1970 or a stale fake-hwclock time: the frame waits with its monotonic time", () => {
    for (const receivedAtMs of [BOOT_1970, FAKE_HWCLOCK_2025]) {
      expect(chooseUplinkTime({ ...frame, receivedAtMs }, { ...policy, clockValid: false })).toEqual({
        source: "pending",
        monotonicMs: 5000,
      });
      // The clock became valid between reception and the decision: the stamp taken at reception is still bad.
      expect(chooseUplinkTime({ ...frame, receivedAtMs }, policy)).toEqual({
        source: "pending",
        monotonicMs: 5000,
      });
    }
    // A valid-looking clock that is not yet synchronised is not used either.
    expect(chooseUplinkTime(frame, { ...policy, clockValid: false })).toEqual({
      source: "pending",
      monotonicMs: 5000,
    });
  });

  it("resolves a pending time from the offset learned when the clock became valid", () => {
    // Received at monotonic 5 000 ms; at monotonic 65 000 ms NTP set the clock to GOOD.
    const offset = GOOD - 65_000;
    expect(resolveWallTimeMs(5000, offset)).toBe(GOOD - 60_000);
    expect(resolveWallTimeMs(5000.4, offset)).toBe(GOOD - 60_000);
  });
});

describe("ClockGuard", () => {
  function fakeClock(start: { wallMs: number; monotonicMs: number }, files: Set<string> = new Set()) {
    const state = { ...start, files };
    const guard = new ClockGuard({
      minValidUnixS: MIN,
      wallNow: () => state.wallMs,
      monotonicNow: () => state.monotonicMs,
      exists: (p) => state.files.has(p),
    });
    return { state, guard };
  }

  it("reports once when the clock becomes valid and learns the offset", () => {
    const { state, guard } = fakeClock({ wallMs: BOOT_1970, monotonicMs: 3000 });
    const seen: number[] = [];
    guard.onValid((offset) => seen.push(offset));
    expect(guard.check()).toBe(false);
    expect(guard.valid).toBe(false);
    expect(guard.currentState).toBe("implausible");
    expect(guard.wallTimeOf(3000)).toBeNull();

    state.monotonicMs = 65_000;
    state.wallMs = GOOD;
    expect(guard.check()).toBe(true);
    expect(guard.offsetMs).toBe(GOOD - 65_000);
    expect(seen).toEqual([GOOD - 65_000]);
    expect(guard.wallTimeOf(5000)).toBe(GOOD - 60_000);

    state.wallMs = GOOD + 1_000_000; // later steps do not change the learned offset
    state.monotonicMs = 70_000;
    guard.check();
    expect(seen).toHaveLength(1);
    const late: number[] = [];
    guard.onValid((offset) => late.push(offset));
    expect(late).toEqual([GOOD - 65_000]);
  });

  it("waits for systemd-timesyncd's synchronized flag when timesyncd runs", () => {
    const dir = TIMESYNC_FLAG.slice(0, TIMESYNC_FLAG.lastIndexOf("/"));
    const { state, guard } = fakeClock({ wallMs: GOOD, monotonicMs: 1000 }, new Set([dir]));
    expect(guard.check()).toBe(false);
    expect(guard.currentState).toBe("waiting_for_ntp");
    state.files.add(TIMESYNC_FLAG);
    expect(guard.check()).toBe(true);
  });

  it("checks periodically after start() until valid, then stops", async () => {
    const { state, guard } = fakeClock({ wallMs: BOOT_1970, monotonicMs: 0 });
    const valid = new Promise<number>((resolve) => guard.onValid(resolve));
    const g = new ClockGuard({
      minValidUnixS: MIN,
      checkIntervalMs: 10,
      wallNow: () => state.wallMs,
      monotonicNow: () => state.monotonicMs,
      exists: () => false,
    });
    g.onValid(() => guard.check());
    g.start();
    expect(g.valid).toBe(false);
    setTimeout(() => {
      state.wallMs = GOOD;
    }, 30);
    expect(await valid).toBe(GOOD);
    expect(g.valid).toBe(true);
    g.stop();
  });

  it("uses a monotonic clock in milliseconds", async () => {
    const a = monotonicNowMs();
    await new Promise((r) => setTimeout(r, 20));
    expect(monotonicNowMs() - a).toBeGreaterThanOrEqual(15);
  });
});
