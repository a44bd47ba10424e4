/**
 * The demo's embedded MQTT broker: aedes on 127.0.0.1, so `npm start` needs nothing but `npm install`. It
 * takes the standard port 1883 when that is free (any MQTT tool finds it without options) and a free port
 * otherwise (a Mosquitto already running there, or a second demo); `portChoice` says which happened.
 */
import { createServer, type Server, type Socket } from "node:net";
import { Aedes } from "aedes";

export const STANDARD_MQTT_PORT = 1883;

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  /** "mqtt://127.0.0.1:1883" */
  readonly url: string;
  /** "standard": 1883; "free": 1883 was taken, so the system chose one; "requested": the caller's. */
  readonly portChoice: "standard" | "free" | "requested";
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  /** Default 127.0.0.1: the demo's broker is not for the network. */
  host?: string;
  /** A fixed port (0: any free one). Default: 1883 if free, else any free one. */
  port?: number;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? "127.0.0.1";
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    aedes.handle(socket);
  });
  let portChoice: EmbeddedBroker["portChoice"] = "requested";
  try {
    if (options.port !== undefined) await listen(server, options.port, host);
    else {
      try {
        await listen(server, STANDARD_MQTT_PORT, host);
        portChoice = "standard";
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
        await listen(server, 0, host);
        portChoice = "free";
      }
    }
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    url: `mqtt://${host}:${port}`,
    portChoice,
    close() {
      closed ??= (async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
      })();
      return closed;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}
