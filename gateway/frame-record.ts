// What the journal stores of a frame instead of its rendered messages: the inputs they are built from, as a
// few hundred bytes of JSON instead of ~7 KB of envelopes. The gateway keeps the rendered messages in memory;
// after a restart (or beyond the journal's memory cache) they are rendered again from this record, byte for
// byte the same: the record carries everything the envelopes depend on, including the device's metadata and
// the topic prefix and grouping in force when the frame arrived.
import { type DecodedUplink, decodeUplink } from "../shared/payload/index.ts";
import type { OutgoingMessage } from "./journal/journal.ts";
import {
  buildObservationMessages,
  buildRadioMetadataMessage,
  createTopics,
  type DeviceInfo,
  type ObservationGrouping,
  type ObservationTimes,
  type TopicScheme,
} from "./observations/index.ts";
import type { RadioFrame } from "./types.ts";

export const FRAME_RECORD_VERSION = 1;

export interface FrameRecord {
  v: typeof FRAME_RECORD_VERSION;
  devEui: string;
  devAddr: string;
  fcnt32: number;
  fport: number;
  /** The decrypted FRMPayload in hex; absent for a second reception, which only adds radio metadata. */
  payload?: string;
  /** The registry's metadata of the device when the frame arrived; with `payload`. */
  device?: DeviceInfo;
  times: ObservationTimes;
  /**
   * The reception whose radio metadata is published. Without phyPayload (nothing renders from it) and
   * receivedAtMs: the metadata shows the resolved reception time, `times.resultTimeMs`.
   */
  reception: Omit<RadioFrame, "phyPayload" | "receivedAtMs">;
  topicPrefix: string;
  grouping: ObservationGrouping;
}

/**
 * The frame's messages: its observations (none if the payload does not decode) and the radio metadata.
 * `decoded` saves decoding the payload again when the caller has just done so (undefined: it did not
 * decode); null, the default, decodes it here.
 */
export function renderFrame(
  record: FrameRecord,
  topics: TopicScheme = topicsFor(record.topicPrefix),
  decoded: DecodedUplink | undefined | null = null,
): OutgoingMessage[] {
  const { devEui, devAddr, fcnt32, fport } = record;
  const uplink = { devEui, fcnt32, fport };
  const observations =
    record.payload === undefined || record.device === undefined
      ? undefined
      : decoded === null
        ? decodeOrUndefined(fport, record.payload)
        : decoded;
  const frame: RadioFrame = {
    ...record.reception,
    phyPayload: EMPTY,
    receivedAtMs: record.times.resultTimeMs,
  };
  return [
    ...(observations === undefined
      ? []
      : buildObservationMessages(uplink, observations, record.device!, record.times, {
          topics,
          grouping: record.grouping,
        })),
    buildRadioMetadataMessage({ ...uplink, devAddr, frame }, topics),
  ];
}

/** The journal's `render`: a stored record's messages again. Throws on a record this version cannot read. */
export function renderStoredFrame(text: string): OutgoingMessage[] {
  const record = JSON.parse(text) as FrameRecord;
  if (record?.v !== FRAME_RECORD_VERSION) {
    throw new Error(`frame record version ${String(record?.v)}, this gateway reads ${FRAME_RECORD_VERSION}`);
  }
  return renderFrame(record);
}

const EMPTY = new Uint8Array(0);
/** Topic schemes by prefix: a restart renders thousands of records with the same one. */
const topicsByPrefix = new Map<string, TopicScheme>();

function topicsFor(prefix: string): TopicScheme {
  let topics = topicsByPrefix.get(prefix);
  if (topics === undefined) {
    topics = createTopics(prefix);
    topicsByPrefix.set(prefix, topics);
  }
  return topics;
}

function decodeOrUndefined(fport: number, payloadHex: string): DecodedUplink | undefined {
  try {
    return decodeUplink(fport, Buffer.from(payloadHex, "hex"));
  } catch {
    return undefined;
  }
}
