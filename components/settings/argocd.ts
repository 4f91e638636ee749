/** The `argocd` block of the stack config (reconciler argocd): chart, namespace, KSOPS image, values. */
import { ARGOCD, KSOPS } from "../defaults";
import { Problems, type Obj, checkKnownKeys, describe, isObject, optString, readChartRepo, readChartVersion, readNamespace, readValues } from "./fields";
import { argoCdTlsCertificateKey } from "../builders/helm-values";

const ARGOCD_KEYS = ["chartVersion", "chartRepo", "namespace", "values", "ksopsImage"];

export interface ArgoCdConfig {
  readonly chartVersion: string;
  /** A Helm repository URL, or a local chart directory (tests). */
  readonly chartRepo: string;
  readonly namespace: string;
  readonly ksopsImage: string;
  /** User values deep-merged over ours. */
  readonly values: Readonly<Record<string, unknown>>;
  /**
   * The `argocd` key is a Pulumi secret (set with `--secret`, or holding a secret leaf): the
   * release's values are then a Pulumi secret too, whole, since Pulumi marks the key, not the leaf.
   */
  readonly valuesSecret: boolean;
}

/** `secret`: whether the stack holds `argocd` as a Pulumi secret. */
export function readArgoCd(problems: Problems, raw: unknown, secret: boolean): ArgoCdConfig {
  const block = raw ?? {};
  if (!isObject(block)) {
    problems.add("argocd", `expected an object {chartVersion, namespace, values, ksopsImage}, got ${describe(block)}`);
    return { ...defaultArgoCd(), valuesSecret: secret };
  }
  checkKnownKeys(problems, "argocd", block, ARGOCD_KEYS);
  const chartVersion = readChartVersion(problems, "argocd.chartVersion", block.chartVersion, ARGOCD.chartVersion);
  const chartRepo = readChartRepo(problems, "argocd.chartRepo", block.chartRepo, ARGOCD.chartRepo);
  const namespace = readNamespace(problems, "argocd.namespace", block.namespace, ARGOCD.namespace);
  const ksopsImage = optString(problems, "argocd.ksopsImage", block.ksopsImage) ?? KSOPS.image;
  const tag = /^(?:[^/]+\/)*[^/:@]+(?::([^/@]+))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ksopsImage);
  if (!tag) {
    problems.add("argocd.ksopsImage", `is not an image reference, got ${describe(ksopsImage)}`);
  } else if ((!tag[1] && !tag[2]) || tag[1] === "latest") {
    problems.add("argocd.ksopsImage", `must pin a tag or digest (e.g. ${KSOPS.image}), got ${describe(ksopsImage)}`);
  }
  const values = readValues(problems, "argocd.values", block.values);
  const cm = (values.configs as Obj | undefined)?.cm as Obj | undefined;
  const buildOptions = cm?.["kustomize.buildOptions"];
  if (buildOptions !== undefined) {
    const opts = String(buildOptions).split(/\s+/);
    const missing = ARGOCD.kustomizeBuildOptions.split(" ").filter((f) => !opts.includes(f));
    if (missing.length > 0) {
      problems.add("argocd.values.configs.cm.kustomize.buildOptions", `overrides ours without ${missing.join(" ")}, which KSOPS needs to decrypt SOPS files`);
    }
  }
  return { chartVersion, chartRepo, namespace, ksopsImage, values, valuesSecret: secret };
}

function defaultArgoCd(): ArgoCdConfig {
  return { chartVersion: ARGOCD.chartVersion, chartRepo: ARGOCD.chartRepo, namespace: ARGOCD.namespace, ksopsImage: KSOPS.image, values: {}, valuesSecret: false };
}

export /** A ConfigMap data key (`argocd-tls-certs-cm` is keyed by host). */
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * With `repo.caFile` under Argo CD, the CA goes into the chart values at
 * `configs.tls.certificates.<host>`. Reports a host Argo CD cannot key it by, and user values
 * that would drop it after the merge: a null or a replacement on that path, the chart's own
 * switch for the ConfigMap, or the chart's older `configs.tlsCerts`, which takes over from it.
 */
export function checkArgoCdKeepsCa(problems: Problems, url: string, pem: string, values: Obj): void {
  const host = argoCdTlsCertificateKey(url);
  if (!CONFIGMAP_KEY.test(host)) {
    problems.add(
      "repo.caFile",
      `cannot be given to Argo CD for this repo.url: Argo CD looks the CA up by the URL's host without its port (${describe(host)}), which is not a valid ConfigMap key; use the server's DNS name in repo.url`,
    );
  }
  const lost = `, which would drop the CA certificate(s) from repo.caFile (configs.tls.certificates.${host})`;
  const steps = ["configs", "tls", "certificates", host];
  let node: unknown = values;
  for (let i = 0; i < steps.length && isObject(node); i++) {
    const value: unknown = node[steps[i]];
    if (value === undefined) break;
    const where = `argocd.values.${steps.slice(0, i + 1).join(".")}`;
    const last = i === steps.length - 1;
    if (value === null) {
      problems.add(where, `is null (Helm: remove)${lost}; leave it out`);
      break;
    }
    if (last ? value !== pem : !isObject(value)) {
      problems.add(where, `replaces the value built from repo.caFile${lost}; keep one of the two (repo.caFile alone is enough)`);
      break;
    }
    node = value;
  }
  const configs = isObject(values.configs) ? values.configs : {};
  if (isObject(configs.tls) && configs.tls.create === false) {
    problems.add("argocd.values.configs.tls.create", `is false: the chart would not create argocd-tls-certs-cm${lost}`);
  }
  if (configs.tlsCerts !== undefined) {
    problems.add("argocd.values.configs.tlsCerts", `is the chart's older form of configs.tls.certificates and takes its place where the chart still reads it${lost}; move those certificates to configs.tls.certificates`);
  }
}
