// The gateway as deployed: the production bundle dist/sensornet.mjs (`npm run build`, which `npm install` and
// `npm ci` run) and the systemd unit that starts it with V8 flags (deploy/openherz-gateway.service).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BUNDLE,
  deployedLaunch,
  INSTALL_DIR,
  readEnvironment,
  readExecStart,
  readMemoryMaxMb,
} from "../../support/deploy.ts";
import { useFileBroker } from "../../support/file-broker.ts";
import { REPO_ROOT, runSensornet, spawnGateway, writeGatewayFiles } from "../../support/gateway.ts";
import { DEVICE_1 } from "./helpers.ts";

const DIST = { entry: join(REPO_ROOT, BUNDLE) };

const shared = useFileBroker();
const { cleanups } = shared;

describe("production bundle", () => {
  it("npm run build (run by npm install and npm ci --omit=dev) writes dist/sensornet.mjs", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
    expect(pkg.scripts.postinstall).toBe("npm run build");
    expect(pkg.scripts.build).toContain("node scripts/bundle.js");
    // The Pi installs without devDependencies and still builds.
    expect(pkg.dependencies.esbuild).toBeDefined();
    expect(existsSync(DIST.entry), `${BUNDLE} is missing: run npm run build`).toBe(true);
  });

  it("runs: --help and --version exit 0, a usage mistake exits 2", async () => {
    const [help, version, unknown] = await Promise.all([
      runSensornet(["--help"], DIST),
      runSensornet(["--version"], DIST),
      runSensornet(["gateway", "--no-such-option"], DIST),
    ]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    for (const command of ["gateway", "devices", "sim", "flash", "decode", "demo"]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    }
    expect(version).toMatchObject({ code: 0, stderr: "" });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--no-such-option'");
  });

  it("gateway --check-config: exit 0 and config OK for a valid config, 1 and the problems otherwise", async () => {
    const files = await writeGatewayFiles({ brokerUrl: "mqtt://127.0.0.1:1883", devices: [DEVICE_1] });
    cleanups.push(() => files.dispose());
    const bad = join(files.dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ gatewayId: "mast 01", mqtt: { url: "http://b" } }));
    const [ok, problems] = await Promise.all([
      runSensornet(["gateway", "--check-config", "--config", files.configPath], DIST),
      runSensornet(["gateway", "--check-config", "--config", bad], DIST),
    ]);
    expect(ok).toEqual({ code: 0, stdout: `${files.configPath}: config OK\n`, stderr: "" });
    expect(problems.code).toBe(1);
    expect(problems.stderr).toContain("mqtt.url: must start with mqtt:// or mqtts://");
  });

  it("built from the current sources: Node built-ins through require, files found next to the sources", async () => {
    const outDir = join(REPO_ROOT, `.scratch-bundle-test-${process.pid}`);
    cleanups.push(async () =>
      (await import("node:fs/promises")).rm(outDir, { recursive: true, force: true }),
    );
    const { bundle } = (await import(join(REPO_ROOT, "scripts/bundle.js"))) as {
      bundle(options: { outDir: string; quiet: boolean }): Promise<unknown>;
    };
    await bundle({ outDir, quiet: true });
    const outputs = readdirSync(outDir).filter((f) => f.endsWith(".mjs"));
    expect(outputs).toContain("sensornet.mjs");
    const paths: string[] = [];
    for (const file of outputs) {
      const code = readFileSync(join(outDir, file), "utf8");
      // An ESM import of a built-in runs all its lazy getters: node:http alone would load undici.
      const esmBuiltins = [...code.matchAll(/\bfrom\s*"(node:[\w/]+)"/g)].map((m) => m[1]);
      expect(
        esmBuiltins.filter((m) => m !== "node:module"),
        file,
      ).toEqual([]);
      // Paths next to the sources (firmware module, package.json) are rewritten to resolve from the bundle.
      for (const m of code.matchAll(/new URL\("([^"]+)",import\.meta\.url\)/g)) {
        expect(existsSync(join(outDir, m[1]!)), `${file}: ${m[1]}`).toBe(true);
        paths.push(m[1]!);
      }
    }
    expect(paths).toEqual(expect.arrayContaining(["../package.json", "../firmware/build/node.wasm"]));
    const version = await runSensornet(["--version"], { entry: join(outDir, "sensornet.mjs") });
    expect(version).toMatchObject({ code: 0, stderr: "" });
  });
});

describe("systemd unit", () => {
  it("ExecStart runs the bundle with V8 heap limits under MemoryMax, and node accepts the flags", async () => {
    const exec = readExecStart();
    expect(exec.node).toBe("/usr/bin/node");
    expect(exec.script).toBe(`${INSTALL_DIR}/dist/sensornet.mjs`);
    expect(exec.args).toEqual(["gateway", "--config", "/etc/openherz/gateway.json"]);
    const flag = (name: string) =>
      Number(exec.nodeArgs.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? Number.NaN);
    const oldSpaceMb = flag("max-old-space-size");
    expect(oldSpaceMb).toBeGreaterThanOrEqual(128);
    expect(flag("max-semi-space-size")).toBeGreaterThan(0);
    expect(oldSpaceMb).toBeLessThan(readMemoryMaxMb());
    // A misspelt flag makes node exit with "bad option" before the script runs.
    const run = await runSensornet(["--version"], { entry: DIST.entry, nodeArgs: exec.nodeArgs });
    expect(run).toMatchObject({ code: 0, stderr: "" });
  });

  it("Environment= fixes glibc's malloc thresholds, and glibc accepts the tunables", async () => {
    const env = readEnvironment();
    expect(env).toMatchObject({ NODE_ENV: "production" });
    const tunables = Object.fromEntries(
      (env.GLIBC_TUNABLES ?? "").split(":").map((t) => t.split("=") as [string, string]),
    );
    const wanted = {
      "glibc.malloc.mmap_threshold": Number(tunables["glibc.malloc.mmap_threshold"]),
      "glibc.malloc.trim_threshold": Number(tunables["glibc.malloc.trim_threshold"]),
    };
    expect(Object.values(wanted).every((v) => v > 0)).toBe(true);
    // glibc ignores a misspelt tunable silently; its dynamic loader lists the values it took.
    const loader = /\s(\/\S*ld-linux\S*)/.exec(
      execFileSync("ldd", [process.execPath], { encoding: "utf8" }),
    )?.[1];
    expect(loader, "node's dynamic loader (glibc)").toBeDefined();
    const listed = execFileSync(loader!, ["--list-tunables"], {
      encoding: "utf8",
      env: { GLIBC_TUNABLES: env.GLIBC_TUNABLES },
    });
    for (const [name, value] of Object.entries(wanted)) {
      const took = new RegExp(`^${name.replaceAll(".", "\\.")}: (0x[0-9a-f]+)`, "m").exec(listed)?.[1];
      expect(Number(took), name).toBe(value);
    }
  });

  it("the gateway starts from the bundle with the unit's flags, serves /health and stops cleanly", async () => {
    const files = await writeGatewayFiles({ brokerUrl: shared.broker.url, devices: [DEVICE_1] });
    cleanups.push(() => files.dispose());
    const gw = spawnGateway(files.configPath, {}, deployedLaunch());
    cleanups.push(() => gw.stop("SIGKILL"));
    const { httpPort } = await gw.ready;
    const health = (await (await fetch(`http://127.0.0.1:${httpPort}/health`)).json()) as { status: string };
    expect(["ok", "degraded"]).toContain(health.status);
    expect(await gw.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(gw.stderr()).toBe("");
    expect(gw.stdout.records().at(-1)?.msg).toBe("gateway stopped");
  });
});
