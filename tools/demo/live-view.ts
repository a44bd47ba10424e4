/**
 * Drives the terminal for the demo. On a TTY the whole screen (view.ts renderScreen) is redrawn in place
 * about once a second with ANSI cursor movement; otherwise (a pipe, a log file, a test) the fixed facts are
 * printed once, then a summary line at each interval and the node table now and then, and everything again
 * at the end.
 */
import type { Writable } from "node:stream";
import {
  type DemoSnapshot,
  introLines,
  nodeTable,
  plainSummary,
  renderScreen,
  type SubscribeHints,
} from "./view.ts";

const ESC = "\x1b[";
const HOME = `${ESC}H`;
const CLEAR_SCREEN = `${ESC}2J`;
const CLEAR_LINE_END = `${ESC}K`;
const CLEAR_BELOW = `${ESC}J`;
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;

export interface LiveViewOptions {
  out: Writable & { columns?: number; rows?: number; isTTY?: boolean };
  /** Redraw in place (a terminal) or print lines. Default: out.isTTY. */
  tty?: boolean;
  /** Between redraws (TTY) or summary lines (plain), ms. Default 1000 on a TTY, 5000 otherwise. */
  intervalMs?: number;
  /** Plain mode: print the node table every this many ms. Default 30 000. */
  tableIntervalMs?: number;
  hints: SubscribeHints;
  snapshot: () => Promise<DemoSnapshot>;
}

export class LiveView {
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly tableIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private drawing: Promise<void> | undefined;
  private lastTableMs = 0;
  private readonly onResize = () => this.write(CLEAR_SCREEN);

  constructor(private readonly options: LiveViewOptions) {
    this.tty = options.tty ?? options.out.isTTY === true;
    this.intervalMs = options.intervalMs ?? (this.tty ? 1000 : 5000);
    this.tableIntervalMs = options.tableIntervalMs ?? 30_000;
    // A closed pipe (`sensornet demo | head`) must not crash the demo.
    options.out.on("error", () => {});
  }

  async start(): Promise<void> {
    if (this.tty) {
      this.write(HIDE_CURSOR + CLEAR_SCREEN);
      this.options.out.on("resize", this.onResize);
    } else {
      const s = await this.options.snapshot();
      this.lines(introLines(s, this.options.hints).map((l) => `sensornet demo: ${l}`));
      this.lastTableMs = s.wallMs;
    }
    this.timer = setInterval(() => void this.draw(false), this.intervalMs);
  }

  /** Stops the refresh and draws the final state (plain: summary and node table). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.drawing;
    await this.draw(true);
    if (this.tty) {
      this.options.out.off("resize", this.onResize);
      this.write(SHOW_CURSOR);
    }
  }

  private draw(final: boolean): Promise<void> {
    if (this.drawing !== undefined) return this.drawing;
    this.drawing = this.options
      .snapshot()
      .then((s) => this.render(s, final))
      .catch(() => {}) // a snapshot taken while the parts stop may fail; the next one will do
      .finally(() => {
        this.drawing = undefined;
      });
    return this.drawing;
  }

  private render(s: DemoSnapshot, final: boolean): void {
    const out = this.options.out;
    if (this.tty) {
      const lines = renderScreen(s, this.options.hints, {
        columns: out.columns ?? 120,
        rows: out.rows ?? 40,
      });
      this.write(
        `${HOME}${lines.join(`${CLEAR_LINE_END}\n`)}${CLEAR_LINE_END}${CLEAR_BELOW}${final ? "\n" : ""}`,
      );
      return;
    }
    this.lines([plainSummary(s)]);
    if (final || s.wallMs - this.lastTableMs >= this.tableIntervalMs) {
      this.lastTableMs = s.wallMs;
      this.lines(nodeTable(s.nodes).map((l) => `  ${l}`));
    }
  }

  private lines(lines: string[]): void {
    this.write(`${lines.join("\n")}\n`);
  }

  private write(text: string): void {
    this.options.out.write(text);
  }
}
