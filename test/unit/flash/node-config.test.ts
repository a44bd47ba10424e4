import { describe, expect, it } from "vitest";
import { decodeConfig } from "../../../shared/payload/index.ts";
import {
  buildConfig,
  ConfigInputError,
  parseConfigEntries,
  parseSensors,
} from "../../../tools/flash/index.ts";

describe("configuration from flags", () => {
  it("sensors, cfg_id and named entries become the FPort 10 map the node accepts", () => {
    const entries = parseConfigEntries(["climate_interval_min=10", "alert_t_high=3500,tOffset=-20"]);
    const { bytes } = buildConfig({ sensors: parseSensors("climate, bike"), cfgId: 42, entries });
    expect(decodeConfig(bytes).values).toEqual({
      cfgId: 42,
      sensors: 3,
      climateIntervalMin: 10,
      tOffset: -20,
      alertTHigh: 3500,
    });
  });

  it("refuses what the node would refuse, with the reason", () => {
    expect(() => parseSensors("climate,radar")).toThrow(/unknown sensor "radar"/);
    expect(() => parseSensors("")).toThrow(ConfigInputError);
    expect(() => parseConfigEntries(["interval=5"])).toThrow(/unknown setting "interval"/);
    expect(() => parseConfigEntries(["climate_interval_min"])).toThrow(/name=value/);
    expect(() => parseConfigEntries(["cfg_id=3"])).toThrow(/--cfg-id/);
    expect(() => parseConfigEntries(["climate_interval_min=off"])).toThrow(/cannot be switched off/);
    expect(() => parseConfigEntries(["climate_interval_min=2.5"])).toThrow(/integer/);
    const outOfRange = parseConfigEntries(["climate_interval_min=90"]);
    expect(() => buildConfig({ sensors: ["climate"], cfgId: 1, entries: outOfRange })).toThrow(
      /outside 1..60/,
    );
    const inconsistent = parseConfigEntries(["speed_min_kmh=40", "speed_max_kmh=30"]);
    expect(() => buildConfig({ sensors: ["bike"], cfgId: 1, entries: inconsistent })).toThrow(/not below/);
  });
});
