// The MQTT topic scheme (./README.md). Open data lives under `<prefix>/v1/observations` and
// `<prefix>/v1/devices`; everything about radios, batteries and gateways lives under `<prefix>/v1/operator`,
// so a broker ACL can publish the first two to the world and keep the operator tree private.

export const DEFAULT_TOPIC_PREFIX = "openherz";
export const TOPIC_VERSION = "v1";

export interface TopicScheme {
  readonly prefix: string;
  /** Open data: an uplink's observations of the datastream (or one observation per message), QoS 1, not retained. */
  observation(devEui: string, datastream: string): string;
  /** Open data: retained device metadata (location, sensors, units, licence). */
  device(devEui: string): string;
  /** Operator: retained latest node status (battery, flags, configuration acknowledgement). */
  nodeStatus(devEui: string): string;
  /** Operator: battery voltage reported in climate batches, QoS 1, not retained. */
  nodeBattery(devEui: string): string;
  /** Operator: radio metadata of each reception (RSSI, SNR, data rate, frequency, gateway, FCnt). */
  uplink(devEui: string): string;
  /** Operator: retained gateway status, "online" while connected, "offline" as Last Will. */
  gatewayStatus(gatewayId: string): string;
  /** Subscription filters for consumers. */
  readonly filters: {
    readonly observations: string;
    readonly devices: string;
    readonly operator: string;
  };
}

/**
 * Why a topic prefix is unusable, or undefined when it is fine. One or more levels separated by "/", no
 * empty level, no wildcard, no NUL, not starting with "$" (reserved for the broker).
 */
export function topicPrefixProblem(prefix: string): string | undefined {
  if (prefix.length === 0) return "must not be empty";
  if (prefix.startsWith("$")) return 'must not start with "$" (reserved for broker topics)';
  if (/[+#]/.test(prefix) || prefix.includes("\0")) return 'must not contain "+", "#" or NUL';
  if (prefix.split("/").some((level) => level.length === 0)) return "must not have empty levels";
  if (Buffer.byteLength(prefix) > 1024) return "is too long";
  return undefined;
}

/** Throws RangeError for an unusable prefix: it comes from the configuration, checked at startup. */
export function createTopics(prefix: string = DEFAULT_TOPIC_PREFIX): TopicScheme {
  const problem = topicPrefixProblem(prefix);
  if (problem !== undefined) throw new RangeError(`topic prefix "${prefix}" ${problem}`);
  const base = `${prefix}/${TOPIC_VERSION}`;
  return {
    prefix,
    observation: (devEui, datastream) =>
      `${base}/observations/${eui(devEui)}/${level(datastream, "datastream")}`,
    device: (devEui) => `${base}/devices/${eui(devEui)}`,
    nodeStatus: (devEui) => `${base}/operator/nodes/${eui(devEui)}/status`,
    nodeBattery: (devEui) => `${base}/operator/nodes/${eui(devEui)}/battery_voltage`,
    uplink: (devEui) => `${base}/operator/uplinks/${eui(devEui)}`,
    gatewayStatus: (gatewayId) => `${base}/operator/gateways/${level(gatewayId, "gateway id")}/status`,
    filters: {
      observations: `${base}/observations/#`,
      devices: `${base}/devices/+`,
      operator: `${base}/operator/#`,
    },
  };
}

export const DEFAULT_TOPICS: TopicScheme = createTopics();

/** DevEUIs appear upper-case everywhere, as the registry stores them. */
function eui(devEui: string): string {
  if (!/^[0-9A-Fa-f]{16}$/.test(devEui)) throw new RangeError(`not a DevEUI: "${devEui}"`);
  return devEui.toUpperCase();
}

function level(value: string, what: string): string {
  if (value.length === 0 || /[/+#]/.test(value) || value.includes("\0")) {
    throw new RangeError(`${what} "${value}" cannot be a topic level (empty, or contains / + # NUL)`);
  }
  return value;
}
