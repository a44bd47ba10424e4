// `sensornet gateway --config <file>` as a process: the config file, signals and exit codes around the
// in-process gateway of ./gateway.ts.
import { type Gateway, startGateway } from "./gateway.ts";
import { loadConfig } from "./ops/config.ts";
import { EX_FAILURE, startupError } from "./startup-error.ts";

/**
 * The process: load the config, start, wait for SIGTERM or SIGINT, stop, and return the exit code (0 after
 * a clean stop, 78 for a config error, 1 for any other startup failure). Startup errors are one clear message
 * on stderr, with a stack trace only for unexpected ones.
 */
export async function runGateway(configPath: string): Promise<number> {
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  let gateway: Gateway;
  try {
    gateway = await startGateway(loadConfig(configPath));
  } catch (err) {
    const error = startupError(err);
    process.stderr.write(`sensornet gateway: ${error.message}\n`);
    if (!error.operatorError && error.cause instanceof Error) process.stderr.write(`${error.cause.stack}\n`);
    return error.exitCode;
  }
  const signal = await signalled;
  // A second signal while stopping (Ctrl-C twice): stop waiting. The journal is safe either way.
  const force = () => process.exit(EX_FAILURE);
  process.once("SIGTERM", force);
  process.once("SIGINT", force);
  await gateway.stop(signal);
  return 0;
}
