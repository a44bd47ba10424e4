import { describe, expect, it } from "vitest";
import {
  createLogger,
  createRateLimitedLog,
  isSecretFieldName,
  REDACTED,
  redactLogLine,
  SecretValues,
} from "../../../../gateway/ops/logger.ts";
import { APP_SKEY, NWK_SKEY, testDevice } from "../lorawan/helpers.ts";

function memoryLogger(options: { secrets?: SecretValues; level?: "info" | "debug" } = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    ...options,
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines, text: () => lines.join(""), records: () => lines.map((l) => JSON.parse(l)) };
}

describe("logger", () => {
  it("writes one JSON object per line with level label, time and message", () => {
    const { logger, records } = memoryLogger();
    logger.info({ port: 1700 }, "listening");
    const [record] = records();
    expect(record).toMatchObject({ level: "info", msg: "listening", port: 1700, pid: process.pid });
    expect(Date.parse(record.time)).not.toBeNaN();
  });

  it("knows which field names are key material", () => {
    for (const name of [
      "nwkSKey",
      "appSKey",
      "appKey",
      "NwkKey",
      "key",
      "keys",
      "password",
      "mqttPassword",
      "token",
    ]) {
      expect(isSecretFieldName(name), name).toBe(true);
    }
    for (const name of ["devEui", "devAddr", "deviceKey", "dedupKey", "passwordFile", "name", "keyFile"]) {
      expect(isSecretFieldName(name), name).toBe(false);
    }
  });

  it("removes keys from a frame context, child bindings and nested objects", () => {
    const { logger, text, records } = memoryLogger({ level: "debug" });
    const device = testDevice();
    const child = logger.child({ device, session: { nwkSKey: NWK_SKEY } });
    child.warn(
      {
        frame: { devAddr: device.devAddr, fcnt: 7, keys: { nwk: NWK_SKEY, app: APP_SKEY } },
        appSKey: APP_SKEY,
      },
      "bad MIC",
    );
    logger.debug({ devices: [device, { ...device, nwkSKey: NWK_SKEY.toLowerCase() }] }, "registry loaded");
    logger.info({ mqtt: { url: "mqtts://b", password: "hunter2-hunter2" } }, "config");
    expect(text()).not.toContain(NWK_SKEY);
    expect(text()).not.toContain(NWK_SKEY.toLowerCase());
    expect(text()).not.toContain(APP_SKEY);
    expect(text()).not.toContain("hunter2");
    const [first, second, third] = records();
    expect(first).toMatchObject({
      msg: "bad MIC",
      device: { devEui: device.devEui, nwkSKey: REDACTED, appSKey: REDACTED },
      session: { nwkSKey: REDACTED },
      frame: { devAddr: device.devAddr, fcnt: 7, keys: REDACTED },
      appSKey: REDACTED,
    });
    expect(second.devices[1]).toMatchObject({ devAddr: device.devAddr, nwkSKey: REDACTED });
    expect(third.mqtt).toEqual({ url: "mqtts://b", password: REDACTED });
  });

  it("removes known secret values from messages and error stacks", () => {
    const secrets = new SecretValues();
    secrets.setHexKeys([NWK_SKEY, APP_SKEY]);
    secrets.addLiteral('pa"ss-word');
    const { logger, text } = memoryLogger({ secrets });
    logger.error(
      { err: new Error(`lora-packet: cannot use key ${NWK_SKEY.toLowerCase()}`) },
      "decode failed",
    );
    logger.warn({ detail: `payload 00${APP_SKEY}ff` }, `hex dump ab${NWK_SKEY}`);
    logger.info({ note: 'login with pa"ss-word failed' }, "mqtt");
    expect(text()).not.toMatch(new RegExp(NWK_SKEY, "i"));
    expect(text()).not.toContain(APP_SKEY);
    expect(text()).not.toContain("ss-word");
    expect(text()).toContain("decode failed");
    expect(text()).toContain("payload [redacted]");
  });

  it("leaves lines without secrets untouched", () => {
    const line = '{"level":"info","msg":"frame","devAddr":"26011BDA","deviceKey":"abc"}\n';
    expect(redactLogLine(line)).toBe(line);
    const plain = '{"level":"info","msg":"hello"}\n';
    expect(redactLogLine(plain, new SecretValues())).toBe(plain);
  });
});

