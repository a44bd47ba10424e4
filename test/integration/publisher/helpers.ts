// Helpers for the publisher tests: an in-memory message source with the journal's take/ack/release semantics,
// a TCP proxy that can cut the publisher's connection like a flaky backhaul, and waits on publisher events.
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import type { OutgoingMessage } from "../../../gateway/journal/journal.ts";
import type { MessageSource, SourceMessage } from "../../../gateway/publisher/index.ts";
import type { MqttPublisher, PublisherState } from "../../../gateway/publisher/publisher.ts";
import { freePort } from "../../support/mqtt-broker.ts";

/**
 * Messages in memory, handed out like the Journal does: oldest first per deviceKey, at most `perGroup` per
 * group per take, groups round-robin; release() puts messages back before newer ones of their group.
 */
export class MemorySource implements MessageSource {
  private seq = 0;
  private readonly groups = new Map<string, SourceMessage[]>();
  private ring: string[] = [];
  private cursor = 0;
  readonly inflight = new Map<number, SourceMessage>();
  /** seqs in the order they were acked. */
  readonly acked: number[] = [];
  readonly released: number[] = [];
  takes = 0;

  append(messages: Array<Omit<OutgoingMessage, "id"> & { id?: string }>): SourceMessage[] {
    const out: SourceMessage[] = [];
    for (const m of messages) {
      const seq = ++this.seq;
      const msg: SourceMessage = { ...m, id: m.id ?? `msg-${seq}`, seq };
      this.enqueue(msg);
      out.push(msg);
    }
    return out;
  }

  take(limit: number, perGroup: number): SourceMessage[] {
    this.takes++;
    const out: SourceMessage[] = [];
    const n = this.ring.length;
    let resumeAt = -1;
    for (let k = 0; k < n && out.length < limit; k++) {
      const idx = (this.cursor + k) % n;
      const queue = this.groups.get(this.ring[idx]!)!;
      const m = Math.min(queue.length, perGroup, limit - out.length);
      for (const msg of queue.splice(0, m)) {
        this.inflight.set(msg.seq, msg);
        out.push(msg);
      }
      if (m > 0) resumeAt = (idx + 1) % n;
    }
    if (resumeAt >= 0) this.cursor = resumeAt;
    this.compact();
    return out.sort((a, b) => a.seq - b.seq);
  }

  ack(seqs: number[]): void {
    for (const seq of seqs) {
      if (this.inflight.delete(seq)) this.acked.push(seq);
    }
  }

  release(seqs: number[]): void {
    for (const seq of seqs) {
      const msg = this.inflight.get(seq);
      if (msg === undefined) continue;
      this.inflight.delete(seq);
      this.released.push(seq);
      this.enqueue(msg);
    }
  }

  /** Waiting plus in flight. */
  get depth(): number {
    let n = this.inflight.size;
    for (const q of this.groups.values()) n += q.length;
    return n;
  }

  private enqueue(msg: SourceMessage): void {
    let queue = this.groups.get(msg.deviceKey);
    if (queue === undefined) {
      queue = [];
      this.groups.set(msg.deviceKey, queue);
    }
    if (!this.ring.includes(msg.deviceKey)) this.ring.push(msg.deviceKey);
    let i = queue.length;
    while (i > 0 && queue[i - 1]!.seq > msg.seq) i--;
    queue.splice(i, 0, msg);
  }

  private compact(): void {
    const keep = this.ring.filter((key) => (this.groups.get(key)?.length ?? 0) > 0);
    if (keep.length !== this.ring.length) {
      const current = this.ring[this.cursor % Math.max(1, this.ring.length)];
      this.ring = keep;
      const at = current === undefined ? -1 : keep.indexOf(current);
      this.cursor = Math.max(at, 0);
    }
  }
}

/** n messages for one device on `topicBase/<deviceKey>`, payload = JSON {device, n}. */
export function messagesFor(
  deviceKey: string,
  n: number,
  topicBase = "test/data",
  from = 0,
): Array<Omit<OutgoingMessage, "id">> {
  return Array.from({ length: n }, (_, i) => ({
    topic: `${topicBase}/${deviceKey}`,
    payload: JSON.stringify({ device: deviceKey, n: from + i }),
    retain: false,
    qos: 1 as const,
    deviceKey,
  }));
}

/**
 * Resolves once `pred(state)` holds, re-checked on every publisher event and every 20 ms (publishing itself
 * emits nothing); rejects after `timeoutMs`.
 */
export function waitForState(
  publisher: MqttPublisher,
  pred: (s: PublisherState) => boolean,
  timeoutMs = 10_000,
  label = "publisher state",
): Promise<PublisherState> {
  const events = ["connect", "disconnect", "retry", "fallback", "ack", "announced", "subscribed"] as const;
  return new Promise((resolve, reject) => {
    const check = () => {
      const s = publisher.state();
      if (!pred(s)) return;
      done();
      resolve(s);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${label} not reached within ${timeoutMs} ms: ${JSON.stringify(publisher.state())}`));
    }, timeoutMs);
    const poll = setInterval(check, 20);
    const done = () => {
      clearTimeout(timer);
      clearInterval(poll);
      for (const e of events) publisher.off(e, check);
    };
    for (const e of events) publisher.on(e, check);
    check();
  });
}

/** A TCP proxy in front of the broker: cut() drops every connection without a goodbye, like a dead backhaul. */
export interface Proxy {
  readonly port: number;
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  cut(): void;
  /** cut() and refuse new connections (accept, then reset) until unblock(). */
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  const port = await freePort();
  const pairs = new Set<[Socket, Socket]>();
  let accepted = 0;
  let blocked = false;
  const server: Server = createServer((client) => {
    accepted++;
    if (blocked) {
      client.resetAndDestroy();
      return;
    }
    const upstream = tcpConnect(targetPort, "127.0.0.1");
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  const cut = () => {
    for (const [a, b] of pairs) {
      // RST rather than FIN on both sides: the broker sees a lost connection and publishes the Will.
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    pairs.clear();
  };
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    cut,
    block() {
      blocked = true;
      cut();
    },
    unblock() {
      blocked = false;
    },
    close() {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Per device, the `n` values in first-arrival order, with duplicates (re-sends) removed. */
export function firstArrivals(payloads: string[]): Map<string, number[]> {
  const seen = new Set<string>();
  const out = new Map<string, number[]>();
  for (const p of payloads) {
    if (seen.has(p)) continue;
    seen.add(p);
    const { device, n } = JSON.parse(p) as { device: string; n: number };
    const list = out.get(device) ?? [];
    list.push(n);
    out.set(device, list);
  }
  return out;
}
