import * as path from "node:path";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** A chart's source and version as the readers return them. */
export interface ChartSettings {
  readonly chartRepo: string;
  readonly chartVersion: string;
}

/**
 * Where Helm gets the chart from: a chart repository, an OCI registry, or a local directory.
 * @param chart the chart's name in the repository (`argo-cd`, `flux2`, `sealed-secrets`)
 */
export function chartSource(cfg: ChartSettings, baseDir: string, chart: string): Pick<k8s.helm.v3.ReleaseArgs, "chart" | "version" | "repositoryOpts"> {
  if (/^oci:\/\//.test(cfg.chartRepo)) {
    return { chart: `${cfg.chartRepo.replace(/\/$/, "")}/${chart}`, version: cfg.chartVersion };
  }
  if (/^https:\/\//.test(cfg.chartRepo)) {
    return { chart, version: cfg.chartVersion, repositoryOpts: { repo: cfg.chartRepo } };
  }
  // A local chart directory: its Chart.yaml decides the version.
  return { chart: path.resolve(baseDir, cfg.chartRepo) };
}

/** `chartSource` over settings known at deploy time, as Release inputs. */
export function chartInputs(settings: pulumi.Output<ChartSettings>, baseDir: string | undefined, chart: string): Pick<k8s.helm.v3.ReleaseArgs, "chart" | "version" | "repositoryOpts"> {
  const source = settings.apply((s) => chartSource(s, baseDir ?? process.cwd(), chart) as { chart: string; version?: string; repositoryOpts?: { repo: string } });
  return {
    chart: source.apply((s) => s.chart),
    version: source.apply((s) => s.version) as pulumi.Output<string>,
    repositoryOpts: source.apply((s) => s.repositoryOpts) as pulumi.Output<{ repo: string }>,
  };
}
