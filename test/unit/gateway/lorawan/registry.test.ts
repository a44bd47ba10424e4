import { chmod, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createRegistry,
  emptyRegistryFile,
  parseRegistry,
  type Registry,
  RegistryError,
  redact,
  validateDevice,
  validateRegistry,
  withoutKeys,
} from "../../../../gateway/lorawan/registry.ts";
import {
  loadRegistry,
  saveRegistry,
  serializeRegistry,
  watchRegistry,
} from "../../../../gateway/lorawan/registry-file.ts";
import { APP_SKEY, NWK_SKEY, testDevice } from "./helpers.ts";

function fileWith(devices: unknown[]) {
  return { version: 1, devices };
}

function errorOf(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error("expected a RegistryError");
}

describe("registry validation", () => {
  it("accepts a valid file, normalises hex to upper case and defaults the licence", () => {
    const file = validateRegistry(
      fileWith([testDevice({ devEui: "70b3d57ed0061234", nwkSKey: NWK_SKEY.toLowerCase() })]),
    );
    expect(file.devices[0]).toMatchObject({
      devEui: "70B3D57ED0061234",
      nwkSKey: NWK_SKEY,
      licence: "CC-BY-4.0",
    });
  });

  it("names device index and field: devices[3].nwkSKey: expected 32 hex characters", () => {
    const devices = [0, 1, 2, 3].map((i) =>
      testDevice({ devEui: `000000000000000${i}`, devAddr: `0000000${i}`, name: `n${i}` }),
    );
    devices[3] = { ...devices[3]!, nwkSKey: "abc" };
    const err = errorOf(() => validateRegistry(fileWith(devices), "devices.json"));
    expect(err.code).toBe("invalid");
    expect(err.message).toContain("devices.json: devices[3].nwkSKey: expected 32 hex characters");
    expect(err.issues).toEqual(['devices[3].nwkSKey: expected 32 hex characters (device "n3")']);
  });

  it("reports every problem, with clear wording", () => {
    const bad = {
      ...testDevice(),
      devEui: "xyz",
      location: { lat: 95 },
      sensors: ["climate", "bikes"],
      licence: "not a licence!",
      installedAt: "yesterday",
      directionAb: "north",
    };
    const err = errorOf(() => validateRegistry(fileWith([bad])));
    expect(err.issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^devices\[0\]\.devEui: expected 16 hex characters/),
        expect.stringMatching(/^devices\[0\]\.location\.lat: expected -90 … 90/),
        expect.stringMatching(/^devices\[0\]\.location\.lon: required/),
        expect.stringMatching(/^devices\[0\]\.sensors\[1\]: expected climate or bike/),
        expect.stringMatching(/^devices\[0\]\.licence: expected an SPDX licence identifier/),
        expect.stringMatching(/^devices\[0\]\.installedAt: expected an ISO 8601 date/),
        expect.stringMatching(/^devices\[0\]: unknown field "directionAb"/),
      ]),
    );
    expect(err.message.split("\n")).toHaveLength(1);
  });

  it("refuses duplicate DevEUI, DevAddr and name", () => {
    const a = testDevice();
    const err = errorOf(() =>
      validateRegistry(
        fileWith([
          a,
          { ...a, name: "other", devAddr: "26011BDB" },
          { ...a, devEui: "0000000000000009", name: "x" },
        ]),
      ),
    );
    expect(err.issues).toEqual([
      "devices[1].devEui: duplicate DevEUI 70B3D57ED0061234 (also devices[0])",
      "devices[2].devAddr: duplicate DevAddr 26011BDA (also devices[0])",
    ]);
  });

  it("refuses other versions and non-JSON", () => {
    expect(errorOf(() => validateRegistry({ version: 2, devices: [] })).message).toContain(
      "version: expected 1",
    );
    expect(errorOf(() => parseRegistry("{ nope", "r.json")).message).toMatch(/^r\.json: not valid JSON/);
  });

  it("never puts a key into a message", () => {
    const err = errorOf(() =>
      validateRegistry(
        fileWith([testDevice({ name: "" }), testDevice({ devAddr: "zz", appSKey: `${APP_SKEY}00` })]),
      ),
    );
    const text = `${err.message} ${err.issues.join(" ")}`.toUpperCase();
    expect(text).not.toContain(NWK_SKEY);
    expect(text).not.toContain(APP_SKEY);
  });

  it("validateDevice reports by field name", () => {
    expect(validateDevice({ ...testDevice(), devAddr: "1" })).toEqual({
      ok: false,
      issues: ["devAddr: expected 8 hex characters"],
    });
  });

  it("redact and withoutKeys drop the keys", () => {
    const device = validateRegistry(fileWith([testDevice()])).devices[0]!;
    expect(redact(device)).toEqual({
      devEui: "70B3D57ED0061234",
      devAddr: "26011BDA",
      name: "bahnhofstrasse-12",
    });
    const meta = withoutKeys(device);
    expect(JSON.stringify(meta)).not.toContain(NWK_SKEY);
    expect(JSON.stringify(meta)).not.toContain(APP_SKEY);
    expect(meta.location).toEqual({ lat: 52.37, lon: 9.73 });
  });

  it("lookups are case-insensitive and the registry is immutable", () => {
    const registry = createRegistry(validateRegistry(fileWith([testDevice()])));
    expect(registry.byDevAddr("26011bda")?.name).toBe("bahnhofstrasse-12");
    expect(registry.byDevEui("70b3d57ed0061234")?.devAddr).toBe("26011BDA");
    expect(registry.byName("bahnhofstrasse-12")?.devEui).toBe("70B3D57ED0061234");
    expect(Object.isFrozen(registry.devices[0]?.location)).toBe(true);
  });

  it("stores each device as validated, in the file's field order, sharing equal values between devices", () => {
    const file = validateRegistry(
      fileWith([
        testDevice({
          location: { lat: 1, lon: 2, heightM: 3, description: "lamp post" },
          directionAB: "north",
        }),
        testDevice({
          devEui: "70B3D57ED0060001",
          devAddr: "26011BDB",
          name: "second",
          location: { lat: 4, lon: 5, description: "lamp post" },
        }),
      ]),
    );
    const registry = createRegistry(file);
    expect(registry.devices).toEqual(file.devices);
    expect(registry.devices.map((d) => Object.keys(d))).toEqual(file.devices.map((d) => Object.keys(d)));
    expect(serializeRegistry({ version: 1, devices: [...registry.devices] })).toBe(serializeRegistry(file));
    const [a, b] = registry.devices;
    expect(a).not.toBe(file.devices[0]);
    expect(a?.sensors).toBe(b?.sensors);
    expect(Object.isFrozen(a?.sensors)).toBe(true);
    expect(registry.byName("second")).toBe(b);
  });
});

