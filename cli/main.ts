// `sensornet`: one command-line program, one subcommand per job. Each subcommand module is a thin
// layer over a library and is loaded only when used, so the technician's tools do not load the
// gateway's dependencies and vice versa.
import { Command, CommanderError } from "commander";
import { UsageError } from "./usage-error.ts";

const program = new Command("sensornet")
  .description("OpenHerz Sensornet: LoRaWAN climate and bicycle-count nodes, gateway and tools")
  .version(process.env.npm_package_version ?? "0.1.0")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

const { registerDecode } = await import("./decode.ts");
registerDecode(program);
const { registerDemo } = await import("./demo.ts");
registerDemo(program);
const { registerDevices } = await import("./devices.ts");
registerDevices(program);
const { registerFlash } = await import("./flash.ts");
registerFlash(program);
const { registerGateway } = await import("./gateway.ts");
registerGateway(program);
const { registerSim } = await import("./sim.ts");
registerSim(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has already printed its message; help and --version exit 0, usage mistakes exit 2.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof UsageError) {
    console.error(`sensornet: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
