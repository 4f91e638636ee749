#!/usr/bin/env node
// Runs `gitops-bootstrap restore|drill` exactly as the CLI does (same flags, same Ctrl-C
// handling, same exit codes), as a separate process so the tests can send it a real SIGINT. The
// only difference: where the Pulumi Kubernetes provider cannot be had, `pulumi up` / `destroy`
// are replaced by the stand-in in stand-in-engine.ts (set GITOPS_BOOTSTRAP_E2E_ENGINE=pulumi
// to use the real engine).
"use strict";
const path = require("node:path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "..", "tsconfig.json") });
const { parseFlags } = require("../../bootstrap/cli");
const { DRILL_SWITCHES, RECOVERY_FLAGS, runRecoveryCommand, openPulumiEngine } = require("../../bootstrap/drill/command");
const { openStandInEngine } = require("./stand-in-engine");

const [command, ...args] = process.argv.slice(2);
const flags = parseFlags(args, RECOVERY_FLAGS, DRILL_SWITCHES);
const engine = process.env.GITOPS_BOOTSTRAP_E2E_ENGINE === "pulumi" ? openPulumiEngine : openStandInEngine;
const io = { stderr: (s) => process.stderr.write(s), env: process.env, projectDir: path.resolve(__dirname, "..", "..") };
runRecoveryCommand(command, flags, io, engine).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`✗ ${e && e.message}\n`); process.exitCode = 2; },
);
