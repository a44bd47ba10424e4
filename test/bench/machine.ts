/** Where the benchmark ran, so that figures from different machines are not compared blindly. */
import { spawnSync } from "node:child_process";
import { cpus, platform, release, totalmem } from "node:os";
import { REPO } from "../conformance/hosts.ts";
import type { Metric } from "./section.ts";

export function machineInfo(): Record<string, Metric> {
  const git = (args: string[]) =>
    spawnSync("git", args, { cwd: REPO, encoding: "utf8" }).stdout?.trim() ?? "";
  const cpu = cpus();
  return {
    "machine.cpu_model": cpu[0]?.model.trim() ?? "unknown",
    "machine.cpu_count": cpu.length,
    "machine.memory_mb": Math.round(totalmem() / 2 ** 20),
    "machine.platform": `${platform()} ${release()}`,
    "machine.node_version": process.version,
    "machine.git_commit": git(["rev-parse", "--short", "HEAD"]) || "unknown",
    "machine.git_dirty": git(["status", "--porcelain"]).length > 0,
    "machine.date": new Date().toISOString(),
  };
}