describe("registry file", () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sensornet-registry-"));
    path = join(dir, "devices.json");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("saves atomically with mode 0600 and loads back", async () => {
    const file = validateRegistry(fileWith([testDevice()]));
    await saveRegistry(path, file);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["devices.json"]);
    expect(await readFile(path, "utf8")).toBe(serializeRegistry(file));
    const loaded = await loadRegistry(path);
    expect(loaded.devices).toEqual(file.devices);
    expect(loaded.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses to save an invalid registry and leaves the old file", async () => {
    await saveRegistry(path, emptyRegistryFile());
    const before = await readFile(path, "utf8");
    const bad = {
      version: 1 as const,
      devices: [{ ...validateRegistry(fileWith([testDevice()])).devices[0]!, devAddr: "x" }],
    };
    await expect(saveRegistry(path, bad)).rejects.toThrow(/devAddr: expected 8 hex characters/);
    expect(await readFile(path, "utf8")).toBe(before);
    expect(await readdir(dir)).toEqual(["devices.json"]);
  });

  it("refuses a file readable by group or others, with the chmod fix", async () => {
    await saveRegistry(path, emptyRegistryFile());
    for (const mode of [0o640, 0o604, 0o644]) {
      await chmod(path, mode);
      const err = await loadRegistry(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe("permissions");
      expect((err as RegistryError).message).toContain(`chmod 600 ${path}`);
    }
    await chmod(path, 0o620); // group-writable but not readable: not a leak of keys
    await expect(loadRegistry(path)).resolves.toBeDefined();
  });

  it("a missing file is 'not_found'", async () => {
    const err = await loadRegistry(join(dir, "nope.json")).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe("not_found");
  });
});

