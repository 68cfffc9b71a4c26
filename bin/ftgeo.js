#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled library (npm run build).
const path = require("node:path");
const fs = require("node:fs");
const main = path.join(__dirname, "..", "dist", "lib", "cli", "main.js");
if (!fs.existsSync(main)) {
  console.error(`ftgeo: ${main} not found; run \`npm run build\` first.`);
  process.exit(2);
}
require(main).main(process.argv.slice(2)).then(
  (code) => process.exit(code ?? 0),
  (err) => {
    console.error(`ftgeo: ${err && err.message ? err.message : err}`);
    if (process.env.FTGEO_DEBUG) console.error(err);
    process.exit(1);
  },
);
