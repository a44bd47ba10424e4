// Parsers for numeric command-line option values: a bad value is the user's mistake (UsageError, exit 2).
import { UsageError } from "./usage-error.ts";

export function intOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${name} must be an integer ${min}..${max}, got ${text}`);
  return n;
}

export function numberOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`${name} must be a number ${min}..${max}, got ${text}`);
  return n;
}
