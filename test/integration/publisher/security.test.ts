// TLS with a CA and client certificates, and username/password, against a real Mosquitto. Certificates are
// made with the openssl CLI in a temp dir (EC P-256, fast); the password file with mosquitto_passwd.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MqttPublisher, type PublisherOptions } from "../../../gateway/publisher/index.ts";
import { clientOptions, resolveOptions } from "../../../gateway/publisher/options.ts";
import {
  type Collector,
  collect,
  mosquittoAvailable,
  opensslAvailable,
  startBroker,
  type TestBroker,
} from "../../support/mqtt-broker.ts";
import { MemorySource, messagesFor, waitForState } from "./helpers.ts";

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function publisher(
  source: MemorySource,
  options: Partial<PublisherOptions> & { url: string },
): MqttPublisher {
  const p = new MqttPublisher(source, {
    clientId: `gw-sec-${Math.random().toString(16).slice(2, 10)}`,
    gatewayId: "gw-sec",
    backoff: { initialMs: 50, maxMs: 200 },
    stopTimeoutMs: 1000,
    ...options,
  });
  cleanup.push(() => p.stop(500));
  return p;
}

async function collector(
  url: string,
  filter: string,
  options: Parameters<typeof collect>[2],
): Promise<Collector> {
  const c = await collect(url, filter, options);
  cleanup.push(() => c.close());
  return c;
}

function tlsAvailable(): boolean {
  if (!mosquittoAvailable()) return false;
  if (opensslAvailable()) return true;
  if (process.env.CI === "true") throw new Error("openssl is required in CI");
  console.warn("openssl not found: skipping TLS tests");
  return false;
}

function passwdAvailable(): boolean {
  if (!mosquittoAvailable()) return false;
  if (spawnSync("mosquitto_passwd", ["-h"], { stdio: "ignore" }).error === undefined) return true;
  if (process.env.CI === "true")
    throw new Error("mosquitto_passwd is required in CI (apt-get install mosquitto)");
  console.warn("mosquitto_passwd not found: skipping password tests");
  return false;
}

