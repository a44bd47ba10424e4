import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRegistry } from "../../../gateway/lorawan/registry-file.ts";
import { decodeConfig } from "../../../shared/payload/index.ts";
import { autoSf, DEFAULT_START_S, describeFleet } from "../../../tools/sim/fleet-spec.ts";
import { provisioningConfig, registryFile, writeRegistry } from "../../../tools/sim/provisioning.ts";
import { rangeM } from "../../../tools/sim/radio-channel.ts";

describe("fleet description", () => {
  it("is a pure function of its options and seed", () => {
    const a = describeFleet({ nodes: 12, seed: 42, sites: 3 });
    expect(describeFleet({ nodes: 12, seed: 42, sites: 3 })).toEqual(a);
    const b = describeFleet({ nodes: 12, seed: 43, sites: 3 });
    expect(b.nodes.map((n) => n.session.nwkSKey)).not.toEqual(a.nodes.map((n) => n.session.nwkSKey));
    // Adding nodes does not change the existing ones.
    expect(describeFleet({ nodes: 13, seed: 42, sites: 3 }).nodes.slice(0, 12)).toEqual(a.nodes);
  });

  it("has unique identities, the mixed kinds, sites on a ring, and a start on a Monday", () => {
    const spec = describeFleet({ nodes: 200, seed: 1, sites: 3 });
    expect(new Set(spec.nodes.map((n) => n.session.devEui)).size).toBe(200);
    expect(new Set(spec.nodes.map((n) => n.session.devAddr)).size).toBe(200);
    expect(new Set(spec.nodes.map((n) => n.name)).size).toBe(200);
    expect(spec.nodes.slice(0, 4).map((n) => n.kind)).toEqual(["climate", "climate", "bike", "both"]);
    expect(spec.sites.map((s) => Math.round(Math.hypot(s.position.x, s.position.y)))).toEqual([
      1000, 1000, 1000,
    ]);
    expect(new Date(DEFAULT_START_S * 1000).getUTCDay()).toBe(1);
    expect(spec.startS).toBe(DEFAULT_START_S);
    for (const n of spec.nodes) expect(Math.hypot(n.position.x, n.position.y)).toBeLessThanOrEqual(2001);
  });

  it("chooses the fastest spreading factor that keeps the margin to the nearest site", () => {
    const site = [{ position: { x: 0, y: 0 } }];
    expect(autoSf({ x: 100, y: 0 }, site, 14, 10)).toBe(7);
    expect(autoSf({ x: rangeM(9) * 0.4, y: 0 }, site, 14, 10)).toBeGreaterThan(7);
    expect(autoSf({ x: 100_000, y: 0 }, site, 14, 10)).toBe(12);
    expect(describeFleet({ nodes: 3, sf: 10 }).nodes.map((n) => n.dataRate.sf)).toEqual([10, 10, 10]);
  });
});

describe("provisioning", () => {
  const spec = describeFleet({ nodes: 4, seed: 9, kind: "mixed", config: { statusIntervalS: 7200 } });

  it("writes the registry entries the gateway loads (mode 0600)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "openherz-sim-"));
    try {
      const path = join(dir, "devices.json");
      await writeRegistry(path, spec);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const registry = await loadRegistry(path);
      expect(registry.devices).toHaveLength(4);
      for (const node of spec.nodes) {
        const d = registry.byDevEui(node.session.devEui)!;
        expect(d.devAddr).toBe(node.session.devAddr);
        expect(d.nwkSKey).toBe(node.session.nwkSKey);
        expect(d.name).toBe(node.name);
        expect(d.sensors).toEqual(node.kind === "both" ? ["climate", "bike"] : [node.kind]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(registryFile(spec).devices).toHaveLength(4);
  });

  it("gives each node a valid FPort 10 configuration for its sensors", () => {
    const sensors = spec.nodes.map((n) => decodeConfig(provisioningConfig(n)).values);
    expect(sensors.map((v) => v.sensors)).toEqual([1, 1, 2, 3]);
    for (const v of sensors) {
      expect(v.cfgId).toBe(1);
      expect(v.statusIntervalS).toBe(7200);
    }
    expect(sensors[2]!.tubeSpacingMm).toBe(1000);
  });
});
