/**
 * A benchmark section: one area of the project (firmware, airtime, later gateway and sim) measured by one
 * function. Sections return flat metrics ("firmware.wasm_bytes": 12345) for the JSON file and readable
 * lines for the console; run.ts composes them.
 */

export type Metric = number | string | boolean;

export interface BenchSection {
  /** Flat keys, each starting with the section's name. */
  metrics: Record<string, Metric>;
  /** Preformatted report lines, printed under the section's heading. */
  report: string[];
  /** Things a reader must know, e.g. a part that was skipped and why. */
  notes: string[];
}

export interface BenchContext {
  /** Running under CI=true: missing tools are errors, not notes. */
  ci: boolean;
  /** Progress messages on stderr. */
  log: (message: string) => void;
}

export type Bench = (ctx: BenchContext) => Promise<BenchSection>;

/** Right-aligned fixed-width columns. */
export function formatTable(header: string[], rows: Array<Array<string | number>>): string[] {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  return cells.map((r) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("  "),
  );
}

export function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
