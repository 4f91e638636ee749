/**
 * The args blocks the components share (repository, age key, root app, charts), checked with the
 * stack config's readers (see validation.ts). Helm values are checked apart from the other
 * settings, so values given as a secret keep only themselves secret, not the namespace.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ArgoCdConfig } from "./settings/argocd";
import { checkArgoCdKeepsCa, readArgoCd } from "./settings/argocd";
import { type Obj, Problems } from "./settings/fields";
import { type FluxConfig, checkRepoForFlux, readFlux } from "./settings/flux";
import { type CredentialSecret, parseCredential, readExternalSecretsSettings } from "./settings/external-secrets";
import { readSealedSecretsSettings } from "./settings/sealed-secrets";
import { type RootAppConfig, readAgeIdentities, readPodSecurity, readRootApp } from "./settings/bootstrap-config";
import { type RepoConfig, checkPassword, checkSshPrivateKey, parseCaCertificates, readRepo, sshPrivateKeyText } from "./settings/repository";
import type { PodSecurityLevel } from "./defaults";
import { checkPair, isSealingKeyName, SEALING_KEY_NAME_HINT } from "./settings/sealing-keys";
import { SecretString } from "./settings/secret";
import type { ArgoCdOptions, ExternalSecretsOptions, FluxOptions, PodSecurity, RepositoryArgs, RootAppArgs, SealedSecretsOptions, SealingKeyArgs } from "./args";
import type { ArgsChecker } from "./validation";

/** Stands for a secret credential in the repository block: its value is checked on its own. */
const CHECKED_APART = "(checked apart)";

export interface CheckedRepository {
  /** URL, revision, path, known hosts and CA: what specs and chart values need (no credentials). */
  readonly settings: pulumi.Output<RepoConfig>;
  /** The same with the credentials (a Pulumi secret when it has any), for the Secrets that hold them. */
  readonly withCredentials: pulumi.Output<RepoConfig>;
  /** Credentials or a CA were given: the reconciler needs a Secret for the repository. */
  readonly needsSecret: boolean;
}

/** The `repo` block; `flux`: also what Flux needs of it (a named revision, known hosts and a key over SSH). */
export function checkRepository(checker: ArgsChecker, repo: RepositoryArgs, flux: boolean): CheckedRepository {
  const creds = repo.credentials;
  const block = {
    url: repo.url,
    revision: repo.revision,
    path: repo.path,
    sshKnownHosts: repo.sshKnownHosts,
    credentials: creds && {
      username: creds.username,
      password: creds.password === undefined ? undefined : CHECKED_APART,
      sshPrivateKey: creds.sshPrivateKey === undefined ? undefined : CHECKED_APART,
    },
    ca: repo.caCertificates,
  };
  const settings = checker.check(block, (problems, { ca, ...raw }) => {
    const caPem = ca === undefined ? undefined : { key: "repo.caCertificates", text: ca };
    // Credentials are checked apart: "undecrypted" skips the key's own check here.
    const read = readRepo(problems, raw, true, true, { baseDir: "." }, caPem) as RepoConfig;
    if (flux && read) checkRepoForFlux(problems, read, raw.credentials);
    return { ...read, credentials: undefined };
  });
  const password = creds?.password === undefined ? undefined : checker.secret("repo.credentials.password", creds.password, checkPassword);
  const sshKey = creds?.sshPrivateKey === undefined ? undefined : checker.secret("repo.credentials.sshPrivateKey", creds.sshPrivateKey, checkSshPrivateKey);
  const withCredentials = pulumi.all([settings, creds?.username, password, sshKey]).apply(([s, username, pw, key]): RepoConfig => {
    if (key !== undefined) return { ...s, credentials: { kind: "ssh", sshPrivateKey: new SecretString(sshPrivateKeyText(key)) } };
    if (pw !== undefined) return { ...s, credentials: { kind: "basic", username: username ?? "", password: new SecretString(pw) } };
    return s;
  });
  // Secret already when it holds credentials (pulumi.secret here would copy the SecretStrings into plain objects).
  return { settings, withCredentials, needsSecret: creds !== undefined || repo.caCertificates !== undefined };
}

