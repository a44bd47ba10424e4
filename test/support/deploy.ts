// The gateway as deployed, read from the systemd unit (deploy/openherz-gateway.service): the node flags and the
// script of its ExecStart, mapped from the install directory to this checkout. The unit is the one source of
// truth: the memory benchmark runs the gateway with exactly these flags, the deploy tests check them.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type GatewayLaunch, REPO_ROOT } from "./gateway.ts";

/** The systemd unit, relative to the checkout, and its absolute path. */
export const UNIT = "deploy/openherz-gateway.service";
export const UNIT_FILE = join(REPO_ROOT, UNIT);
/** Where INSTALL-raspberry-pi.md puts the checkout; ExecStart's paths start with it. */
export const INSTALL_DIR = "/opt/openherz/sensornet";
/** The production bundle (`npm run build`), relative to the checkout. */
export const BUNDLE = "dist/sensornet.mjs";

export interface ExecStart {
  /** The node binary, e.g. /usr/bin/node. */
  node: string;
  /** Options for node before the script, e.g. V8 heap limits. */
  nodeArgs: string[];
  /** The script as written in the unit (an absolute path under INSTALL_DIR). */
  script: string;
  /** Arguments after the script: the subcommand and its options. */
  args: string[];
}

/** The unit's text with continuation lines (ending in a backslash) joined. */
function readUnit(unitPath: string): string {
  if (!existsSync(unitPath)) throw new Error(`systemd unit ${unitPath} not found`);
  return readFileSync(unitPath, "utf8").replace(/\\\n/g, " ");
}

/**
 * The variables of the unit's Environment= lines (plain NAME=value assignments, several per line allowed).
 * Throws on quoting or specifiers, which this reader does not handle.
 */
export function readEnvironment(unitPath = UNIT_FILE): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readUnit(unitPath).split("\n")) {
    const m = /^\s*Environment\s*=\s*(.*)$/.exec(line);
    if (m === null) continue;
    const value = m[1]!.trim();
    if (/["'%\\]/.test(value)) {
      throw new Error(`${unitPath}: Environment= uses quoting or specifiers this reader does not handle`);
    }
    for (const assignment of value.split(/\s+/).filter(Boolean)) {
      const eq = assignment.indexOf("=");
      if (eq <= 0) throw new Error(`${unitPath}: Environment= entry without NAME=: ${assignment}`);
      env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

/** MemoryMax= of the unit in MiB (written as <n>M there). */
export function readMemoryMaxMb(unitPath = UNIT_FILE): number {
  const value = /^\s*MemoryMax\s*=\s*(\d+)M\s*$/m.exec(readUnit(unitPath))?.[1];
  if (value === undefined) throw new Error(`${unitPath}: no MemoryMax=<n>M line`);
  return Number(value);
}

/** ExecStart= of the unit, split into its parts. Throws if it is missing or not a plain `node … script …`. */
export function readExecStart(unitPath = UNIT_FILE): ExecStart {
  const lines = readUnit(unitPath)
    .split("\n")
    .filter((l) => /^\s*ExecStart\s*=/.test(l));
  if (lines.length !== 1) throw new Error(`${unitPath}: expected one ExecStart= line, found ${lines.length}`);
  const value = lines[0]!.replace(/^\s*ExecStart\s*=\s*/, "").trim();
  if (/["'$%]/.test(value) || /^[-@:+!]/.test(value)) {
    throw new Error(
      `${unitPath}: ExecStart uses quoting, specifiers or prefixes this reader does not handle`,
    );
  }
  const [node, ...rest] = value.split(/\s+/);
  const scriptAt = rest.findIndex((t) => !t.startsWith("-"));
  if (node === undefined || scriptAt < 0) throw new Error(`${unitPath}: ExecStart names no script: ${value}`);
  return {
    node,
    nodeArgs: rest.slice(0, scriptAt),
    script: rest[scriptAt]!,
    args: rest.slice(scriptAt + 1),
  };
}

/**
 * How the unit starts the gateway, for spawnGateway: its node flags, its Environment= and its script in this
 * checkout (EnvironmentFile= holds site secrets and is left out). Throws
 * unless the script is the bundle under INSTALL_DIR and the bundle has been built.
 */
export function deployedLaunch(unitPath = UNIT_FILE): Required<GatewayLaunch> {
  const exec = readExecStart(unitPath);
  if (exec.script !== `${INSTALL_DIR}/${BUNDLE}`) {
    throw new Error(`${unitPath}: ExecStart runs ${exec.script}, expected ${INSTALL_DIR}/${BUNDLE}`);
  }
  const entry = join(REPO_ROOT, BUNDLE);
  if (!existsSync(entry)) throw new Error(`${entry} not found: run npm run build`);
  return { entry, nodeArgs: exec.nodeArgs, env: readEnvironment(unitPath) };
}
