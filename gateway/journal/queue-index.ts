/**
 * In-memory index of the committed, undelivered messages of the journal: which ones `take()` hands out next,
 * which are in flight, and which ones a bound drops first. It holds numbers only (seq, size, time); payloads
 * stay in SQLite, so a 100,000-message backlog costs a few MB of heap. No I/O.
 *
 * Two orders are kept:
 * - a global queue in seq (= append) order, from which the drop-oldest policy removes;
 * - per ordering group (deviceKey) a queue of READY messages in seq order, visited round-robin by `take()`
 *   so one device's backlog cannot starve the others.
 */

export const READY = 0;
export const IN_FLIGHT = 1;
export const GONE = 2;
export type MessageState = typeof READY | typeof IN_FLIGHT | typeof GONE;

export interface IndexedMessage {
  readonly seq: number;
  readonly group: Group;
  readonly bytes: number;
  /** Creation time on the journal's age clock (monotonic in production), not necessarily wall time. */
  readonly bornMs: number;
  state: MessageState;
}

interface Group {
  readonly key: string;
  /** READY messages in seq order; the live part starts at `head`. */
  ready: IndexedMessage[];
  head: number;
  inFlight: number;
  /** Whether the group is in the round-robin ring (it is whenever it may have READY messages). */
  inRing: boolean;
}

/** Slack before dead slots at the front of an array are reclaimed; keeps compaction amortised O(1). */
const COMPACT_MIN = 1024;

export class QueueIndex {
  /** Live messages (READY + IN_FLIGHT) and the sum of their sizes. */
  count = 0;
  bytes = 0;

  private readonly groups = new Map<string, Group>();
  private ring: Group[] = [];
  private cursor = 0;
  private queue: IndexedMessage[] = [];
  private queueHead = 0;
  private goneInQueue = 0;
  private readonly inFlight = new Map<number, IndexedMessage>();

  /** Adds a committed message; seqs must be added in increasing order. */
  add(seq: number, deviceKey: string, bytes: number, bornMs: number): void {
    let group = this.groups.get(deviceKey);
    if (group === undefined) {
      group = { key: deviceKey, ready: [], head: 0, inFlight: 0, inRing: false };
      this.groups.set(deviceKey, group);
    }
    const msg: IndexedMessage = { seq, group, bytes, bornMs, state: READY };
    this.queue.push(msg);
    group.ready.push(msg);
    this.enterRing(group);
    this.count++;
    this.bytes += bytes;
  }

  /**
   * Marks up to `limit` READY messages IN_FLIGHT and returns them in seq order. Groups are visited
   * round-robin from where the previous take stopped, each giving at most `perGroup` of its oldest.
   */
  take(limit: number, perGroup: number): IndexedMessage[] {
    const out: IndexedMessage[] = [];
    const n = this.ring.length;
    if (limit <= 0 || perGroup <= 0 || n === 0) return out;
    let leftRing = false;
    let resumeAt = -1;
    for (let k = 0; k < n && out.length < limit; k++) {
      const idx = (this.cursor + k) % n;
      const group = this.ring[idx]!;
      const available = group.ready.length - group.head;
      if (available > 0) {
        const m = Math.min(available, perGroup, limit - out.length);
        for (let j = 0; j < m; j++) {
          const msg = group.ready[group.head++]!;
          msg.state = IN_FLIGHT;
          this.inFlight.set(msg.seq, msg);
          out.push(msg);
        }
        group.inFlight += m;
        resumeAt = (idx + 1) % n;
        compactGroup(group);
      }
      if (group.ready.length === group.head) {
        group.inRing = false;
        leftRing = true;
      }
    }
    if (resumeAt >= 0) this.cursor = resumeAt;
    if (leftRing) this.compactRing();
    out.sort((a, b) => a.seq - b.seq);
    return out;
  }

  /** Removes IN_FLIGHT messages (delivered); returns the seqs that were in flight. Unknown seqs are ignored. */
  ack(seqs: readonly number[]): number[] {
    const removed: number[] = [];
    for (const seq of seqs) {
      const msg = this.inFlight.get(seq);
      if (msg === undefined) continue;
      this.inFlight.delete(seq);
      msg.group.inFlight--;
      this.remove(msg);
      removed.push(seq);
    }
    this.compactQueue();
    return removed;
  }

