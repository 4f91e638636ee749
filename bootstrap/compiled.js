// Compiled JavaScript or TypeScript sources: the one choice both entries make (the bin shim
// gitops-bootstrap.js and the Pulumi program pulumi-program.js). dist/ (built by `npm run build`,
// which `npm install` and `npm ci` run through `prepare`) when it is at least as new as every
// source file, so nothing compiles at start; the sources through ts-node when dist/ is missing
// or older than them (a developer's edit), saying so: slower, never stale.
// GITOPS_BOOTSTRAP_FROM_SOURCES=1 always takes the sources (contributors; the benchmarks' "before").
"use strict";
const fs = require("node:fs");
const path = require("node:path");

/**
 * Pure: which to run, from the facts. `compiledMtimeMs` is undefined when the compiled file is
 * missing; `note` says why the sources run, unless the user asked for them.
 */
function chooseEntry({ compiledMtimeMs, newestSourceMtimeMs, fromSources }) {
  if (fromSources) return { compiled: false };
  if (compiledMtimeMs === undefined) return { compiled: false, note: "no dist/" };
  if (compiledMtimeMs < newestSourceMtimeMs) return { compiled: false, note: "dist/ is older than them" };
  return { compiled: true };
}

/** Newest modification time (ms) of the .ts files under the source folders; 0 without any (an installed package). */
function newestSource(root) {
  let newest = 0;
  for (const dir of ["bootstrap", "components"]) {
    if (!fs.existsSync(path.join(root, dir))) continue;
    for (const entry of fs.readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith(".ts")) {
        newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
      }
    }
  }
  return newest;
}

/**
 * Loads `compiled` (a file under dist/) or, in its place, `source` (a .ts file) through ts-node,
 * writing to stderr why the sources run.
 */
function loadCompiledOrSource(root, compiled, source, env = process.env) {
  let compiledMtimeMs;
  try {
    compiledMtimeMs = fs.statSync(compiled).mtimeMs;
  } catch {
    compiledMtimeMs = undefined;
  }
  const fromSources = Boolean(env.GITOPS_BOOTSTRAP_FROM_SOURCES);
  const choice = chooseEntry({ compiledMtimeMs, newestSourceMtimeMs: fromSources ? 0 : newestSource(root), fromSources });
  if (choice.compiled) return require(compiled);
  if (choice.note) process.stderr.write(`note: running from the TypeScript sources (${choice.note}); \`npm run build\` makes every command start fast\n`);
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.build.json") });
  return require(source);
}

module.exports = { chooseEntry, loadCompiledOrSource };
