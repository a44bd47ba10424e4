// systemd notification through a fake `systemd-notify` on PATH: a real process that records its arguments.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SystemdNotifier, watchdogInterval } from "../../../../gateway/ops/systemd.ts";

let dir: string;
let log: string;
let notifier: SystemdNotifier | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "openherz-systemd-"));
  log = join(dir, "calls.log");
  const script = join(dir, "systemd-notify");
  await writeFile(
    script,
    '#!/bin/sh\nprintf \'%s|%s\\n\' "$NOTIFY_SOCKET" "$*" >> "$FAKE_NOTIFY_LOG"\n[ -z "$FAKE_NOTIFY_FAIL" ] || { echo "no socket" >&2; exit 1; }\n',
  );
  await chmod(script, 0o755);
});

afterEach(async () => {
  await notifier?.close();
  notifier = undefined;
  await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: `${dir}:${process.env.PATH}`, FAKE_NOTIFY_LOG: log, ...extra };
}

async function calls(): Promise<string[]> {
  try {
    return (await readFile(log, "utf8")).split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

function memoryLogger() {
  const warnings: string[] = [];
  const ignore = () => {};
  return {
    warnings,
    logger: {
      debug: ignore,
      info: ignore,
      error: ignore,
      warn: (_o: object, m?: string) => void warnings.push(m ?? ""),
    },
  };
}

const until = async (check: () => Promise<boolean>, timeoutMs = 5000) => {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("systemd notifier", () => {
  it("does nothing without NOTIFY_SOCKET", async () => {
    notifier = new SystemdNotifier({ env: env({ WATCHDOG_USEC: "1000" }) });
    expect(notifier.enabled).toBe(false);
    expect(notifier.watchdogIntervalMs).toBeUndefined();
    await notifier.ready("up");
    await notifier.status("x");
    await notifier.stopping();
    notifier.startWatchdog(() => true);
    expect(await calls()).toEqual([]);
  });

  it("sends READY, STATUS and STOPPING through systemd-notify, with NOTIFY_SOCKET passed on", async () => {
    notifier = new SystemdNotifier({ env: env({ NOTIFY_SOCKET: "/run/systemd/notify" }) });
    expect(notifier.enabled).toBe(true);
    await notifier.ready("listening on udp 1700");
    await notifier.status("mqtt connected\nline two");
    await notifier.stopping("shutting down");
    expect(await calls()).toEqual([
      "/run/systemd/notify|--ready --status=listening on udp 1700",
      "/run/systemd/notify|--status=mqtt connected line two",
      "/run/systemd/notify|STOPPING=1 --status=shutting down",
    ]);
  });

  it("pings the watchdog at half WATCHDOG_USEC, only while healthy", async () => {
    let healthy = true;
    const { logger, warnings } = memoryLogger();
    notifier = new SystemdNotifier({
      env: env({ NOTIFY_SOCKET: "@notify", WATCHDOG_USEC: "200000" }),
      logger,
    });
    expect(notifier.watchdogIntervalMs).toBe(100);
    notifier.startWatchdog(() => healthy);
    await until(async () => (await calls()).length >= 3);
    expect(new Set(await calls())).toEqual(new Set(["@notify|WATCHDOG=1"]));

    healthy = false;
    await notifier.idle(); // a ping already running may still land
    const frozen = (await calls()).length;
    await new Promise((r) => setTimeout(r, 400));
    expect((await calls()).length).toBe(frozen);
    expect(warnings).toEqual(["main loop unhealthy: withholding systemd watchdog ping"]);

    healthy = true;
    await until(async () => (await calls()).length > frozen);
    notifier.stopWatchdog();
  });

  it("leaves the watchdog alone when WATCHDOG_PID names another process", () => {
    expect(watchdogInterval({ WATCHDOG_USEC: "30000000" }, 42)).toBe(15_000);
    expect(watchdogInterval({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "42" }, 42)).toBe(15_000);
    expect(watchdogInterval({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "43" }, 42)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: "nonsense" }, 42)).toBeUndefined();
    expect(watchdogInterval({}, 42)).toBeUndefined();
  });

  it("logs a missing binary once and never throws", async () => {
    const { logger, warnings } = memoryLogger();
    notifier = new SystemdNotifier({
      env: { PATH: join(dir, "empty"), NOTIFY_SOCKET: "/run/systemd/notify" },
      logger,
    });
    await notifier.ready();
    await notifier.status("a");
    await notifier.status("b");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/systemd-notify not found on PATH/);
  });

  it("logs a failing systemd-notify once, with its stderr", async () => {
    const { logger, warnings } = memoryLogger();
    notifier = new SystemdNotifier({ env: env({ NOTIFY_SOCKET: "/x", FAKE_NOTIFY_FAIL: "1" }), logger });
    await notifier.ready();
    await notifier.ready();
    expect(await calls()).toHaveLength(2);
    expect(warnings).toEqual(["systemd notification failed (logged once): systemd-notify failed: no socket"]);
  });
});
