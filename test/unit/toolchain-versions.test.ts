/**
 * The charts the e2e installs (test/e2e/toolchain/versions.sh, fetched by `build.sh charts`) are
 * the product's default pins: what `pulumi up` gives a user is what the e2e tested.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { ARGOCD, EXTERNAL_SECRETS, FLUX, SEALED_SECRETS } from "../../components/defaults";

const BUILD_SH = path.join(__dirname, "..", "e2e", "toolchain", "build.sh");

/** `build.sh --print-charts` (reads versions.sh only; nothing is built or fetched). */
function e2eCharts(env: NodeJS.ProcessEnv = {}): Map<string, string> {
  const out = execFileSync("bash", [BUILD_SH, "--print-charts"], { encoding: "utf8", env: { ...process.env, ...env, GITOPS_BOOTSTRAP_CACHE: "/nonexistent-cache" } });
  return new Map(
    out
      .trim()
      .split("\n")
      .map((line) => {
        const [chart, file] = line.split(" ");
        return [chart, path.basename(file)] as [string, string];
      }),
  );
}

test.each([
  ["argo-cd", ARGOCD],
  ["flux2", FLUX],
  ["sealed-secrets", SEALED_SECRETS],
  ["external-secrets", EXTERNAL_SECRETS],
])("the e2e installs the %s chart at the product's default version and from its chart repository's name", (chart, pin) => {
  expect(pin.chart).toBe(chart);
  expect(e2eCharts().get(chart)).toBe(`${chart}-${pin.chartVersion}.tgz`);
});

test("the comparison sees a changed e2e pin (versions.sh values are overridable from the environment)", () => {
  expect(e2eCharts({ ARGO_CD_CHART_VERSION: "9.9.9" }).get("argo-cd")).toBe("argo-cd-9.9.9.tgz");
});
