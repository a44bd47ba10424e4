/**
 * Causal order of one node's frames across all packet forwarders. On air, a node's frames are seconds
 * apart, so every gateway receives frame k before frame k+1 whichever site heard them. An accelerated fleet
 * compresses those seconds to microseconds, and frame k+1 heard only by an idle site could overtake frame
 * k queued behind a busy one; the gateway would then reject k as a replay of an older counter. So a
 * forwarder sends a reception only once every earlier frame of the same node has been settled at every
 * site (acknowledged, timed out or dropped).
 */

interface Pending {
  key: number;
  /** Receptions of this frame not settled yet. */
  open: number;
}

export interface OrderTicket {
  node: string;
  key: number;
}

export class FrameOrder {
  private readonly byNode = new Map<string, Pending[]>();
  private readonly listeners = new Set<() => void>();

  /** Registers a frame of `node` with `receptions` copies about to be queued; keys increase per node. */
  add(node: string, key: number, receptions: number): OrderTicket {
    const ticket = { node, key };
    if (receptions <= 0) return ticket;
    let list = this.byNode.get(node);
    if (list === undefined) {
      list = [];
      this.byNode.set(node, list);
    }
    list.push({ key, open: receptions });
    return ticket;
  }

  /** Whether every earlier frame of the ticket's node is settled. */
  ready(ticket: OrderTicket): boolean {
    const first = this.byNode.get(ticket.node)?.[0];
    return first === undefined || first.key >= ticket.key;
  }

  /** One reception of the ticket's frame is settled. */
  settle(ticket: OrderTicket): void {
    const list = this.byNode.get(ticket.node);
    const entry = list?.find((p) => p.key === ticket.key);
    if (list === undefined || entry === undefined) return;
    entry.open--;
    let released = false;
    while (list.length > 0 && list[0]!.open <= 0) {
      list.shift();
      released = true;
    }
    if (list.length === 0) this.byNode.delete(ticket.node);
    if (released) for (const l of this.listeners) l();
  }

  /** Called whenever a frame is fully settled (forwarders re-check their queues). */
  onRelease(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
