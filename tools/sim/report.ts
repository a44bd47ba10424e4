/**
 * Text the command line prints about a run: the one-line progress and the ground truth as JSON lines.
 * Pure: stats and truth in, strings out.
 */
import type { FleetStats } from "./fleet.ts";
import type { FleetSpec } from "./fleet-spec.ts";
import type { Truth } from "./truth.ts";

export interface ProgressContext {
  startMs: number;
  /** Virtual end, Unix ms; undefined when the run has no end. */
  endMs: number | undefined;
  /** Wall ms since the run started. */
  wallMs: number;
}

function isoMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16)}Z`;
}

/** "2026-06-01T13:00Z day 0.54/1 | frames 1234 heard 1200 not-sent 3 | acked 2300 timeouts 0 | 5.2 node-days/s" */
export function progressLine(stats: FleetStats, ctx: ProgressContext): string {
  const days = (stats.nowMs - ctx.startMs) / 86_400_000;
  const total =
    ctx.endMs === undefined
      ? ""
      : `/${((ctx.endMs - ctx.startMs) / 86_400_000).toFixed(2).replace(/\.?0+$/, "")}`;
  const acked = stats.forwarders.reduce((s, f) => s + f.pushAcks, 0);
  const pushed = stats.forwarders.reduce((s, f) => s + f.pushData, 0);
  const timeouts = stats.forwarders.reduce((s, f) => s + f.ackTimeouts, 0);
  const backlog = stats.forwarders.reduce((s, f) => s + f.backlog, 0);
  const rate = ctx.wallMs > 0 ? (stats.nodes * days) / (ctx.wallMs / 1000) : 0;
  const forwarding =
    stats.forwarders.length === 0
      ? ""
      : ` | push ${pushed} acked ${acked} timeouts ${timeouts} queued ${backlog}`;
  return (
    `${isoMinute(stats.nowMs)} day ${days.toFixed(2)}${total} | frames ${stats.frames} heard ${stats.heard} ` +
    `not-sent ${stats.notSent}${forwarding} | ${rate.toFixed(1)} node-days/s`
  );
}

/**
 * The ground truth as JSON lines: every climate sample read, the true bicycle counts per bin (within
 * `[fromMs, toMs)`), every frame sent.
 */
export function* truthLines(truth: Truth, spec: FleetSpec, fromMs: number, toMs: number): Generator<string> {
  for (const node of spec.nodes) {
    const t = truth.node(node.name);
    for (const s of t.climate) {
      yield JSON.stringify({
        type: "climate",
        node: node.name,
        devEui: t.devEui,
        time: new Date(s.tS * 1000).toISOString(),
        temperatureCenti: s.temperatureCenti,
        humidityCenti: s.humidityCenti,
        rejected: s.rejected,
      });
    }
    if (node.kind !== "climate") {
      const binS = node.config.bikeBinS ?? 900;
      const bins = truth.bikeBins(node.name, binS, fromMs, toMs);
      for (let i = 0; i < bins.ab.length; i++) {
        const start = bins.startMs + i * binS * 1000;
        yield JSON.stringify({
          type: "bike",
          node: node.name,
          devEui: t.devEui,
          start: new Date(start).toISOString(),
          end: new Date(start + binS * 1000).toISOString(),
          ab: bins.ab[i],
          ba: bins.ba[i],
        });
      }
    }
    for (const f of t.frames) {
      yield JSON.stringify({
        type: "frame",
        node: node.name,
        devEui: t.devEui,
        fcnt: f.fcnt,
        fport: f.fport,
        time: new Date(f.startMs).toISOString(),
        airtimeMs: Math.round(f.airtimeMs * 10) / 10,
        sf: f.sf,
        bytes: Buffer.from(f.payload).toString("hex"),
        heardBy: f.heardBy.map((h) => h.siteId),
        faults: f.faults,
      });
    }
  }
}
