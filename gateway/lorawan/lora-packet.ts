// lora-packet's typings declare `export default`, but its CommonJS build assigns `module.exports`, so under
// NodeNext TypeScript types the default import as the module namespace while Node hands over the object
// itself. This one place reconciles the two; everything else imports `loraPacket` from here.
import * as loraPacketModule from "lora-packet";

type LoraPacketApi = typeof loraPacketModule.default.default;

const imported = loraPacketModule.default as unknown as LoraPacketApi & { default?: LoraPacketApi };

export const loraPacket: LoraPacketApi = imported.default ?? imported;

/** A parsed packet (lora-packet's LoraPacket class). */
export type LoraPacket = ReturnType<LoraPacketApi["fromWire"]>;
