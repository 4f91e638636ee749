// The Pulumi program (Pulumi.yaml `main: bootstrap/`). Thin: all logic lives in program.ts.
import * as path from "node:path";
import { bootstrap, rawConfigFromPulumi } from "./program";

export = async () => bootstrap(rawConfigFromPulumi(path.resolve(__dirname, "..")));
