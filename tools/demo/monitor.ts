/**
 * The live view's eyes: an MQTT client subscribed to everything the gateway publishes, as any consumer would
 * be, feeding a LiveState. What the view shows has therefore really gone through the broker.
 */
import mqtt, { type MqttClient } from "mqtt";
import { LiveState } from "./live-state.ts";

export interface Monitor {
  readonly state: LiveState;
  readonly connected: () => boolean;
  close(): Promise<void>;
}

export async function startMonitor(
  url: string,
  topicPrefix: string,
  credentials: { username?: string; password?: string } = {},
  timeoutMs = 10_000,
): Promise<Monitor> {
  const state = new LiveState(topicPrefix);
  const client: MqttClient = mqtt.connect(url, {
    clientId: `openherz-demo-view-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    reconnectPeriod: 1000,
    connectTimeout: timeoutMs,
    ...credentials,
  });
  client.on("message", (topic, payload) => state.handle(topic, payload.toString()));
  // mqtt.js reconnects on its own (and re-subscribes: resubscribe is on by default).
  client.on("error", () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`cannot connect to the MQTT broker at ${url} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await client.subscribeAsync(state.filter, { qos: 0 });
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }
  return {
    state,
    connected: () => client.connected,
    close: () => client.endAsync(true),
  };
}
