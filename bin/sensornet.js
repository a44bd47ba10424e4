#!/usr/bin/env node
// Launcher for the `sensornet` command: TypeScript sources run through tsx, no build step.
import "../scripts/check-node.js";
import { register } from "tsx/esm/api";

register();
await import("../cli/main.ts");