  /** Returns IN_FLIGHT messages to their groups, back in seq order. Unknown seqs are ignored. */
  release(seqs: readonly number[]): void {
    const byGroup = new Map<Group, IndexedMessage[]>();
    for (const seq of seqs) {
      const msg = this.inFlight.get(seq);
      if (msg === undefined) continue;
      this.inFlight.delete(seq);
      msg.state = READY;
      msg.group.inFlight--;
      const list = byGroup.get(msg.group);
      if (list === undefined) byGroup.set(msg.group, [msg]);
      else list.push(msg);
    }
    for (const [group, back] of byGroup) {
      back.sort((a, b) => a.seq - b.seq);
      group.ready = mergeBySeq(back, group.ready, group.head);
      group.head = 0;
      this.enterRing(group);
    }
  }

  /**
   * Drop-oldest: removes READY messages from the old end of the global queue while `shouldDrop` says so,
   * and returns their seqs. IN_FLIGHT messages are skipped (their PUBACK is probably on its way).
   */
  dropOldest(shouldDrop: (msg: IndexedMessage) => boolean): number[] {
    const dropped: number[] = [];
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const msg = this.queue[i]!;
      if (msg.state !== READY) continue;
      if (!shouldDrop(msg)) break;
      const group = msg.group;
      // The oldest READY message overall is the head of its group's READY queue (both are in seq order).
      if (group.ready[group.head] !== msg) throw new Error(`journal index out of order at seq ${msg.seq}`);
      group.head++;
      compactGroup(group);
      this.remove(msg);
      dropped.push(msg.seq);
    }
    this.compactQueue();
    return dropped;
  }

  /** Creation time of the oldest live message (READY or IN_FLIGHT). */
  oldestBornMs(): number | undefined {
    return this.queue[this.queueHead]?.bornMs;
  }

  inFlightCount(): number {
    return this.inFlight.size;
  }

  private remove(msg: IndexedMessage): void {
    msg.state = GONE;
    this.count--;
    this.bytes -= msg.bytes;
    const group = msg.group;
    if (group.inFlight === 0 && group.ready.length === group.head && this.groups.get(group.key) === group) {
      this.groups.delete(group.key);
    }
    this.goneInQueue++;
  }

  /** Advances past removed messages and reclaims dead slots; never called while iterating the queue. */
  private compactQueue(): void {
    while (this.queueHead < this.queue.length && this.queue[this.queueHead]!.state === GONE) {
      this.queueHead++;
      this.goneInQueue--;
    }
    if (this.queueHead > COMPACT_MIN && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    // Acks of fresh messages leave holes behind an old backlog; reclaim them once they dominate.
    if (this.goneInQueue > COMPACT_MIN && this.goneInQueue * 2 > this.queue.length - this.queueHead) {
      this.queue = this.queue.slice(this.queueHead).filter((m) => m.state !== GONE);
      this.queueHead = 0;
      this.goneInQueue = 0;
    }
  }

  private enterRing(group: Group): void {
    if (group.inRing) return;
    group.inRing = true;
    this.ring.push(group);
  }

  private compactRing(): void {
    // Keep the cursor on the same group, or on the next surviving one after it.
    let cursor = 0;
    const kept: Group[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      const group = this.ring[i]!;
      if (!group.inRing) continue;
      if (i < this.cursor) cursor++;
      kept.push(group);
    }
    this.ring = kept;
    this.cursor = kept.length === 0 ? 0 : cursor % kept.length;
  }
}

function compactGroup(group: Group): void {
  if (group.head === group.ready.length) {
    group.ready = [];
    group.head = 0;
  } else if (group.head > COMPACT_MIN && group.head * 2 > group.ready.length) {
    group.ready = group.ready.slice(group.head);
    group.head = 0;
  }
}

function mergeBySeq(a: IndexedMessage[], b: IndexedMessage[], bStart: number): IndexedMessage[] {
  const out: IndexedMessage[] = [];
  let i = 0;
  let j = bStart;
  while (i < a.length && j < b.length) {
    if (a[i]!.seq <= b[j]!.seq) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
