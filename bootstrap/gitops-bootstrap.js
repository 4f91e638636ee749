#!/usr/bin/env node
// Bin shim: runs the TypeScript CLI through ts-node (transpile only), so the command works right
// after `npm ci` without a build step.
"use strict";
const path = require("node:path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("./cli").run();
