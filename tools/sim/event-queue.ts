/**
 * The simulator's pending events: a binary min-heap ordered by virtual time, then by insertion order, so
 * that events due at the same instant run in the order they were scheduled (first in, first out).
 */

export interface QueuedEvent {
  /** Virtual time, ms. */
  readonly atMs: number;
  /** Insertion number: the tie-breaker. */
  readonly seq: number;
  readonly run: () => void | Promise<void>;
  cancelled: boolean;
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

export class EventQueue {
  private readonly heap: QueuedEvent[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(atMs: number, run: () => void | Promise<void>): QueuedEvent {
    const event: QueuedEvent = { atMs, seq: this.nextSeq++, run, cancelled: false };
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(event, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = event;
    return event;
  }

  /** The earliest event that is not cancelled, without removing it. */
  peek(): QueuedEvent | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  /** Removes and returns the earliest event that is not cancelled. */
  shift(): QueuedEvent | undefined {
    for (;;) {
      const event = this.pop();
      if (event === undefined || !event.cancelled) return event;
    }
  }

  clear(): void {
    this.heap.length = 0;
  }

  private pop(): QueuedEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
