// `sensornet sim`: a simulated fleet running the real firmware, sending to a gateway over Semtech UDP. A thin
// layer over tools/sim/ (loaded only when this subcommand runs): parse the options, describe the fleet,
// write its registry if asked, run with a progress line until the end or Ctrl-C, print a summary.
import type { Command } from "commander";
import { intOption as int, numberOption as num } from "./options.ts";
import { UsageError } from "./usage-error.ts";

const HELP = `
Runs N virtual nodes (climate, bicycle counter or both) on the real firmware module
(firmware/build/node.wasm) in simulated time, with a LoRaWAN MAC (ABP, 32-bit FCnt, EU868 duty cycle), a
radio channel (distance, loss) and one virtual Semtech UDP packet forwarder per gateway site. The forwarders
send GPS time from the simulated clock: the gateway stamps observations with simulated time when its config
keeps time.trustForwarderGpsTime (the default). The same --nodes, --kind and --seed always give the same
fleet: same DevEUIs, keys and positions. Progress goes to stderr, --print-truth to stdout. Library and
design: tools/sim/README.md.

Example, with a gateway on this machine (two terminals):
  sensornet sim --nodes 20 --seed 7 --registry-out ./devices.json --registry-only
  sensornet gateway --print-config-template | grep -v '^#' > gateway.json
      # edit gateway.json: "registry": {"path": "./devices.json"}, "mqtt": {"url": "mqtt://localhost:1883"}
  sensornet gateway --config gateway.json
  sensornet sim --nodes 20 --seed 7 --speed 3600 --days 2 --gateway 127.0.0.1:1700
  mosquitto_sub -t 'openherz/v1/observations/#' -v

The gateway keeps each device's frame counter: to run the same fleet against it again, start above the
counters of the last run (its summary prints them), e.g. --fcnt-start 10000.`;

interface SimOptions {
  nodes: string;
  kind: string;
  days: string;
  speed: string;
  gateway: string;
  forwarders: string;
  loss: string;
  seed: string;
  sf: string;
  start?: string;
  fcntStart: string;
  registryOut?: string;
  registryOnly?: boolean;
  printTruth?: boolean;
  progressInterval: string;
}

export function parseTarget(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (m === null) throw new UsageError(`--gateway must be host:port (e.g. 127.0.0.1:1700), got ${text}`);
  return { host: m[1] ?? m[2]!, port: int("--gateway port", m[3]!, 1, 65_535) };
}

export function registerSim(program: Command): void {
  program
    .command("sim")
    .description("simulate a fleet of nodes on the real firmware, sending to a gateway over Semtech UDP")
    .option("-n, --nodes <n>", "number of nodes", "10")
    .option("--kind <kind>", "climate | bike | both | mixed (2 climate, 1 bike, 1 both of every 4)", "mixed")
    .option("--days <days>", 'simulated days to run, or "forever" (until Ctrl-C)', "1")
    .option("--speed <x>", 'simulated seconds per second (3600 = one hour per second), or "max"', "3600")
    .option("--gateway <host:port>", "where the packet forwarders send (Semtech UDP)", "127.0.0.1:1700")
    .option("--forwarders <n>", "gateway sites, one packet forwarder each, on a ring around the town", "1")
    .option("--loss <p>", "probability that a site misses a frame it could hear, 0..1", "0")
    .option("--seed <n>", "seed of everything random: same seed, same fleet, same run", "1")
    .option("--sf <sf>", 'spreading factor 7..12 for every node, or "auto" (by distance)', "auto")
    .option("--start <iso-date>", "start of simulated time (default 2026-06-01T00:00:00Z, a Monday)")
    .option("--fcnt-start <n>", "frame counter of every node's first uplink", "0")
    .option(
      "--registry-out <file>",
      "write the fleet's device registry (devices.json, mode 0600) for the gateway",
    )
    .option("--registry-only", "write --registry-out and exit without simulating")
    .option("--print-truth", "at the end, print the ground truth as JSON lines on stdout")
    .option("--progress-interval <s>", "seconds between progress lines on stderr (0 = none)", "2")
    .addHelpText("after", HELP)
    .action(async (options: SimOptions) => {
      await runSim(options);
    });
}

