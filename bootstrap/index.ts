// The Pulumi program (Pulumi.yaml `main: bootstrap/pulumi-program.js` loads it, compiled or not).
// Thin: all logic lives in program.ts.
import * as path from "node:path";
import { bootstrap, rawConfigFromPulumi } from "./program";

// The project folder (Pulumi.yaml, stacks/): above bootstrap/, or above dist/bootstrap/ once compiled.
const above = path.resolve(__dirname, "..");
const projectDir = path.basename(above) === "dist" ? path.dirname(above) : above;

export = async () => bootstrap(rawConfigFromPulumi(projectDir));
