// `sensornet demo` (`npm start`): the whole system in one command — an MQTT broker, the gateway and a
// simulated fleet, with a live view. A thin layer over tools/demo/ (loaded only when this subcommand runs):
// parse the options, start, show the view until the duration ends or a signal comes, stop in reverse order.
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { Command } from "commander";
import { intOption as int, numberOption as num } from "./options.ts";
import { UsageError } from "./usage-error.ts";

const DEFAULT_START = "2026-06-01T06:00:00Z";
/** Copies of one signal arrive within this many ms (see onSignal). */
const SIGNAL_ECHO_MS = 1000;

const HELP = `
Starts an embedded MQTT broker (aedes, on 127.0.0.1:1883 if that port is free, else on a free port) unless
MQTT_URL names one (e.g. MQTT_URL=mqtt://localhost:1883), the gateway in this process (temp dir for its
registry and journal, removed at the end), and a simulated fleet on the real firmware in accelerated time. The
view shows each node's last values as published to the broker, the gateway's counters, and the command to
subscribe from another terminal. On a terminal it redraws in place about once a second; otherwise it prints a
summary line every few seconds and the node table every 30 s and at the end.

Simulated time starts on ${DEFAULT_START} (a Monday morning) unless --start says otherwise. Observations
carry it as phenomenonTime; their resultTime is the gateway's wall clock. Ctrl-C (or SIGTERM) stops the
fleet, then the gateway (which publishes what it journaled), then the broker, and exits 0.

Examples:
  npm start
  npm start -- --nodes 40 --speed 3600
  npm start -- --duration 1d            # one simulated day, then stop
  MQTT_URL=mqtt://localhost:1883 npm start
Simulator without the demo: sensornet sim --help (tools/sim/README.md).`;

interface DemoCliOptions {
  nodes: string;
  kind: string;
  speed: string;
  duration?: string;
  seed: string;
  start: string;
  forwarders: string;
  loss: string;
  port?: string;
  topicPrefix: string;
  refresh?: string;
  plain?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("run broker, gateway and ~20 simulated nodes in one process, with a live view (npm start)")
    .option("-n, --nodes <n>", "number of simulated nodes", "20")
    .option("--kind <kind>", "climate | bike | both | mixed (2 climate, 1 bike, 1 both of every 4)", "mixed")
    .option("--speed <x>", 'simulated seconds per second (600: a day in 2.4 min), or "max"', "600")
    .option(
      "--duration <time>",
      'stop by itself after this much simulated time ("6h", "2d") or wall-clock seconds ("60")',
    )
    .option("--seed <n>", "seed of everything random: same seed, same fleet", "1")
    .option("--start <iso-date>", "start of simulated time", DEFAULT_START)
    .option("--forwarders <n>", "gateway sites (packet forwarders), all sending to this gateway", "1")
    .option("--loss <p>", "probability that a site misses a frame it could hear, 0..1", "0")
    .option("--port <n>", "port of the embedded broker (default 1883 if free, else a free one)")
    .option("--topic-prefix <prefix>", "first topic levels", "openherz")
    .option("--refresh <s>", "seconds between redraws (default 1 on a terminal, 5 otherwise)")
    .option("--plain", "print summary lines even on a terminal")
    .addHelpText("after", HELP)
    .action(async (options: DemoCliOptions) => {
      process.exit(await runDemo(options));
    });
}

async function runDemo(o: DemoCliOptions): Promise<number> {
  const sim = await import("../tools/sim/index.ts");
  const demoLib = await import("../tools/demo/index.ts");
  const kind = o.kind as (typeof sim.NODE_KINDS)[number];
  if (!sim.NODE_KINDS.includes(kind))
    throw new UsageError(`--kind must be one of ${sim.NODE_KINDS.join(", ")}`);
  let speed: ReturnType<typeof sim.parseSpeed>;
  let duration: ReturnType<typeof demoLib.parseDuration> | undefined;
  try {
    speed = sim.parseSpeed(o.speed);
    duration = o.duration === undefined ? undefined : demoLib.parseDuration(o.duration);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const startMs = Date.parse(o.start);
  if (!Number.isFinite(startMs)) throw new UsageError(`--start must be an ISO 8601 date, got ${o.start}`);
  const startS = Math.floor(startMs / 1000);
  const options = {
    nodes: int("--nodes", o.nodes, 1, 10_000),
    kind,
    seed: int("--seed", o.seed, 0, 0xffffffff),
    speed,
    startS,
    sites: int("--forwarders", o.forwarders, 1, 16),
    loss: num("--loss", o.loss, 0, 1),
    topicPrefix: o.topicPrefix,
    ...(process.env.MQTT_URL ? { mqttUrl: process.env.MQTT_URL } : {}),
    ...(o.port === undefined ? {} : { brokerPort: int("--port", o.port, 0, 65_535) }),
    ...(duration?.clock === "simulated" ? { untilMs: startS * 1000 + duration.ms } : {}),
  };
  const refreshMs = o.refresh === undefined ? undefined : num("--refresh", o.refresh, 0.1, 3600) * 1000;
  const say = (line: string) => process.stderr.write(`sensornet demo: ${line}\n`);

  // Signals from the start: a Ctrl-C during startup must still stop what was started and remove the temp dir.
  let demo: Awaited<ReturnType<typeof demoLib.startDemo>> | undefined;
  let signalled: NodeJS.Signals | undefined;
  let signalledAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled !== undefined) {
      // One Ctrl-C can arrive more than once: the terminal signals the whole process group, and npm and tsx
      // forward the signal to their child as well. Only a later one is a person pressing Ctrl-C again.
      if (performance.now() - signalledAt < SIGNAL_ECHO_MS) return;
      process.exit(130);
    }
    signalled = signal;
    signalledAt = performance.now();
    say(`${signal}: stopping (fleet → gateway → broker); Ctrl-C again to quit at once`);
    demo?.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    demo = await demoLib.startDemo(options);
  } catch (err) {
    say(`cannot start: ${(err as Error).message}`);
    return 1;
  }
  const view = new demoLib.LiveView({
    out: process.stdout,
    ...(o.plain ? { tty: false } : {}),
    ...(refreshMs === undefined ? {} : { intervalMs: refreshMs }),
    hints: { mosquittoSub: onPath("mosquitto_sub") },
    snapshot: () => demo!.snapshot(),
  });
  let wallTimer: NodeJS.Timeout | undefined;
  try {
    if (signalled !== undefined) demo.stop();
    await view.start();
    let timeUp = false;
    if (duration?.clock === "wall") {
      wallTimer = setTimeout(() => {
        timeUp = true;
        demo?.stop();
      }, duration.ms);
    }
    const outcome = await demo.run();
    await view.stop();
    if (outcome === "finished" || timeUp) say("duration reached; stopping (fleet → gateway → broker)");
  } finally {
    if (wallTimer !== undefined) clearTimeout(wallTimer);
    await demo.close();
  }
  say("stopped cleanly");
  return 0;
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((d) => d !== "" && existsSync(join(d, binary)));
}
