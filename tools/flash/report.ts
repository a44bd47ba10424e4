// What `sensornet flash` prints, as pure functions of what happened: the node line, the port list, the summary.
import type { Device } from "../../gateway/lorawan/registry.ts";
import type { FlashError } from "./errors.ts";
import type { PortCandidate, PortInfo } from "./ports.ts";
import { chipOf } from "./ports.ts";
import type { Identity, Reading, SelfTest } from "./protocol.ts";
import type { ProvisionReport } from "./provision.ts";

export function describeNode(id: Identity, path: string): string {
  return (
    `node on ${path}: board ${id.board}${id.hwRev === undefined ? "" : ` (${id.hwRev})`}, host ${id.host}, ` +
    `module fw ${id.fw}, ABI ${id.abi}, EUI ${id.eui}` +
    (id.devEui === undefined ? ", not provisioned" : `, DevEUI ${id.devEui}, DevAddr ${id.devAddr ?? "-"}`)
  );
}

export function formatPortList(ports: readonly PortInfo[], candidates: readonly PortCandidate[]): string[] {
  if (ports.length === 0) return ["no serial ports found"];
  const isCandidate = new Set(candidates.map((c) => c.path));
  return ports.map((p) => {
    const chip = chipOf(p);
    const ids = p.vendorId === undefined ? "no USB id" : `${p.vendorId}:${p.productId ?? "?"}`;
    const what = chip?.chip ?? p.manufacturer ?? "unknown adapter";
    return `${isCandidate.has(p.path) ? "*" : " "} ${p.path}  ${ids}  ${what}${p.serialNumber ? `  serial ${p.serialNumber}` : ""}`;
  });
}

function reading(r: Reading, unit: (v: number) => string): string {
  return r.ok ? unit(r.value) : `error ${r.error}${r.error === 1 ? " (not fitted)" : ""}`;
}

export function formatSelfTest(t: SelfTest): string {
  return [
    `temperature ${reading(t.temperature, (v) => `${(v / 100).toFixed(2)} °C`)}`,
    `humidity ${reading(t.humidity, (v) => `${(v / 100).toFixed(2)} %RH`)}`,
    `battery ${reading(t.battery, (v) => `${(v / 1000).toFixed(3)} V`)}`,
    `radio ${t.radio.ok ? `ok, noise ${t.noiseDbm ?? "?"} dBm` : `FAILED (E${t.radio.error})`}`,
  ].join(", ");
}

/** Problems the self-test found that the technician should look at (provisioning itself succeeded). */
export function selfTestWarnings(t: SelfTest, climateFitted: boolean): string[] {
  const out: string[] = [];
  if (!t.radio.ok) out.push(`radio check failed (E${t.radio.error}): check the antenna and the radio module`);
  if (!t.battery.ok) out.push(`battery reading failed (E${t.battery.error})`);
  if (climateFitted) {
    if (!t.temperature.ok)
      out.push(`temperature sensor: error ${t.temperature.error}: check the SHT45 cable`);
    if (!t.humidity.ok) out.push(`humidity sensor: error ${t.humidity.error}: check the SHT45 cable`);
  }
  return out;
}

export interface SummaryInput {
  report: ProvisionReport;
  device: Device;
  firmwarePath: string;
  registry: { path: string; created: boolean } | undefined;
  durationMs: number;
}

export function formatSummary(s: SummaryInput): string[] {
  const r = s.report;
  const d = s.device;
  const up = r.upload;
  const upload =
    up.kind === "skipped"
      ? "not needed (the node already ran this module)"
      : `${r.active.size} bytes${up.resumedFrom > 0 ? `, resumed at byte ${up.resumedFrom}` : ""}` +
        `${up.chunkResends > 0 ? `, ${up.chunkResends} chunk(s) resent after a bad CRC` : ""}` +
        `${up.uploads > 1 ? `, ${up.uploads} uploads (SHA-256 mismatch)` : ""}`;
  return [
    `provisioned ${d.name} in ${(s.durationMs / 1000).toFixed(1)} s`,
    `  DevEUI    ${d.devEui}`,
    `  DevAddr   ${d.devAddr}`,
    `  keys      NwkSKey KCV ${r.keys.nwkSKey}, AppSKey KCV ${r.keys.appSKey} (verified)`,
    `  module    ${s.firmwarePath}: fw ${r.active.fw}, SHA-256 ${r.active.sha256.slice(0, 16)}… in slot ${r.active.slot} (verified)`,
    `  upload    ${upload}`,
    `  config    cfg_id ${r.config.cfgId}, ${r.config.hex?.length === undefined ? 0 : r.config.hex.length / 2} bytes (verified)`,
    `  location  ${d.location.lat}, ${d.location.lon}${d.location.heightM === undefined ? "" : `, ${d.location.heightM} m`}`,
    `  sensors   ${d.sensors.join(", ")}`,
    `  self-test ${formatSelfTest(r.selfTest)}`,
    `  status    FCnt ${r.status.fcnt}, ${r.status.uplinks} uplink(s) since start, session ${r.status.session}`,
    s.registry === undefined
      ? "  registry  entry printed on stdout (add it to the gateway's registry)"
      : `  registry  ${s.registry.created ? "created" : "added to"} ${s.registry.path}`,
  ];
}

/** "sensornet flash: <message>" and the hint, for stderr. */
export function formatFailure(err: FlashError, extra: string[] = []): string[] {
  return [
    `sensornet flash: ${err.message}`,
    ...(err.hint === undefined ? [] : [`  what to do: ${err.hint}`]),
    ...extra.map((e) => `  ${e}`),
  ];
}
