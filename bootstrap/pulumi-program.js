// The Pulumi program as `pulumi up` runs it (Pulumi.yaml `main`): the compiled program in dist/,
// so no update compiles TypeScript first; the sources (index.ts) through ts-node when dist/ is
// missing or older than them, or with GITOPS_BOOTSTRAP_FROM_SOURCES=1 (compiled.js).
"use strict";
const path = require("node:path");
const { loadCompiledOrSource } = require("./compiled");

const root = path.join(__dirname, "..");
module.exports = loadCompiledOrSource(root, path.join(root, "dist", "bootstrap", "index.js"), path.join(__dirname, "index.ts"));
