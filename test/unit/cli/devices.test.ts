// `sensornet devices …` as a technician runs it: real processes through bin/sensornet.js, a temp registry.
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");
const CLI = [join(ROOT, "bin/sensornet.js")];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sensornet(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [...CLI, ...args],
      { cwd: ROOT, env: { ...process.env, SENSORNET_REGISTRY: "", ...env } },
      (err, stdout, stderr) => {
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

function expectUsageError(run: Run, pattern: RegExp): void {
  expect(run.code).toBe(2);
  expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(run.stderr).toMatch(/^sensornet: /);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

const NWK = "00112233445566778899AABBCCDDEEFF";
const APP = "F0E1D2C3B4A5968778695A4B3C2D1E0F";

describe("sensornet devices", () => {
  let dir: string;
  let registry: string;
  let generated: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sensornet-devices-cli-"));
    registry = join(dir, "devices.json");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const base = (devEui: string, devAddr: string, name: string) => [
    "devices",
    "add",
    "--registry",
    registry,
    "--dev-eui",
    devEui,
    "--dev-addr",
    devAddr,
    "--name",
    name,
    "--lat",
    "52.3745",
    "--lon",
    "-9.7386",
  ];

  it("add --generate-keys creates the registry (mode 0600) and prints the keys once", async () => {
    const run = await sensornet([
      ...base("70B3D57ED0061234", "26011BDA", "bahnhofstrasse-12"),
      "--sensors",
      "climate,bike",
      "--direction-ab",
      "northbound",
      "--generate-keys",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("created");
    generated = [...run.stdout.matchAll(/(?:NwkSKey|AppSKey) ([0-9A-F]{32})/g)].map((m) => m[1]!);
    expect(generated).toHaveLength(2);
    expect((await stat(registry)).mode & 0o777).toBe(0o600);
    const file = JSON.parse(await readFile(registry, "utf8"));
    expect(file.devices[0]).toMatchObject({
      nwkSKey: generated[0],
      appSKey: generated[1],
      licence: "CC-BY-4.0",
    });
  });

  it("add with explicit keys (hex with separators, any case) and all optional fields", async () => {
    const run = await sensornet([
      ...base("70:b3:d5:7e:d0:06:12:35", "26011bdb", "lamp-east"),
      "--sensors",
      "climate",
      "--nwk-skey",
      NWK.toLowerCase(),
      "--app-skey",
      APP,
      "--height-m",
      "4.5",
      "--description",
      "lamp post, east side",
      "--licence",
      "ODbL-1.0",
      "--installed-at",
      "2025-04-01",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(NWK);
    const file = JSON.parse(await readFile(registry, "utf8"));
    expect(file.devices[1]).toEqual({
      devEui: "70B3D57ED0061235",
      devAddr: "26011BDB",
      nwkSKey: NWK,
      appSKey: APP,
      name: "lamp-east",
      location: { lat: 52.3745, lon: -9.7386, heightM: 4.5, description: "lamp post, east side" },
      sensors: ["climate"],
      licence: "ODbL-1.0",
      installedAt: "2025-04-01",
    });
  });

  it("refuses a duplicate DevEUI, DevAddr or name", async () => {
    const keys = ["--sensors", "bike", "--generate-keys"];
    expectUsageError(
      await sensornet([...base("70B3D57ED0061234", "26011BDC", "other"), ...keys]),
      /DevEUI 70B3D57ED0061234 is already registered \(device "bahnhofstrasse-12"/,
    );
    expectUsageError(
      await sensornet([...base("70B3D57ED0061236", "26011BDA", "other"), ...keys]),
      /DevAddr 26011BDA is already registered/,
    );
    expectUsageError(
      await sensornet([...base("70B3D57ED0061236", "26011BDC", "lamp-east"), ...keys]),
      /name lamp-east is already registered/,
    );
  });

  it("invalid hex is a one-line error naming the flag, exit 2, no stack trace, no key echoed", async () => {
    const run = await sensornet([
      ...base("70B3D57ED00612", "26011BDC", "bad"),
      "--sensors",
      "bike",
      "--nwk-skey",
      "00112233445566778899AABBCCDDEEF",
      "--app-skey",
      APP,
    ]);
    expectUsageError(run, /--dev-eui: expected 16 hex characters; --nwk-skey: expected 32 hex characters/);
    expect(run.stderr).not.toContain("00112233445566778899AABBCCDDEEF");
    expect(run.stderr).not.toContain(APP);
  });

  it("requires keys unless --generate-keys", async () => {
    expectUsageError(
      await sensornet([...base("70B3D57ED0061236", "26011BDC", "k"), "--sensors", "bike"]),
      /--nwk-skey and --app-skey are required \(or --generate-keys/,
    );
  });

  it("list shows a table without keys; --json has no key fields", async () => {
    const table = await sensornet(["devices", "list", "--registry", registry]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^DEVEUI\s+DEVADDR\s+NAME/);
    expect(table.stdout).toContain("bahnhofstrasse-12");
    expect(table.stdout).toContain("lamp-east");
    for (const key of [...generated, NWK, APP]) expect(table.stdout).not.toContain(key);

    const json = await sensornet(["devices", "list", "--json"], { SENSORNET_REGISTRY: registry });
    expect(json.code).toBe(0);
    const devices = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(devices.map((d) => d.name)).toEqual(["bahnhofstrasse-12", "lamp-east"]);
    expect(devices.every((d) => !("nwkSKey" in d) && !("appSKey" in d))).toBe(true);
  });

  it("export --format csv: the asset list, no key columns, no key values", async () => {
    const run = await sensornet(["devices", "export", "--format", "csv", "--registry", registry]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "devEui,devAddr,name,lat,lon,sensors,licence,installedAt,heightM,description,directionAB",
    );
    expect(lines[1]).toBe(
      "70B3D57ED0061234,26011BDA,bahnhofstrasse-12,52.3745,-9.7386,climate;bike,CC-BY-4.0,,,,northbound",
    );
    expect(lines[2]).toBe(
      '70B3D57ED0061235,26011BDB,lamp-east,52.3745,-9.7386,climate,ODbL-1.0,2025-04-01,4.5,"lamp post, east side",',
    );
    expect(run.stdout.toLowerCase()).not.toMatch(/skey/);
    for (const key of [...generated, NWK, APP]) expect(run.stdout).not.toContain(key);
  });

  it("refuses a group-readable registry with the chmod hint", async () => {
    await chmod(registry, 0o644);
    try {
      expectUsageError(
        await sensornet(["devices", "list", "--registry", registry]),
        new RegExp(
          `readable by group or others \\(mode 0644\\).*chmod 600 ${registry.replaceAll(".", "\\.")}`,
        ),
      );
    } finally {
      await chmod(registry, 0o600);
    }
  });

  it("remove by name and by DevEUI; unknown id is a usage error", async () => {
    const byName = await sensornet(["devices", "remove", "lamp-east", "--registry", registry]);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toContain("removed lamp-east");
    const byEui = await sensornet(["devices", "remove", "70b3d57ed0061234", "--registry", registry]);
    expect(byEui.code).toBe(0);
    expect(JSON.parse(await readFile(registry, "utf8")).devices).toEqual([]);
    expectUsageError(
      await sensornet(["devices", "remove", "nope", "--registry", registry]),
      /no device .*"nope"/,
    );
  });

  it("a missing registry file points at `devices add`", async () => {
    expectUsageError(
      await sensornet(["devices", "list", "--registry", join(dir, "missing.json")]),
      /not found .*`sensornet devices add` creates it/,
    );
  });
});
