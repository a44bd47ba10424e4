// The preamble of test files that share one broker: started before the file's first test, disposed after
// its last, and cleanups registered by a test run after it, last added first. Call at the top of the file.
import { afterAll, afterEach, beforeAll } from "vitest";
import { type BrokerOptions, startBroker, type TestBroker } from "./mqtt-broker.ts";

export interface FileBroker {
  /** The file's broker; there from beforeAll on. */
  readonly broker: TestBroker;
  /** Run after each test, last added first. */
  readonly cleanups: Array<() => unknown>;
}

export function useFileBroker(options?: BrokerOptions): FileBroker {
  let broker: TestBroker | undefined;
  const cleanups: Array<() => unknown> = [];
  beforeAll(async () => {
    broker = await startBroker(options);
  });
  afterAll(async () => {
    await broker?.dispose();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    get broker(): TestBroker {
      if (broker === undefined)
        throw new Error("the file's broker is not started yet: use it in a test or hook");
      return broker;
    },
    cleanups,
  };
}
