/**
 * Provisioning of a simulated fleet, as a technician's tool would do it for real nodes: the gateway's
 * device registry entries (devices.json, gateway/lorawan/README.md) and each node's configuration, the
 * FPort 10 CBOR map (shared/PAYLOAD.md) written through the module's downlink path at first boot.
 */
import { type DeviceInput, type RegistryFile, validateRegistry } from "../../gateway/lorawan/registry.ts";
import { saveRegistry } from "../../gateway/lorawan/registry-file.ts";
import { encodeConfig } from "../../shared/payload/index.ts";
import type { FleetSpec, NodeKind, NodeSpec } from "./fleet-spec.ts";

const SENSORS: Record<NodeKind, DeviceInput["sensors"]> = {
  climate: ["climate"],
  bike: ["bike"],
  both: ["climate", "bike"],
};

/** The registry entry of one node: ABP session, name, location, sensors. */
export function registryEntry(node: NodeSpec): DeviceInput {
  const { devEui, devAddr, nwkSKey, appSKey } = node.session;
  return {
    devEui: devEui.toUpperCase(),
    devAddr: devAddr.toUpperCase(),
    nwkSKey: nwkSKey.toUpperCase(),
    appSKey: appSKey.toUpperCase(),
    name: node.name,
    location: {
      lat: node.location.lat,
      lon: node.location.lon,
      heightM: node.location.heightM,
      description: `simulated ${node.kind} node`,
    },
    sensors: SENSORS[node.kind],
    licence: "CC-BY-4.0",
    ...(node.kind === "climate" ? {} : { directionAB: "A→B (simulated)" }),
  };
}

/** The whole devices.json for the fleet, validated against the gateway's schema. */
export function registryFile(fleet: Pick<FleetSpec, "nodes">): RegistryFile {
  return validateRegistry({ version: 1, devices: fleet.nodes.map(registryEntry) }, "simulated fleet");
}

/** Writes devices.json atomically with mode 0600 (the gateway refuses a registry others can read). */
export async function writeRegistry(path: string, fleet: Pick<FleetSpec, "nodes">): Promise<void> {
  await saveRegistry(path, registryFile(fleet));
}

/** The node's provisioning configuration, FPort 10 CBOR. */
export function provisioningConfig(node: NodeSpec): Uint8Array {
  return encodeConfig(node.config);
}
