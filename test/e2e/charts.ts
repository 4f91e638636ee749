/**
 * The upstream Helm charts the e2e installs through the product (argo-cd, flux2, sealed-secrets, external-secrets),
 * cached by `bash test/e2e/toolchain/build.sh charts` at the product's default versions.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ARGOCD, EXTERNAL_SECRETS, FLUX, SEALED_SECRETS } from "../../components/defaults";

const BUILD_SH = path.join(__dirname, "toolchain", "build.sh");

/** Where a scratch project finds the charts: its stack files name `test/e2e/charts/<chart>.tgz`. */
export const CHARTS_IN_PROJECT = path.join("test", "e2e", "charts");

let files: Map<string, string> | undefined;

/** The cached archive of a chart, at the version versions.sh names. Throws, saying how to get it, when missing. */
export function chartFile(chart: string): string {
  files ??= new Map(
    execFileSync("bash", [BUILD_SH, "--print-charts"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((line) => line.split(" ") as [string, string]),
  );
  const file = files.get(chart);
  if (!file) throw new Error(`build.sh --print-charts names no chart "${chart}"`);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: fetch the charts with \`bash test/e2e/toolchain/build.sh charts\` (GITOPS_BOOTSTRAP_CHART_MIRROR=<folder of .tgz files> where Helm repositories are out of reach)`);
  }
  return file;
}

/** Copies the cached charts into a scratch project as `test/e2e/charts/<chart>.tgz`, where its stack files point. */
export function putChartsInto(projectDir: string): void {
  const dir = path.join(projectDir, CHARTS_IN_PROJECT);
  fs.mkdirSync(dir, { recursive: true });
  for (const chart of [ARGOCD.chart, FLUX.chart, SEALED_SECRETS.chart, EXTERNAL_SECRETS.chart]) fs.copyFileSync(chartFile(chart), path.join(dir, `${chart}.tgz`));
}

/** The Helm release whose chart renders a reconciler's CRDs (the product's release names). */
const CRD_RELEASE = {
  "argo-cd": { name: ARGOCD.releaseName, namespace: ARGOCD.namespace },
  flux: { name: FLUX.releaseName, namespace: FLUX.namespace },
} as const;

/**
 * Marks CRDs (`kubectl apply -o name` output) as the product's Helm release's. The charts render
 * their CRDs as templates, so Helm refuses to install over CRDs it does not own; the sandbox
 * installs them early (controllers started before `up` exit without them). Marked, the release
 * takes them over and applies the chart's own versions, as on a fresh cluster it creates them.
 */
export function markForRelease(
  kubectl: (args: string[]) => unknown,
  names: readonly string[],
  reconciler: keyof typeof CRD_RELEASE,
  release: { name: string; namespace: string } = CRD_RELEASE[reconciler],
): void {
  if (!names.length) return;
  kubectl(["label", "--overwrite", ...names, "app.kubernetes.io/managed-by=Helm"]);
  kubectl(["annotate", "--overwrite", ...names, `meta.helm.sh/release-name=${release.name}`, `meta.helm.sh/release-namespace=${release.namespace}`]);
}
