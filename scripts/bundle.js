// Production bundle of the `sensornet` command: cli/main.ts and everything it imports, compiled once with
// esbuild into dist/sensornet.mjs (plus one chunk per lazily loaded subcommand, next to it), so the deployed
// gateway runs plain JavaScript without tsx and loads only the code of the subcommand it runs. Part of
// `npm run build` (and so of `npm install` / `npm ci`). bin/sensornet.js (tsx, no build) stays the
// developer's entry. Usage: node scripts/bundle.js
import { chmodSync, existsSync, readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const OUT_DIR = resolve(ROOT, "dist");

/**
 * Packages that load native addons or find files relative to their own directory at runtime: resolved from
 * node_modules when the bundle runs, never copied into it.
 */
const EXTERNAL = [
  "better-sqlite3",
  "serialport",
  "@serialport/*",
  // cbor-x loads it with its own createRequire, if it is installed.
  "cbor-extract",
  // Optional native speed-ups of the MQTT WebSocket transport (`ws`); absent unless installed.
  "bufferutil",
  "utf-8-validate",
];

/** The entry: the Node.js version check of bin/sensornet.js, then the command line (cli/main.ts). */
const ENTRY = "sensornet-entry";
const entry = {
  name: "entry",
  setup(b) {
    b.onResolve({ filter: new RegExp(`^${ENTRY}$`) }, () => ({ path: ENTRY, namespace: ENTRY }));
    b.onLoad({ filter: /.*/, namespace: ENTRY }, () => ({
      contents: 'import "./scripts/check-node.js";\nimport "./cli/main.ts";\n',
      resolveDir: ROOT,
      loader: "js",
    }));
  },
};

/**
 * Our sources find files next to them with `new URL("../x", import.meta.url)`; in the bundle import.meta.url
 * is dist/…, so each such path is rewritten to be relative to dist/ (every chunk is written to dist/ itself).
 */
const importMetaUrlPaths = (outDir) => ({
  name: "import-meta-url-paths",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${"/"}node_modules${"/"}`)) return undefined;
      const source = readFileSync(args.path, "utf8");
      const warnings = [];
      const contents = source.replace(
        /new URL\((["'])(\.\.?\/[^"']+)\1,\s*import\.meta\.url\)/g,
        (_match, _quote, rel) => {
          const target = resolve(dirname(args.path), rel);
          if (!existsSync(target)) {
            warnings.push({ text: `${relative(ROOT, target)} (from ${rel}) does not exist at build time` });
          }
          let fromOut = relative(outDir, target);
          if (!fromOut.startsWith(".")) fromOut = `./${fromOut}`;
          return `new URL(${JSON.stringify(fromOut)}, import.meta.url)`;
        },
      );
      return { contents, loader: "ts", warnings };
    });
  },
});

/**
 * Node's built-in modules through require() instead of ESM import. An ESM import of a built-in reads every
 * export once (the ESM facade), which runs the lazy getters: `import … from "node:http"` alone loads undici
 * for http.WebSocket, about 6 MB of heap and 4 MB of binary pages the gateway never uses. require() leaves
 * them lazy. (Bundled CommonJS packages already require() built-ins.)
 */
const BUILTIN = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/.]/g, "\\$&")).join("|")})$`);

const builtinsViaRequire = {
  name: "builtins-via-require",
  setup(b) {
    b.onResolve({ filter: BUILTIN }, (args) =>
      args.namespace === "builtin-require"
        ? { path: args.path, external: true }
        : { path: args.path, namespace: "builtin-require" },
    );
    b.onLoad({ filter: /.*/, namespace: "builtin-require" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

/**
 * Writes the bundle to `outDir` (emptied first; default dist/). Another directory must be inside the
 * checkout too, so that the external packages resolve from its node_modules.
 */
export async function bundle({ outDir = OUT_DIR, quiet = false } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { sensornet: ENTRY },
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    // Subcommands are imported lazily (cli/main.ts); as chunks, the gateway never parses the simulator,
    // the demo's broker or the flashing tool. Chunks sit next to sensornet.mjs (see importMetaUrlPaths).
    splitting: true,
    chunkNames: "[name]-[hash]",
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    external: EXTERNAL,
    plugins: [entry, importMetaUrlPaths(outDir), builtinsViaRequire],
    // Smaller sources parse faster and take less heap (V8 keeps each script's source). Identifiers keep
    // their names, so stack traces stay readable without esbuild's keepNames, which calls
    // Object.defineProperty on every function and class it creates at run time (mqtt.js creates several per
    // packet: 1-2 % of the gateway's CPU at full load).
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "linked",
    // Bundled CommonJS packages call require() for Node's built-ins; ESM has no require, so provide one.
    // The hashbang makes dist/sensornet.mjs runnable as a command; harmless in the chunks.
    banner: {
      js: '#!/usr/bin/env node\nimport { createRequire as __sensornetCreateRequire } from "node:module"; const require = __sensornetCreateRequire(import.meta.url);',
    },
    logLevel: quiet ? "error" : "warning",
    metafile: true,
  });
  chmodSync(resolve(outDir, "sensornet.mjs"), 0o755);
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await bundle();
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".mjs"));
  const total = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
  console.log(
    `bundle: ${relative(ROOT, OUT_DIR)}/sensornet.mjs and ${outputs.length - 1} chunks, ${(total / 1024).toFixed(0)} KiB`,
  );
}