/** The age identities (`ageKey`), as a Pulumi secret. */
export function checkAgeKey(checker: ArgsChecker, ageKey: pulumi.Input<string>): pulumi.Output<string> {
  return checker.secret("ageKey", ageKey, async (text) => {
    const problems = new Problems((key) => key);
    await readAgeIdentities(problems, "ageKey", text, "the ageKey value");
    return problems.list[0]?.message;
  });
}

export function checkPodSecurity(checker: ArgsChecker, level: pulumi.Input<PodSecurity> | undefined): pulumi.Output<PodSecurityLevel | undefined> {
  return checker.check(level, (problems, value) => readPodSecurity(problems, value));
}

export function checkRootApp(checker: ArgsChecker, rootApp: RootAppArgs | undefined, flux: boolean): pulumi.Output<RootAppConfig> {
  return checker.check(rootApp, (problems, value) => readRootApp(problems, value, flux ? "flux" : "argocd"));
}

export interface CheckedChart<T> {
  /** Chart, namespace and the other settings, with their defaults. */
  readonly settings: pulumi.Output<T>;
  /** The user's Helm values (secret when given as one). */
  readonly values: pulumi.Output<Obj>;
}

/** The `argocd` block; the repository's URL and CA, which user values must not drop. */
export function checkArgoCdOptions(checker: ArgsChecker, options: ArgoCdOptions, repo: RepositoryArgs): CheckedChart<Omit<ArgoCdConfig, "values" | "valuesSecret">> {
  const { chartVersion, chartRepo, namespace, ksopsImage, values } = options;
  const settings = checker.check({ chartVersion, chartRepo, namespace, ksopsImage }, (problems, value) => readArgoCd(problems, value, false));
  const checkedValues = checker.check({ values, url: repo.url, ca: repo.caCertificates }, (problems, value) => {
    const read = readArgoCd(problems, { values: value.values }, false).values as Obj;
    const ca = value.ca === undefined ? undefined : parseCaCertificates(value.ca);
    // A bad CA is reported by the repository's check.
    if (ca && "pem" in ca && typeof value.url === "string") checkArgoCdKeepsCa(problems, value.url, ca.pem, read);
    return read;
  });
  return { settings, values: checkedValues };
}

export function checkFluxOptions(checker: ArgsChecker, options: FluxOptions): CheckedChart<Omit<FluxConfig, "values" | "valuesSecret">> {
  const { chartVersion, chartRepo, namespace, interval, values } = options;
  return {
    settings: checker.check({ chartVersion, chartRepo, namespace, interval }, (problems, value) => readFlux(problems, value, false)),
    values: checker.check(values, (problems, value) => readFlux(problems, { values: value }, false).values as Obj),
  };
}

const SEALED_SECRETS_ARGS = ["chartVersion", "chartRepo", "namespace", "controllerName", "values"];

export interface CheckedSealedSecrets {
  readonly settings: pulumi.Output<{ chartVersion: string; chartRepo: string; namespace: string; controllerName: string }>;
  readonly values: pulumi.Output<Obj>;
  /** Each key's name (plain: it names a resource), labels' state, certificate, and private key (secret). */
  readonly keys: readonly { name: string; state: pulumi.Output<string>; certificate: pulumi.Output<string>; privateKey: pulumi.Output<string> }[];
}

