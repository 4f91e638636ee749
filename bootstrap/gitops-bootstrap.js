#!/usr/bin/env node
// Bin shim. Runs the compiled CLI (dist/, built by `npm run build`, which `npm install` and
// `npm ci` run through `prepare`), so a command starts in milliseconds. When dist/ is missing or
// older than the TypeScript sources (a developer's edit), it runs the sources through ts-node
// instead, and says so: slower, never stale.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const compiled = path.join(root, "dist", "bootstrap", "cli.js");

/** Newest modification time (ms) of the .ts files under the source folders. */
function newestSource() {
  let newest = 0;
  for (const dir of ["bootstrap", "components"]) {
    // An installed package ships dist/ without the sources.
    if (!fs.existsSync(path.join(root, dir))) continue;
    for (const entry of fs.readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith(".ts")) {
        newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
      }
    }
  }
  return newest;
}

function compiledIsCurrent() {
  try {
    return fs.statSync(compiled).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

// GITOPS_BOOTSTRAP_FROM_SOURCES=1 forces the sources (the start-up benchmark's "before").
if (!process.env.GITOPS_BOOTSTRAP_FROM_SOURCES && compiledIsCurrent()) {
  require(compiled).run(root);
} else {
  if (!process.env.GITOPS_BOOTSTRAP_FROM_SOURCES) process.stderr.write(`note: running from the TypeScript sources (${fs.existsSync(compiled) ? "dist/ is older than them" : "no dist/"}); \`npm run build\` makes every command start fast\n`);
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.build.json") });
  require("./cli.ts").run(root);
}
