// Secrets in the gateway config: any string field may be written as {"env": "NAME"} or {"file": "/path"}.
// Secret files and TLS private keys must not be readable by group or others — the same rule the device
// registry applies to its session keys. Messages name the file and the field, never the secret.
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { shellQuote } from "../lorawan/registry-file.ts";

/** `{"env": "MQTT_PASSWORD"}` or `{"file": "/etc/openherz/mqtt-password"}`. */
export type SecretRef = { env: string } | { file: string };

/** A field problem: dotted path ("mqtt.password") and message. */
export interface FieldIssue {
  path: string;
  message: string;
}

export function isSecretRef(value: unknown): value is SecretRef {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === "env" || keys[0] === "file");
}

/** Looks like an attempt at a secret reference ({env, file}, {env: 5}, …) but is not a valid one. */
function isBrokenSecretRef(value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k === "env" || k === "file");
}

/**
 * Replaces every secret reference in a parsed JSON tree by its value. Returns a new tree; problems are
 * collected, and the field is then left out so that the schema does not report it a second time.
 */
export function resolveSecretRefs(
  tree: unknown,
  env: Readonly<Record<string, string | undefined>>,
  baseDir: string,
): { value: unknown; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const walk = (node: unknown, path: string): unknown => {
    if (Array.isArray(node)) return node.map((item, i) => walk(item, `${path}[${i}]`));
    if (node === null || typeof node !== "object") return node;
    if (isSecretRef(node) || isBrokenSecretRef(node)) {
      const result = resolveSecretRef(node, env, baseDir);
      if (typeof result === "string") return result;
      issues.push({ path, message: result.problem });
      return undefined;
    }
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] = walk(value, path === "" ? key : `${path}.${key}`);
    }
    return out;
  };
  return { value: walk(tree, ""), issues };
}

function resolveSecretRef(
  ref: object,
  env: Readonly<Record<string, string | undefined>>,
  baseDir: string,
): string | { problem: string } {
  if (!isSecretRef(ref)) {
    return { problem: 'expected {"env": "NAME"} or {"file": "/path"}, not both' };
  }
  if ("env" in ref) {
    if (typeof ref.env !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref.env)) {
      return { problem: '{"env": …} needs the name of an environment variable, e.g. "MQTT_PASSWORD"' };
    }
    const value = env[ref.env];
    if (value === undefined) return { problem: `environment variable ${ref.env} is not set` };
    if (value === "") return { problem: `environment variable ${ref.env} is empty` };
    return value;
  }
  if (typeof ref.file !== "string" || ref.file === "") {
    return { problem: '{"file": …} needs a file path, e.g. "/etc/openherz/mqtt-password"' };
  }
  const result = readSecretFile(resolvePath(baseDir, ref.file));
  if (typeof result !== "string") return result;
  const value = result.replace(/\r?\n$/, "");
  if (value === "") return { problem: `secret file ${ref.file} is empty` };
  return value;
}

/** Relative paths in the config are relative to the config file's directory. */
export function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** Why a file holding a secret may not be used, or undefined when it is fine (mode checked on the fd). */
export function secretFileProblem(path: string): string | undefined {
  const result = openPrivate(path, false);
  return typeof result === "string" ? undefined : result.problem;
}

/** Reads a secret file after checking that only its owner can read it. */
export function readSecretFile(path: string): string | { problem: string } {
  return openPrivate(path, true);
}

function openPrivate(path: string, read: boolean): string | { problem: string } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    return { problem: `cannot read ${path}: ${errnoText(err)}` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { problem: `${path} is not a regular file` };
    if (process.platform !== "win32" && (stat.mode & 0o044) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
      return {
        problem:
          `${path} is readable by group or others (mode ${mode}) and holds a secret; ` +
          `fix with: chmod 600 ${shellQuote(path)}`,
      };
    }
    return read ? readFileSync(fd, "utf8") : "";
  } catch (err) {
    return { problem: `cannot read ${path}: ${errnoText(err)}` };
  } finally {
    closeSync(fd);
  }
}

export function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return code ?? String((err as Error).message ?? err);
}
