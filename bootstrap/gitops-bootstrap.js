#!/usr/bin/env node
// Bin shim. Runs the compiled CLI (dist/), so a command starts in milliseconds; the TypeScript
// sources when dist/ is missing or older than them (compiled.js says when and why).
"use strict";
const path = require("node:path");
const { loadCompiledOrSource } = require("./compiled");

const root = path.join(__dirname, "..");
loadCompiledOrSource(root, path.join(root, "dist", "bootstrap", "cli.js"), path.join(__dirname, "cli.ts")).run(root);