describe("watchRegistry", () => {
  let dir: string;
  let path: string;
  const closers: Array<() => void> = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sensornet-watch-"));
    path = join(dir, "devices.json");
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await rm(dir, { recursive: true, force: true });
  });

  async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  function watchInto(initial?: Registry) {
    const changes: Registry[] = [];
    const errors: Error[] = [];
    const watcher = watchRegistry(
      path,
      (r) => changes.push(r),
      (e) => errors.push(e),
      { debounceMs: 20, pollIntervalMs: 0, ...(initial ? { initial } : {}) },
    );
    closers.push(() => watcher.close());
    return { changes, errors };
  }

  it("picks up a rewritten file, ignores unchanged content", async () => {
    await saveRegistry(path, emptyRegistryFile());
    const initial = await loadRegistry(path);
    const { changes, errors } = watchInto(initial);
    await saveRegistry(path, emptyRegistryFile()); // same content: no change reported
    await new Promise((r) => setTimeout(r, 150));
    expect(changes).toHaveLength(0);
    await saveRegistry(path, validateRegistry(fileWith([testDevice()])));
    await until(() => changes.length === 1);
    expect(changes[0]?.byDevAddr("26011BDA")?.name).toBe("bahnhofstrasse-12");
    expect(errors).toEqual([]);
  });

  it("without an initial registry, reports the current file first", async () => {
    await saveRegistry(path, validateRegistry(fileWith([testDevice()])));
    const { changes } = watchInto();
    await until(() => changes.length === 1);
    expect(changes[0]?.devices).toHaveLength(1);
  });

  it("invalid new content is reported once and not applied; a fix is applied", async () => {
    await saveRegistry(path, emptyRegistryFile());
    const { changes, errors } = watchInto(await loadRegistry(path));
    const tmp = join(dir, "new.json");
    await writeFile(tmp, JSON.stringify(fileWith([{ ...testDevice(), nwkSKey: "00" }])), { mode: 0o600 });
    await rename(tmp, path);
    await until(() => errors.length === 1);
    expect(errors[0]?.message).toContain("devices[0].nwkSKey: expected 32 hex characters");
    expect(errors[0]?.message.toUpperCase()).not.toContain(APP_SKEY);
    expect(changes).toHaveLength(0);
    await saveRegistry(path, validateRegistry(fileWith([testDevice()])));
    await until(() => changes.length === 1);
    expect(errors).toHaveLength(1);
  });

  it("a file checked when it had not changed for a while: a later change of the same size is picked up", async () => {
    await saveRegistry(path, validateRegistry(fileWith([testDevice({ name: "name-1" })])));
    // Older than the 2 s within which a change could leave size and timestamps unchanged.
    await new Promise((r) => setTimeout(r, 2100));
    const changes: Registry[] = [];
    const watcher = watchRegistry(
      path,
      (r) => changes.push(r),
      () => {},
      { debounceMs: 20, pollIntervalMs: 50, initial: await loadRegistry(path) },
    );
    closers.push(() => watcher.close());
    await new Promise((r) => setTimeout(r, 200)); // polls that find the same file
    expect(changes).toHaveLength(0);
    await writeFile(path, serializeRegistry(validateRegistry(fileWith([testDevice({ name: "name-2" })]))));
    await until(() => changes.length === 1);
    expect(changes[0]?.devices[0]?.name).toBe("name-2");
  });

  it("a file made group-readable is reported, and picked up again after chmod 600", async () => {
    await saveRegistry(path, emptyRegistryFile());
    const { changes, errors } = watchInto(await loadRegistry(path));
    await chmod(path, 0o644);
    await writeFile(path, serializeRegistry(validateRegistry(fileWith([testDevice()]))));
    await until(() => errors.length >= 1);
    expect(errors.at(-1)?.message).toContain("chmod 600");
    expect(changes).toHaveLength(0);
    await chmod(path, 0o600);
    await writeFile(path, serializeRegistry(validateRegistry(fileWith([testDevice({ name: "renamed" })]))));
    await until(() => changes.length === 1);
    expect(changes[0]?.devices[0]?.name).toBe("renamed");
  });
});