/** CA, server certificate for localhost/127.0.0.1, client certificate, and an unrelated second CA. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  for (const ca of ["ca", "wrong-ca"]) {
    openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.crt`,
      "-days",
      "2",
      "-subj",
      `/CN=OpenHerz test ${ca}`,
    );
  }
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), `${ext}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n`);
    openssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    );
  };
  leaf("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth");
  leaf("client", "gw-sec", "extendedKeyUsage=clientAuth");
}

describe.runIf(tlsAvailable())("TLS", () => {
  let dir: string;
  let broker: TestBroker;
  const file = (name: string) => join(dir, name);
  const clientTls = () => ({ ca: file("ca.crt"), cert: file("client.crt"), key: file("client.key") });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "openherz-tls-"));
    makeCertificates(dir);
    broker = await startBroker({
      scheme: "mqtts",
      listener: [
        `cafile ${file("ca.crt")}`,
        `certfile ${file("server.crt")}`,
        `keyfile ${file("server.key")}`,
        "require_certificate true",
      ],
    });
  });
  afterAll(async () => {
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const collectTls = () => {
    const t = clientTls();
    return collector(broker.url, "tls/#", {
      ca: readFileSync(t.ca),
      cert: readFileSync(t.cert),
      key: readFileSync(t.key),
      rejectUnauthorized: true,
    });
  };

  it("connects with the CA and a client certificate, and delivers", async () => {
    const c = await collectTls();
    const source = new MemorySource();
    source.append(messagesFor("dev-a", 5, "tls"));
    const p = publisher(source, {
      url: broker.url,
      tls: { caFile: file("ca.crt"), certFile: file("client.crt"), keyFile: file("client.key") },
    });
    p.start();
    await waitForState(p, (s) => s.acked === 5);
    expect(p.state()).toMatchObject({ connected: true, protocolVersion: 5, connectFailures: 0 });
    await c.waitFor((ms) => ms.length === 5);
  });

  it("refuses a broker whose certificate a wrong CA did not sign (verification is on), and keeps retrying", async () => {
    const source = new MemorySource();
    source.append(messagesFor("dev-a", 1, "tls"));
    const p = publisher(source, {
      url: broker.url,
      tls: { caFile: file("wrong-ca.crt"), certFile: file("client.crt"), keyFile: file("client.key") },
    });
    p.start();
    await waitForState(p, (s) => s.connectFailures >= 3, 10_000, "three refused attempts");
    expect(p.state()).toMatchObject({ connected: false, connects: 0, acked: 0, running: true });
    expect(p.state().lastError).toMatch(/certificate/i);
  });

  it("is refused by a broker that requires a client certificate when it has none", async () => {
    const p = publisher(new MemorySource(), { url: broker.url, tls: { caFile: file("ca.crt") } });
    p.start();
    await waitForState(p, (s) => s.connectFailures >= 2, 10_000, "two refused attempts");
    expect(p.state()).toMatchObject({ connected: false, connects: 0 });
  });

  it("retries (rather than crashing) while a certificate file is missing", async () => {
    const p = publisher(new MemorySource(), { url: broker.url, tls: { caFile: file("missing-ca.crt") } });
    p.start();
    await waitForState(p, (s) => s.connectFailures >= 2, 5000, "two failed attempts");
    expect(p.state().lastError).toMatch(/ENOENT/);
  });

  it("always verifies: rejectUnauthorized is true and cannot be configured away", () => {
    const o: PublisherOptions = {
      url: broker.url,
      clientId: "x",
      gatewayId: "g",
      tls: { caFile: file("ca.crt") },
    };
    const opts = clientOptions(o, resolveOptions(o), 5, { topic: "t", payload: "p" });
    expect(opts.rejectUnauthorized).toBe(true);
    const sneaky = { ...o, rejectUnauthorized: false } as PublisherOptions;
    expect(
      clientOptions(sneaky, resolveOptions(sneaky), 5, { topic: "t", payload: "p" }).rejectUnauthorized,
    ).toBe(true);
    expect(() => resolveOptions({ ...o, url: "mqtt://127.0.0.1:1883" })).toThrow(/not mqtts/);
  });
});

describe.runIf(passwdAvailable())("username and password", () => {
  let dir: string;
  let broker: TestBroker;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "openherz-passwd-"));
    const passwd = join(dir, "passwd");
    execFileSync("mosquitto_passwd", ["-c", "-b", passwd, "gateway", "s3cret"], { stdio: "pipe" });
    execFileSync("mosquitto_passwd", ["-b", passwd, "reader", "r3ad"], { stdio: "pipe" });
    broker = await startBroker({ allowAnonymous: false, config: [`password_file ${passwd}`] });
  });
  afterAll(async () => {
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("connects with the right credentials", async () => {
    const c = await collector(broker.url, "auth/#", { username: "reader", password: "r3ad" });
    const source = new MemorySource();
    source.append(messagesFor("dev-a", 3, "auth"));
    const p = publisher(source, { url: broker.url, username: "gateway", password: "s3cret" });
    p.start();
    await waitForState(p, (s) => s.acked === 3);
    await c.waitFor((ms) => ms.length === 3);
  });

  it("is refused with a wrong password, keeps retrying, and never logs the password", async () => {
    const lines: string[] = [];
    const log = (o: object, m?: string) => lines.push(`${m ?? ""} ${JSON.stringify(o)}`);
    const p = publisher(new MemorySource(), {
      url: broker.url,
      username: "gateway",
      password: "wrong-pw",
      logger: { debug: log, info: log, warn: log, error: log },
    });
    p.start();
    await waitForState(p, (s) => s.connectFailures >= 3, 10_000, "three refused attempts");
    expect(p.state()).toMatchObject({ connected: false, connects: 0, running: true });
    expect(p.state().lastError).toMatch(/not authori[sz]ed|bad user name or password/i);
    expect(lines.join("\n")).not.toContain("wrong-pw");
  });
});
