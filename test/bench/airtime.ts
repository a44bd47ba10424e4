/**
 * Airtime per node-day of the real firmware, by spreading factor, against The Things Network's fair-use
 * limit of 30 s of uplink airtime per node and day, and the Cayenne LPP comparison workload.
 *
 * Each workload runs on the Node host for a warm-up day and the measured day (a Wednesday, for the commuter
 * profile); only uplinks built during the measured day count, status messages included. The airtime budget
 * is raised to its maximum so that it shows the workload's true cost instead of capping it.
 */

import { ConfigKey } from "../../firmware/host/abi.ts";
import { loadFirmwareModule } from "../../firmware/host/node-host.ts";
import { eu868DataRateForSf, uplinkAirtimeMs } from "../../shared/airtime.ts";
import { encodeLppClimate } from "../../shared/cayenne-lpp.ts";
import { commuterProfile, generateBikeTraffic } from "../../tools/sim/models/bike-traffic.ts";
import { createClimateModel } from "../../tools/sim/models/climate.ts";
import { cborMapHex } from "../conformance/cbor-config.ts";
import { DAY0_S } from "../conformance/generate.ts";
import { WASM_PATH } from "../conformance/hosts.ts";
import { runNode } from "./node-day.ts";
import { type Bench, type BenchSection, formatTable, round } from "./section.ts";

export const SPREADING_FACTORS = [7, 9, 10, 11, 12] as const;
const DAY_S = 86_400;
const FAIR_USE_S = 30;
const MAX_BUDGET_MS = 600_000;

/** Targets from the design: hourly climate batches at SF11 and bicycle counts at SF12 within fair use. */
const TARGETS = [
  { workload: "climate", sf: 11 },
  { workload: "bike", sf: 12 },
] as const;

interface DayFigures {
  airtimeS: number;
  uplinks: number;
  meanBytes: number;
}

function figures(sizes: readonly number[], sf: number): DayFigures {
  const ms = sizes.reduce((sum, n) => sum + uplinkAirtimeMs(n, sf), 0);
  const bytes = sizes.reduce((sum, n) => sum + n, 0);
  return {
    airtimeS: ms / 1000,
    uplinks: sizes.length,
    meanBytes: sizes.length === 0 ? 0 : bytes / sizes.length,
  };
}

