// The observations in what a subscriber received, whichever the gateway's grouping: a batch (one message per
// uplink and datastream, the default) or one envelope per message (gateway/observations/README.md).
import { expandObservations, type ObservationEnvelope } from "../../gateway/observations/index.ts";

interface Message {
  topic: string;
  payload: string;
}

/** The observations of one message; throws when it is neither a batch nor an envelope. */
export function observationsIn(message: Message): ObservationEnvelope[] {
  const list = expandObservations(JSON.parse(message.payload));
  if (list === undefined) {
    throw new Error(`not an observation message on ${message.topic}: ${message.payload.slice(0, 200)}`);
  }
  return list;
}

/**
 * Every observation of the messages on `topic` (a topic, or a test on it), in arrival order; empty payloads
 * (cleared retained messages) are skipped.
 */
export function observationsOn(
  messages: readonly Message[],
  topic: string | ((topic: string) => boolean),
): ObservationEnvelope[] {
  const match = typeof topic === "string" ? (t: string) => t === topic : topic;
  return messages.filter((m) => match(m.topic) && m.payload !== "").flatMap(observationsIn);
}