/** The `sealedSecrets` block and its keys; `keysPath`: where the keys are in the args (for messages). */
export function checkSealedSecretsOptions(checker: ArgsChecker, options: SealedSecretsOptions, keysPath: string): CheckedSealedSecrets {
  const { chartVersion, chartRepo, namespace, controllerName, values, keys = [] } = options;
  const rest = { chartVersion, chartRepo, namespace, controllerName };
  const read = (problems: Problems, raw: unknown) =>
    readSealedSecretsSettings(problems, raw, false, SEALED_SECRETS_ARGS) ?? { chartVersion: "", chartRepo: "", namespace: "", controllerName: "", values: {} };
  const settings = checker.check(rest, (problems, value) => {
    const { chartVersion, chartRepo, namespace, controllerName } = read(problems, value);
    return { chartVersion, chartRepo, namespace, controllerName };
  });
  // The values apart (they may be secret), with the controller's name they must not contradict.
  const checkedValues = checker.check({ values, controllerName: rest.controllerName }, (problems, value) => {
    const all = new Problems((key) => key);
    const checked = read(all, value).values as Obj;
    // The controller's name is reported by the settings' check.
    for (const p of all.list.filter((x) => x.key.startsWith("sealedSecrets.values"))) problems.add(p.key, p.message);
    return checked;
  });
  checker.check(
    keys.map((k) => k.name),
    (problems, names) => {
      const foreign = names.filter((n) => !isSealingKeyName(n));
      // A key must not take over another kubernetes.io/tls Secret of the namespace.
      if (foreign.length > 0) problems.add(keysPath, `${foreign.join(", ")}: not a sealing key's name (${SEALING_KEY_NAME_HINT})`);
      const twice = names.filter((n, i) => names.indexOf(n) !== i);
      if (twice.length > 0) problems.add(keysPath, `${twice.join(", ")}: a second key with the same name`);
    },
  );
  return { settings, values: checkedValues, keys: keys.map((k, i) => checkSealingKey(checker, k, `${keysPath}[${i}]`)) };
}

function checkSealingKey(checker: ArgsChecker, key: SealingKeyArgs, path: string): CheckedSealedSecrets["keys"][number] {
  const pair = checker.check({ certificate: key.certificate, privateKey: key.privateKey }, (problems, value) => {
    const problem = checkPair(value.certificate, value.privateKey);
    if (problem) problems.add(path, `${key.name}: ${problem}`);
    return value;
  });
  return {
    name: key.name,
    state: pulumi.output(key.state ?? "active"),
    certificate: pulumi.unsecret(pair.apply((p) => p.certificate)),
    privateKey: pulumi.secret(pair.apply((p) => p.privateKey)),
  };
}

const EXTERNAL_SECRETS_ARGS = ["chartVersion", "chartRepo", "namespace", "values"];

export interface CheckedExternalSecrets {
  readonly settings: pulumi.Output<{ chartVersion: string; chartRepo: string; namespace: string }>;
  readonly values: pulumi.Output<Obj>;
  /** Each credential's name (plain: it names a resource) and its type and values (secret). */
  readonly credentials: readonly { name: string; type: pulumi.Output<string>; stringData: pulumi.Output<Record<string, string>> }[];
}

/** The `externalSecrets` block and its credentials, with the stack config's rules for a credentials file's Secrets. */
export function checkExternalSecretsOptions(checker: ArgsChecker, options: ExternalSecretsOptions, credentialsPath: string): CheckedExternalSecrets {
  const { chartVersion, chartRepo, namespace, values, credentials = [] } = options;
  const read = (problems: Problems, raw: unknown) => readExternalSecretsSettings(problems, raw, false, EXTERNAL_SECRETS_ARGS) ?? { chartVersion: "", chartRepo: "", namespace: "", values: {} };
  const settings = checker.check({ chartVersion, chartRepo, namespace }, (problems, value) => {
    const { chartVersion, chartRepo, namespace } = read(problems, value);
    return { chartVersion, chartRepo, namespace };
  });
  const checkedValues = checker.check(values, (problems, value) => read(problems, { values: value }).values as Obj);
  checker.check(
    credentials.map((c) => c.name),
    (problems, names) => {
      const twice = names.filter((n, i) => names.indexOf(n) !== i);
      if (twice.length > 0) problems.add(credentialsPath, `${twice.join(", ")}: a second credential with the same name`);
    },
  );
  return {
    settings,
    values: checkedValues,
    credentials: credentials.map((c, i) => {
      const checked = checker.check({ type: c.type, stringData: c.stringData }, (problems, value): CredentialSecret | undefined =>
        parseCredential(problems, `${credentialsPath}[${i}]`, { apiVersion: "v1", kind: "Secret", metadata: { name: c.name }, type: value.type, stringData: value.stringData }, ""),
      );
      return {
        name: c.name,
        // The type is not secret, though it is checked with the values.
        type: pulumi.unsecret(checked.apply((x) => x?.type ?? "Opaque")),
        stringData: pulumi.secret(checked.apply((x) => Object.fromEntries(Object.entries(x?.stringData ?? {}).map(([k, v]) => [k, v.reveal()])))),
      };
    }),
  };
}
