// Fails early with a clear message on a Node.js older than the project supports.
const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  console.error(
    `openherz-sensornet needs Node.js >= 22 (found ${process.versions.node}). ` +
      "Node 20 reached end of life in April 2026; see README.md, 'Requirements'.",
  );
  process.exit(1);
}