export const benchAirtime: Bench = async (ctx) => {
  const section: BenchSection = { metrics: {}, report: [], notes: [] };
  const module = await loadFirmwareModule(WASM_PATH);
  const bootS = DAY0_S - DAY_S;
  const climate = createClimateModel({ seed: 1, baseC: 19, amplitudeC: 6 });
  const traffic = generateBikeTraffic({
    seed: 2,
    startMs: bootS * 1000,
    durationMs: 2 * DAY_S * 1000,
    rate: commuterProfile(),
  });
  const riders = traffic.riders.filter(
    (r) => r.tMs >= DAY0_S * 1000 && r.tMs < (DAY0_S + DAY_S) * 1000,
  ).length;

  const workloads = {
    climate: cborMapHex([
      [ConfigKey.cfgId, 1],
      [ConfigKey.sensors, 1],
      [ConfigKey.climateIntervalMin, 5],
      [ConfigKey.climateLatencyS, 3600],
      [ConfigKey.airtimeBudgetMs, MAX_BUDGET_MS],
    ]),
    bike: cborMapHex([
      [ConfigKey.cfgId, 1],
      [ConfigKey.sensors, 2],
      [ConfigKey.bikeLatencyS, 7200],
      [ConfigKey.bikeBinS, 900],
      [ConfigKey.airtimeBudgetMs, MAX_BUDGET_MS],
    ]),
  };

  const context: string[] = [];
  const results = new Map<string, Map<number, DayFigures>>();
  const record = (name: string, sf: number, day: DayFigures): void => {
    const bySf = results.get(name) ?? new Map<number, DayFigures>();
    bySf.set(sf, day);
    results.set(name, bySf);
  };
  for (const [name, configHex] of Object.entries(workloads)) {
    for (const sf of SPREADING_FACTORS) {
      ctx.log(`airtime: ${name} at SF${sf}`);
      const run = await runNode({
        module,
        startS: bootS,
        durationS: 2 * DAY_S,
        sf,
        maxPayload: eu868DataRateForSf(sf).maxFrmPayload,
        configHex,
        climate,
        ...(name === "bike" ? { pulses: traffic.pulses } : {}),
        snapshotAtS: DAY0_S,
      });
      if (run.configResult !== 0)
        throw new Error(`${name}: provisioning config rejected (${run.configResult})`);
      const sizes = run.uplinks
        .filter((u) => u.atS >= DAY0_S && u.atS < DAY0_S + DAY_S)
        .map((u) => u.bytes.length);
      const day = figures(sizes, sf);
      record(name, sf, day);
      const during = (id: number) => (run.counters[id] ?? 0) - (run.countersAtSnapshot[id] ?? 0);
      if (during(7) > 0) section.notes.push(`${name} SF${sf}: ${during(7)} samples/bins dropped`);
      if (name === "bike" && sf === 12) {
        section.metrics["airtime.bike.riders_per_day"] = riders;
        section.metrics["airtime.bike.passes_counted_per_day"] = during(2) + during(3);
        context.push(`bike day: ${riders} riders, the firmware counted ${during(2) + during(3)} passes`);
      }
    }
  }

  // Cayenne LPP: every 5-minute reading in its own 11-byte uplink, the same readings as the climate run.
  const lppSizes: number[] = [];
  for (let t = DAY0_S; t < DAY0_S + DAY_S; t += 300) lppSizes.push(encodeLppClimate(climate.at(t)).length);
  for (const sf of SPREADING_FACTORS) record("lpp_climate", sf, figures(lppSizes, sf));

  const labels: Record<string, string> = {
    climate: "climate (CBOR, 5-min samples, hourly)",
    bike: "bike (CBOR, 15-min bins, 2-hourly)",
    lpp_climate: "climate as Cayenne LPP (every 5 min)",
  };
  const rows: Array<Array<string | number>> = [];
  for (const [name, bySf] of results) {
    const airtime: Array<string | number> = [labels[name] ?? name];
    const uplinks: Array<string | number> = ["  uplinks per day"];
    const bytes: Array<string | number> = ["  mean FRMPayload bytes"];
    for (const sf of SPREADING_FACTORS) {
      const f = bySf.get(sf);
      if (f === undefined) continue;
      section.metrics[`airtime.${name}.sf${sf}_s`] = round(f.airtimeS, 3);
      section.metrics[`airtime.${name}.sf${sf}_uplinks`] = f.uplinks;
      section.metrics[`airtime.${name}.sf${sf}_mean_bytes`] = round(f.meanBytes, 2);
      airtime.push(f.airtimeS.toFixed(2));
      uplinks.push(f.uplinks);
      bytes.push(f.meanBytes.toFixed(1));
    }
    rows.push(airtime, uplinks, bytes);
  }
  section.report = formatTable(
    ["airtime per node-day (s)", ...SPREADING_FACTORS.map((sf) => `SF${sf}`)],
    rows,
  );

  section.report.push("", ...context);
  for (const t of TARGETS) {
    const s = results.get(t.workload)?.get(t.sf)?.airtimeS ?? Number.NaN;
    const verdict = s <= FAIR_USE_S ? "PASS" : "OVER";
    section.metrics[`airtime.target.${t.workload}_sf${t.sf}`] = verdict;
    section.report.push(
      `target ${t.workload} at SF${t.sf} <= ${FAIR_USE_S} s/day: ${s.toFixed(2)} s  ${verdict}`,
    );
  }
  const lpp9 = results.get("lpp_climate")?.get(9)?.airtimeS ?? 0;
  const cbor9 = results.get("climate")?.get(9)?.airtimeS ?? 0;
  if (cbor9 > 0)
    section.report.push(`Cayenne LPP / CBOR batches at SF9: ${(lpp9 / cbor9).toFixed(1)}x the airtime`);
  return section;
};
