/**
 * Child process of kill9.test.ts: a steady stream of appends, like the radio input under load, plus a
 * publisher that takes, "publishes" and acks. It reports on stdout, one line per event:
 *   ack <id> <devEui> <fcnt32>   after the append promise resolved (the moment a PUSH_ACK would go out)
 *   pub <id>                     before ack(): the message counts as delivered from here on
 * Lines go out with writeSync on fd 1, never through process.stdout: that stream queues in user space when
 * the pipe is full, and SIGKILL then loses lines whose effect (a committed delete) is already on disk.
 * Usage: append-child.ts <journal path> <devices> <in-flight appends>
 */
import { writeSync } from "node:fs";
import { Journal } from "../../../gateway/journal/journal.ts";

const [path, devicesArg = "8", windowArg = "200"] = process.argv.slice(2);
if (path === undefined) throw new Error("usage: append-child.ts <journal path> [devices] [window]");
const devices = Array.from(
  { length: Number(devicesArg) },
  (_, i) => `00000000000000${i.toString(16).padStart(2, "0")}`,
);

const journal = Journal.open({
  path,
  maxMessages: 10_000_000,
  maxBytes: 1_000_000_000,
  maxAgeS: 365 * 24 * 3600,
  commitIntervalMs: 2,
  commitMaxEntries: 64,
});

let turn = 0;

/** Returns only when the whole text is in the pipe. The pipe is non-blocking: a full one is retried. */
function report(text: string): void {
  const bytes = Buffer.from(text);
  for (let off = 0; off < bytes.length; ) {
    try {
      off += writeSync(1, bytes, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
    }
  }
}

function appendOne(): void {
  const devEui = devices[turn++ % devices.length]!;
  const fcnt32 = (journal.lastFcnt(devEui) ?? -1) + 1;
  const id = `${devEui}-${fcnt32}`;
  const payload = JSON.stringify({
    id,
    result: { temperature: 21.5, humidity: 48.25 },
    phenomenonTime: Date.now(),
  });
  journal
    .append({
      devEui,
      fcnt32,
      messages: [{ id, topic: `sensornet/obs/${devEui}`, payload, retain: false, qos: 1, deviceKey: devEui }],
    })
    .then(
      () => {
        report(`ack ${id} ${devEui} ${fcnt32}\n`);
        // The next frame arrives as an I/O event, as on the radio socket, not inside this promise chain.
        setImmediate(appendOne);
      },
      (err: unknown) => {
        process.stderr.write(`append failed: ${String(err)}\n`);
        process.exit(2);
      },
    );
}

const failedOnce = new Set<number>();

/** "Publishes" what it takes; every fifth message fails once and is released, as on a lost connection. */
function publishSome(): void {
  const taken = journal.take(256, 64);
  const failing = taken.filter((m) => m.seq % 5 === 0 && !failedOnce.has(m.seq));
  for (const m of failing) failedOnce.add(m.seq);
  const delivered = taken.filter((m) => !failing.includes(m));
  if (delivered.length > 0) report(delivered.map((m) => `pub ${m.id}\n`).join(""));
  journal.ack(delivered.map((m) => m.seq));
  journal.release(failing.map((m) => m.seq));
  setImmediate(publishSome);
}

for (let i = 0; i < Number(windowArg); i++) appendOne();
publishSome();
