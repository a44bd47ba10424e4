/**
 * Faults a test can inject into a running fleet. Frame faults apply to the node's next `frames` uplinks
 * (default 1); the others act once.
 *
 * - drop: no site hears the frame (its FCnt is used: the gateway sees a gap).
 * - duplicate: every site that hears the frame forwards it twice.
 * - corrupt: one bit of the frame's FPort, FRMPayload or MIC is flipped after the radio, with a CRC that still
 *   reports "ok" (as with `stat: 1` from a forwarder that trusts a bad CRC): the gateway's MIC check must
 *   catch it.
 * - replay: an earlier frame of the node (by FCnt; default its first) is sent again now, with fresh radio
 *   metadata, through the sites that heard it then (or all sites): the gateway must reject it as a replay.
 * - reboot: the node's module restarts with its saved state (or without: `keepState: false`) and `cause`.
 * - restart-forwarder: a site's packet forwarder closes its socket and opens a new one (new source port).
 *
 * An accelerated clock can run ahead of the forwarders (they wait for PUSH_ACKs); replay and
 * restart-forwarder first wait until every frame sent so far is settled, so they fall between receptions
 * as they would in real time.
 */

export type Fault =
  | { kind: "drop"; node: string; frames?: number }
  | { kind: "duplicate"; node: string; frames?: number }
  | { kind: "corrupt"; node: string; frames?: number }
  | { kind: "replay"; node: string; fcnt?: number; sites?: number[] }
  | { kind: "reboot"; node: string; cause?: number; keepState?: boolean }
  | { kind: "restart-forwarder"; site: string | number };

export type FrameFaultKind = "drop" | "duplicate" | "corrupt";

/** Pending frame faults of one node. */
export class FrameFaults {
  private readonly pending = new Map<string, Record<FrameFaultKind, number>>();

  add(node: string, kind: FrameFaultKind, frames: number): void {
    let entry = this.pending.get(node);
    if (entry === undefined) {
      entry = { drop: 0, duplicate: 0, corrupt: 0 };
      this.pending.set(node, entry);
    }
    entry[kind] += frames;
  }

  /** The faults for the node's frame going on air now (each consumes one of its count). */
  take(node: string): FrameFaultKind[] {
    const entry = this.pending.get(node);
    if (entry === undefined) return [];
    const out: FrameFaultKind[] = [];
    for (const kind of ["drop", "duplicate", "corrupt"] as const) {
      if (entry[kind] > 0) {
        entry[kind]--;
        out.push(kind);
      }
    }
    return out;
  }
}

/**
 * A copy of `phy` with one bit flipped after the frame header (MHDR, DevAddr, FCtrl, FCnt), so the frame
 * still parses and names its device, but its MIC no longer matches. `pick(n)` is an integer in [0, n).
 */
export function corruptFrame(phy: Uint8Array, pick: (n: number) => number): Uint8Array {
  const out = phy.slice();
  const first = Math.min(8, out.length - 1);
  const index = first + pick(out.length - first);
  out[index]! ^= 1 << pick(8);
  return out;
}