describe("rate-limited log", () => {
  function setup(burst = 2, intervalMs = 1000) {
    let now = 0;
    const calls: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = [];
    const record =
      (level: string) =>
      (obj: object, msg?: string): void =>
        void calls.push({ level, obj: obj as Record<string, unknown>, msg });
    const logger = {
      debug: record("debug"),
      info: record("info"),
      warn: record("warn"),
      error: record("error"),
    };
    const limited = createRateLimitedLog(logger, { intervalMs, burst, now: () => now, timer: false });
    const advance = (ms: number): void => {
      now += ms;
    };
    return { limited, calls, advance };
  }

  it("logs the first N of a reason per interval, then one summary", () => {
    const { limited, calls, advance } = setup(2, 1000);
    for (let i = 0; i < 10; i++) limited.log("udp_bad_json", { remote: `10.0.0.1:${i}` }, "bad json");
    expect(calls.map((c) => c.msg)).toEqual(["bad json", "bad json"]);
    expect(calls[0]).toMatchObject({ level: "warn", obj: { remote: "10.0.0.1:0", reason: "udp_bad_json" } });

    advance(1000);
    limited.log("udp_bad_json", { remote: "10.0.0.1:99" }, "bad json");
    expect(calls.slice(2).map((c) => [c.msg, c.obj])).toEqual([
      ["suppressed 8 similar messages", { reason: "udp_bad_json", suppressed: 8, intervalMs: 1000 }],
      ["bad json", { remote: "10.0.0.1:99", reason: "udp_bad_json" }],
    ]);
  });

  it("keeps a separate budget per reason", () => {
    const { limited, calls } = setup(1);
    limited.log("a", {}, "A");
    limited.log("a", {}, "A");
    limited.log("b", {}, "B", "error");
    limited.log("b", {}, "B");
    expect(calls.map((c) => `${c.level}:${c.msg}`)).toEqual(["warn:A", "error:B"]);
  });

  it("summarises ended windows from flushExpired, and everything on close", () => {
    const { limited, calls, advance } = setup(1, 1000);
    limited.log("a", {}, "A");
    limited.log("a", {}, "A");
    limited.log("a", {}, "A");
    advance(500);
    limited.log("b", {}, "B");
    limited.log("b", {}, "B");
    limited.flushExpired();
    expect(calls.map((c) => c.msg)).toEqual(["A", "B"]);
    advance(500);
    limited.flushExpired();
    expect(calls.map((c) => c.msg)).toEqual(["A", "B", "suppressed 2 similar messages"]);
    limited.close();
    expect(calls.map((c) => c.msg)).toEqual([
      "A",
      "B",
      "suppressed 2 similar messages",
      "suppressed 1 similar message",
    ]);
    limited.close();
    expect(calls).toHaveLength(4);
  });

  it("bounds the number of reasons it tracks", () => {
    let now = 0;
    const msgs: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (_o: object, m?: string) => void msgs.push(m ?? ""),
    };
    const limited = createRateLimitedLog(logger, {
      intervalMs: 1000,
      burst: 1,
      maxReasons: 3,
      now: () => now,
      timer: false,
    });
    for (let i = 0; i < 100; i++) limited.log(`r${i}`, {}, `m${i}`);
    expect(msgs).toEqual(["m0", "m1", "m2", "m3"]);
    now = 1000;
    limited.flush();
    expect(msgs.at(-1)).toBe("suppressed 96 similar messages");
  });
});
