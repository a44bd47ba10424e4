// `sensornet gateway`: run the gateway daemon, check its config, or print the annotated config template. A
// thin layer over gateway/main.ts (the process around gateway/gateway.ts) and gateway/ops/config.ts, loaded
// only when this subcommand runs, so the other subcommands never load MQTT, SQLite or serialport.
import type { Command } from "commander";
import { UsageError } from "./usage-error.ts";

export const DEFAULT_CONFIG_PATH = "/etc/openherz/gateway.json";

const HELP = `
Receives LoRaWAN uplinks from Semtech UDP packet forwarders and serial LoRa modems, checks and decrypts them
(device registry), journals the observations durably in SQLite and publishes them to the MQTT broker.
Runs until SIGTERM or SIGINT; exit status 0 after a clean stop, 78 for a config error, 1 for any other
startup failure. Logs are JSON lines on stdout. Operator's guide: gateway/README.md.

Config file: --config <file>, else $SENSORNET_GATEWAY_CONFIG, else ${DEFAULT_CONFIG_PATH}.

Examples:
  sensornet gateway --print-config-template | grep -v '^#' > gateway.json
  sensornet gateway --check-config --config gateway.json
  sensornet gateway --config /etc/openherz/gateway.json`;

interface GatewayOptions {
  config?: string;
  checkConfig?: boolean;
  printConfigTemplate?: boolean;
}

export function configPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return option ?? (env.SENSORNET_GATEWAY_CONFIG || DEFAULT_CONFIG_PATH);
}

export function registerGateway(program: Command): void {
  program
    .command("gateway")
    .description("run the gateway: packet forwarders and serial modems → LoRaWAN → journal → MQTT")
    .option("-c, --config <file>", "gateway config file (JSON)")
    .option(
      "--check-config",
      "check the config and the files it names (registry, TLS files, journal directory); " +
        'print each problem or "config OK" and exit (status 0 or 1)',
    )
    .option(
      "--print-config-template",
      "print every config field with its default and meaning, then a template",
    )
    .addHelpText("after", HELP)
    .action(async (options: GatewayOptions) => {
      if (options.checkConfig && options.printConfigTemplate) {
        throw new UsageError("use either --check-config or --print-config-template");
      }
      if (options.printConfigTemplate) {
        const { configTemplate } = await import("../gateway/ops/config.ts");
        process.stdout.write(configTemplate());
        return;
      }
      const path = configPath(options.config);
      if (options.checkConfig) {
        const { checkConfig } = await import("../gateway/ops/config.ts");
        const problems = checkConfig(path);
        if (problems.length === 0) {
          process.stdout.write(`${path}: config OK\n`);
          return;
        }
        const n = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
        process.stderr.write(`${path}: ${n}:\n${problems.map((p) => `  ${p}\n`).join("")}`);
        process.exit(1);
      }
      const { runGateway } = await import("../gateway/main.ts");
      process.exit(await runGateway(path));
    });
}