async function runSim(o: SimOptions): Promise<void> {
  const sim = await import("../tools/sim/index.ts");
  const kind = o.kind as (typeof sim.NODE_KINDS)[number];
  if (!sim.NODE_KINDS.includes(kind))
    throw new UsageError(`--kind must be one of ${sim.NODE_KINDS.join(", ")}`);
  const forever = o.days === "forever";
  const days = forever ? undefined : num("--days", o.days, 0, 3650);
  let speed: ReturnType<typeof sim.parseSpeed>;
  try {
    speed = sim.parseSpeed(o.speed);
  } catch (err) {
    throw new UsageError(`--speed: ${(err as Error).message}`);
  }
  const startMs = o.start === undefined ? sim.DEFAULT_START_S * 1000 : Date.parse(o.start);
  if (!Number.isFinite(startMs)) throw new UsageError(`--start must be an ISO 8601 date, got ${o.start}`);
  if (o.registryOnly && o.registryOut === undefined)
    throw new UsageError("--registry-only needs --registry-out <file>");
  const spec = sim.describeFleet({
    nodes: int("--nodes", o.nodes, 1, 100_000),
    kind,
    seed: int("--seed", o.seed, 0, 0xffffffff),
    sites: int("--forwarders", o.forwarders, 1, 64),
    sf: o.sf === "auto" ? "auto" : int("--sf", o.sf, 7, 12),
    startS: Math.floor(startMs / 1000),
    fcntStart: int("--fcnt-start", o.fcntStart, 0, 0xffff_0000),
  });
  const loss = num("--loss", o.loss, 0, 1);
  const target = parseTarget(o.gateway);
  const progressS = num("--progress-interval", o.progressInterval, 0, 86_400);
  const err = (line: string) => process.stderr.write(`${line}\n`);

  if (o.registryOut !== undefined) {
    await sim.writeRegistry(o.registryOut, spec);
    err(`sensornet sim: wrote ${spec.nodes.length} devices to ${o.registryOut}`);
    if (o.registryOnly) return;
  }

  const fleet = await sim.Fleet.start({ spec, loss, speed, forwarders: { target } });
  const startWall = performance.now();
  const endMs = days === undefined ? undefined : fleet.startMs + days * 86_400_000;
  const progress = () =>
    err(
      sim.progressLine(fleet.stats(), {
        startMs: fleet.startMs,
        endMs,
        wallMs: performance.now() - startWall,
      }),
    );
  const timer = progressS > 0 ? setInterval(progress, progressS * 1000) : undefined;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130); // second Ctrl-C: do not wait for the forwarders
    interrupted = true;
    err("sensornet sim: stopping (Ctrl-C again to quit at once)");
    fleet.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await fleet.run(endMs ?? Number.MAX_SAFE_INTEGER);
    if (!(await fleet.flush(interrupted ? 3000 : 30_000)))
      err("sensornet sim: some frames were never acknowledged");
  } finally {
    if (timer !== undefined) clearInterval(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    progress();
    await fleet.close();
  }
  const maxFcnt = Math.max(...fleet.nodes.map((n) => n.nextFcnt - 1), -1);
  err(
    `sensornet sim: ${fleet.stats().frames} frames from ${fleet.nodes.length} nodes; highest FCnt ${maxFcnt} ` +
      `(next run against the same gateway: --fcnt-start ${maxFcnt + 1})`,
  );
  if (o.printTruth) {
    for (const line of sim.truthLines(fleet.truth, spec, fleet.startMs, fleet.nowMs))
      process.stdout.write(`${line}\n`);
  }
}
