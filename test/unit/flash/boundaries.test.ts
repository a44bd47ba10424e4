// STYLE.md habit 10: the technician's tool does not drag the gateway's dependencies along. What
// tools/flash/index.ts (what `sensornet flash` loads for real hardware) pulls in, from the bundler's graph.
import { resolve } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");

describe("tools/flash dependencies", () => {
  it("no MQTT, SQLite, logging or simulator; from the gateway only the registry file format", async () => {
    const result = await build({
      entryPoints: [resolve(ROOT, "tools/flash/index.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      metafile: true,
      write: false,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    const packages = new Set(
      Object.values(result.metafile.inputs).flatMap((i) =>
        i.imports.filter((x) => x.external).map((x) => x.path),
      ),
    );
    expect(inputs.filter((p) => p.startsWith("gateway/")).sort()).toEqual([
      "gateway/lorawan/registry-file.ts",
      "gateway/lorawan/registry.ts",
    ]);
    expect(
      inputs.filter((p) => p.startsWith("tools/sim/") || p.startsWith("tools/flash/simulated/")),
    ).toEqual([]);
    for (const heavy of ["mqtt", "better-sqlite3", "pino", "aedes", "prom-client", "lora-packet"]) {
      expect(packages.has(heavy), heavy).toBe(false);
    }
    expect(packages.has("serialport")).toBe(true);
  });
});
