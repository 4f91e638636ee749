/**
 * Helm values for the argo-cd and flux2 charts, and the merge of the user's values over ours. Pure: tested
 * directly, and `render` shows exactly what these functions return.
 */
import { AGE_SECRET, ARGOCD, KSOPS } from "../defaults";

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const isNamedList = (v: unknown): v is Obj[] =>
  Array.isArray(v) && v.every((item) => isObject(item) && typeof item.name === "string");

/**
 * Deep-merges `override` over `base`, as Helm merges values files, with one difference that
 * matters for KSOPS: lists of named objects (containers, volumes, env) are merged by `name`, so
 * a user who adds a volume does not silently drop the `sops-age` volume the repo-server needs.
 * A user entry with the same name replaces ours field by field. Any other list is replaced.
 * `null` removes a key (as in Helm).
 */
export function deepMerge(base: Obj, override: Obj): Obj {
  const out: Obj = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    if (value === null) {
      delete out[key];
    } else if (isObject(current) && isObject(value)) {
      out[key] = deepMerge(current, value);
    } else if (isNamedList(current) && isNamedList(value)) {
      const merged = current.map((item) => {
        const replacement = value.find((v) => v.name === item.name);
        return replacement ? deepMerge(item, replacement) : item;
      });
      for (const item of value) {
        if (!current.some((c) => c.name === item.name)) merged.push(item);
      }
      out[key] = merged;
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * A fresh copy of the KSOPS init container's securityContext, built from literals: Pulumi's
 * serializer does not take an array made by `structuredClone` in another realm (jest's, where the
 * e2e runs the program inline) for a list, and would send `drop: {"0": "ALL"}`.
 */
function ksopsSecurityContext(): Obj {
  const sc = KSOPS.securityContext;
  return { ...sc, capabilities: { drop: [...sc.capabilities.drop] }, seccompProfile: { ...sc.seccompProfile } };
}

/** The file the repo-server's SOPS reads the identities from. */
export const AGE_KEY_FILE_IN_POD = `${AGE_SECRET.mountPath}/${AGE_SECRET.key}`;

/**
 * Health of an Application as seen by its parent: the documented customization that makes an
 * app-of-apps root report its children's health (Argo CD stopped doing so by default in 1.8).
 */
export const APPLICATION_HEALTH_LUA = [
  "hs = {}",
  'hs.status = "Progressing"',
  'hs.message = ""',
  "if obj.status ~= nil and obj.status.health ~= nil then",
  "  hs.status = obj.status.health.status",
  "  if obj.status.health.message ~= nil then",
  "    hs.message = obj.status.health.message",
  "  end",
  "end",
  "return hs",
].join("\n");

/**
 * The key Argo CD finds a Git server's TLS certificates under in `argocd-tls-certs-cm` (chart
 * values `configs.tls.certificates`): the host of the repository URL as written, without its port.
 * Argo CD's repo-server parses the URL and drops everything from the first `:` of the host
 * (`ServerNameWithoutPort` in argo-cd's util/cert), so `https://git.example.com:8443/org/a.git`
 * is looked up as `git.example.com`.
 */
export function argoCdTlsCertificateKey(url: string): string {
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url)?.[1] ?? "";
  return authority.replace(/^.*@/, "").split(":")[0];
}

export interface ArgoCdValuesOptions {
  /** Pinned KSOPS image whose binary the init container installs. */
  readonly ksopsImage: string;
  /** Extra known_hosts lines for the Git host, when it is not one Argo CD knows. */
  readonly sshKnownHosts?: string;
  /**
   * The CA certificate(s) of the Git server (`repo.caFile`, PEM) and the repository URL they are
   * for: the repo-server trusts them for that URL's host (`configs.tls.certificates`).
   */
  readonly gitServerCa?: { readonly repoUrl: string; readonly pem: string };
  /** The user's values, merged over ours. */
  readonly userValues?: Obj;
}

/**
 * Our values for the argo-cd chart: CRDs installed and kept, KSOPS as a kustomize exec plugin
 * (init container copies the binary into an emptyDir mounted at /usr/local/bin/ksops), the
 * `sops-age` Secret mounted read-only and named by SOPS_AGE_KEY_FILE. Argo CD's own kustomize
 * is left alone (replacing it breaks Helm 4 charts on Argo CD >= 3.5). With a Git server CA, the
 * chart puts it in `argocd-tls-certs-cm` under the repository's host; user values add hosts
 * beside it (config validation refuses values that would remove or replace it).
 */
export function argoCdValues(options: ArgoCdValuesOptions): Obj {
  const ours: Obj = {
    crds: { install: true, keep: true },
    configs: {
      cm: {
        "kustomize.buildOptions": ARGOCD.kustomizeBuildOptions,
        "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA,
      },
      ...(options.sshKnownHosts ? { ssh: { extraHosts: options.sshKnownHosts } } : {}),
      ...(options.gitServerCa
        ? { tls: { certificates: { [argoCdTlsCertificateKey(options.gitServerCa.repoUrl)]: options.gitServerCa.pem } } }
        : {}),
    },
    repoServer: {
      initContainers: [
        {
          name: KSOPS.initContainerName,
          image: options.ksopsImage,
          // Exec form: the image is distroless, there is no shell to run a script in.
          command: [KSOPS.binaryPath, "install", KSOPS.toolsDir],
          volumeMounts: [{ name: KSOPS.toolsVolume, mountPath: KSOPS.toolsDir }],
          // The chart's own containers comply with Pod Security `restricted`; an added one gets nothing by default.
          securityContext: ksopsSecurityContext(),
        },
      ],
      volumes: [
        { name: KSOPS.toolsVolume, emptyDir: {} },
        { name: AGE_SECRET.volume, secret: { secretName: AGE_SECRET.name } },
      ],
      volumeMounts: [
        { name: KSOPS.toolsVolume, mountPath: KSOPS.binaryPath, subPath: "ksops" },
        { name: AGE_SECRET.volume, mountPath: AGE_SECRET.mountPath, readOnly: true },
      ],
      env: [{ name: "SOPS_AGE_KEY_FILE", value: AGE_KEY_FILE_IN_POD }],
    },
  };
  return deepMerge(ours, options.userValues ?? {});
}

export interface FluxValuesOptions {
  /** The user's values, merged over ours. */
  readonly userValues?: Obj;
}

/** Helm leaves a resource with this annotation in place when the release is uninstalled. */
const HELM_KEEP = { "helm.sh/resource-policy": "keep" } as const;

/**
 * Our values for the flux2 chart: the CRDs installed, since the root GitRepository and
 * Kustomization are created right after the release, and kept when the release is uninstalled
 * (`destroy`, a drill's teardown): the chart renders them as templates, so Helm would delete
 * them, and with them every Flux object in the cluster, the user's own too (Argo CD's are kept
 * the same way, `crds.keep`). Nothing else is needed for SOPS: the kustomize-controller decrypts
 * with the Secret the Kustomization's `decryption` names.
 */
export function fluxValues(options: FluxValuesOptions = {}): Obj {
  return deepMerge({ installCRDs: true, crds: { annotations: { ...HELM_KEEP } } }, options.userValues ?? {});
}

export interface SealedSecretsValuesOptions {
  /** The controller's Deployment, Service and ServiceAccount name (`sealedSecrets.controllerName`). */
  readonly controllerName: string;
  /** The user's values, merged over ours. */
  readonly userValues?: Obj;
}

/**
 * Our values for the sealed-secrets chart: the controller's name (kubeseal finds it by that
 * name), and the two settings its pod lacks for Pod Security `restricted` (chart 2.18.5 sets
 * non-root, a read-only root and no capabilities, but not these; both are harmless elsewhere).
 */
export function sealedSecretsValues(options: SealedSecretsValuesOptions): Obj {
  const ours: Obj = {
    podSecurityContext: { seccompProfile: { type: "RuntimeDefault" } },
    containerSecurityContext: { allowPrivilegeEscalation: false },
  };
  // The name is not the user's to change here: config validation gives it its own key.
  return { ...deepMerge(ours, options.userValues ?? {}), fullnameOverride: options.controllerName };
}

export interface ExternalSecretsValuesOptions {
  /** The user's values, merged over ours. */
  readonly userValues?: Obj;
}

/**
 * Our values for the external-secrets chart: its CRDs (rendered as templates) kept when the release
 * is uninstalled, as Flux's are, so that `destroy` or a drill's teardown does not delete every
 * ExternalSecret and SecretStore in the cluster. The chart's own defaults already pass Pod
 * Security `restricted`; cloud workload identity goes in `serviceAccount.annotations`.
 */
export function externalSecretsValues(options: ExternalSecretsValuesOptions = {}): Obj {
  return deepMerge({ installCRDs: true, crds: { annotations: { ...HELM_KEEP } } }, options.userValues ?? {});
}
