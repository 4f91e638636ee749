import { KubeConfig } from "@kubernetes/client-node";
import type { BootstrapConfig } from "../../../components/settings/bootstrap-config";
import { type KubeObject } from "../../../bootstrap/cluster/watch";
import { objectKey } from "../../../bootstrap/drill/convergence";
import { watchSpecFor } from "../../../bootstrap/drill/run";
import { applicationSetStatusReader, applicationStatusReader } from "../../../bootstrap/drill/status";
import { type WaitOptions, waitForConvergence } from "../../../bootstrap/drill/wait";
import { type ListAndWatch, type ListWatchHandlers, isUnknownType } from "../../../bootstrap/cluster/watch";

/**
 * ApplicationSet status as the applicationset-controller of Argo CD 3.6.1 writes it
 * (setApplicationSetStatusCondition: ErrorOccurred=True brings ResourcesUpToDate=False with the
 * same message, ParametersGenerated=False when the generator failed; success brings
 * ErrorOccurred=False with the up-to-date reason). The generator message is the one the e2e drill
 * recorded for a Git directory generator whose revision does not exist.
 */
const GENERATOR_ERROR =
  "error generating params from git: error getting directories from git: error retrieving Git Directories: rpc error: code = Internal desc = unable to resolve git revision : unable to resolve 'no-such-branch' to a commit SHA: revision not found";

const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: "2026-12-05T02:50:00Z" });

const upToDate = [
  condition("ErrorOccurred", "False", "ApplicationSetUpToDate", "All applications have been generated successfully"),
  condition("ParametersGenerated", "True", "ParametersGenerated", "Successfully generated parameters for all Applications"),
  condition("ResourcesUpToDate", "True", "ApplicationSetUpToDate", "All applications have been generated successfully"),
];
const generatorFailed = [
  condition("ErrorOccurred", "True", "ApplicationGenerationFromParamsError", GENERATOR_ERROR),
  condition("ParametersGenerated", "False", "ErrorOccurred", GENERATOR_ERROR),
  condition("ResourcesUpToDate", "False", "ErrorOccurred", GENERATOR_ERROR),
];

function appSet(conditions?: readonly object[], extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "ApplicationSet",
    metadata: { name: "hello-environments", namespace: "argocd" },
    spec: { generators: [{ git: { repoURL: "https://git.example.com/platform/gitops-bootstrap.git", revision: "no-such-branch", directories: [{ path: "environments/*" }] } }] },
    ...(conditions ? { status: { conditions, ...extra } } : {}),
  };
}

const app = (name: string, sync: string, health: string): KubeObject => ({ metadata: { name, namespace: "argocd" }, status: { sync: { status: sync }, health: { status: health } } });
const deployment = (name: string): KubeObject => ({ metadata: { name }, spec: { replicas: 1 }, status: { availableReplicas: 1 } });

describe("applicationSetStatusReader", () => {
  it("waits for the controller's first status", () => {
    expect(applicationSetStatusReader.read(appSet())).toEqual({ synced: false, healthy: false, summary: "not reconciled yet", problem: undefined, details: [] });
  });

  it("is converged when ResourcesUpToDate=True (its Applications generated and written)", () => {
    expect(applicationSetStatusReader.read(appSet(upToDate))).toEqual({ synced: true, healthy: true, summary: "ResourcesUpToDate", problem: undefined, details: [] });
  });

  it("a generator that fails is a problem with the controller's reason and message", () => {
    expect(applicationSetStatusReader.read(appSet(generatorFailed))).toEqual({
      synced: false,
      healthy: false,
      summary: "ErrorOccurred",
      problem: "ErrorOccurred (ApplicationGenerationFromParamsError)",
      details: [`ErrorOccurred: ${GENERATOR_ERROR}`],
    });
  });

  it("an error with a stale ResourcesUpToDate=True is still not converged", () => {
    const mixed = [condition("ErrorOccurred", "True", "ApplicationValidationError", "application destination spec is invalid"), upToDate[2]];
    expect(applicationSetStatusReader.read(appSet(mixed))).toMatchObject({ synced: false, problem: "ErrorOccurred (ApplicationValidationError)" });
  });

  it("a progressive rollout in progress is written but not yet healthy; an invalid rollout config is a problem", () => {
    const rolling = [...upToDate, condition("RolloutProgressing", "True", "ApplicationSetModified", "ApplicationSet is performing rollout of step 1")];
    expect(applicationSetStatusReader.read(appSet(rolling))).toMatchObject({ synced: true, healthy: false, summary: "ResourcesUpToDate (rollout progressing)", problem: undefined });
    const invalid = [...upToDate, condition("InvalidRolloutConfig", "True", "ApplicationSetInvalidRolloutConfig", "step 1 has no match expressions")];
    expect(applicationSetStatusReader.read(appSet(invalid))).toMatchObject({
      healthy: false,
      problem: "InvalidRolloutConfig (ApplicationSetInvalidRolloutConfig)",
      details: ["InvalidRolloutConfig: step 1 has no match expressions"],
    });
  });
});

/** A stand-in for the list-and-watch loop that hands the test a way to push events for each resource. */
function fakeWatches() {
  const feeds = new Map<string, ListWatchHandlers>();
  const impl: ListAndWatch = (_kc, ref, handlers, options) =>
    new Promise<void>((resolve) => {
      feeds.set(ref.plural, handlers);
      options.signal.addEventListener("abort", () => resolve(), { once: true });
    });
  return { impl, feed: (plural: string) => feeds.get(plural)! };
}

/** What watchSpecFor reads of an Argo CD stack's config. */
const argoConfig = { reconciler: "argocd", argocd: { namespace: "argocd" }, rootApp: { name: "root" } } as unknown as BootstrapConfig;

function options(watch: ListAndWatch, extra: Partial<WaitOptions> = {}): WaitOptions {
  return {
    kubeconfig: new KubeConfig(),
    kinds: [
      { ref: { apiVersion: "argoproj.io/v1alpha1", kind: "Application", plural: "applications" }, reader: applicationStatusReader },
      { ref: { apiVersion: "argoproj.io/v1alpha1", kind: "ApplicationSet", plural: "applicationsets", optional: true }, reader: applicationSetStatusReader },
    ],
    rootKey: objectKey("Application", "argocd", "root"),
    reconcilerNamespace: "argocd",
    failureGraceMs: 60_000,
    deadline: Date.now() + 60_000,
    listAndWatch: watch,
    progressIntervalMs: 0,
    ...extra,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

async function started(w: ReturnType<typeof fakeWatches>, waiting: Promise<unknown>): Promise<void> {
  void waiting;
  await tick();
  w.feed("deployments").onList([deployment("argocd-repo-server")], 1000);
  w.feed("statefulsets").onList([], 1000);
  w.feed("applications").onList([], 1000);
  w.feed("applicationsets").onList([], 1000);
}

describe("waitForConvergence with an ApplicationSet (replayed watch events)", () => {
  it("an Argo CD stack watches ApplicationSets beside Applications, as an optional type", () => {
    const spec = watchSpecFor(argoConfig);
    expect(spec.kinds.map((k) => [k.ref.kind, k.ref.plural, k.ref.optional ?? false, k.reader.kind])).toEqual([
      ["Application", "applications", false, "Application"],
      ["ApplicationSet", "applicationsets", true, "ApplicationSet"],
    ]);
  });

  it("waits for the Applications an ApplicationSet generates and reports them with it", async () => {
    const w = fakeWatches();
    const lines: string[] = [];
    const waiting = waitForConvergence(options(w.impl, { onProgress: (l) => lines.push(l) }));
    await started(w, waiting);
    w.feed("applications").onEvent("ADDED", app("root", "Synced", "Progressing"), 2000);
    w.feed("applicationsets").onEvent("ADDED", appSet(), 2100);
    w.feed("applications").onEvent("ADDED", app("hello-staging", "OutOfSync", "Missing"), 2500);
    w.feed("applicationsets").onEvent("MODIFIED", appSet(upToDate), 2600);
    w.feed("applications").onEvent("MODIFIED", app("root", "Synced", "Healthy"), 2700);
    // Everything seen so far is converged except the generated app: not done.
    expect(lines[lines.length - 1]).toBe("2/3 apps synced and healthy");
    w.feed("applications").onEvent("MODIFIED", app("hello-staging", "Synced", "Healthy"), 4000);
    const r = await waiting;
    expect(r).toMatchObject({ outcome: "converged", allHealthyAt: 4000 });
    expect(r.objects.map((o) => `${o.kind}/${o.name}`).sort()).toEqual(["Application/hello-staging", "Application/root", "ApplicationSet/hello-environments"]);
    expect(r.objects.find((o) => o.kind === "ApplicationSet")).toMatchObject({ appearedAt: 2100, convergedAt: 2600, status: { summary: "ResourcesUpToDate" } });
  });

  it("a generator error fails the wait once the grace period has passed, with the controller's message, long before the deadline", async () => {
    const w = fakeWatches();
    const waiting = waitForConvergence(options(w.impl, { failureGraceMs: 100, deadline: Date.now() + 60_000 }));
    await started(w, waiting);
    const at = Date.now();
    w.feed("applications").onEvent("ADDED", app("root", "Synced", "Progressing"), at);
    w.feed("applicationsets").onEvent("ADDED", appSet(generatorFailed), at);
    const r = await waiting;
    expect(r.outcome).toBe("failed");
    expect(r.endedAt - at).toBeLessThan(5_000);
    expect(r.summary.failed.map((f) => [f.key, f.failure, f.status.details])).toEqual([
      ["ApplicationSet/argocd/hello-environments", "ErrorOccurred (ApplicationGenerationFromParamsError)", [`ErrorOccurred: ${GENERATOR_ERROR}`]],
    ]);
  });

  it("a generator error that clears within the grace period (the repo-server was not ready yet) is not a failure", async () => {
    const w = fakeWatches();
    const waiting = waitForConvergence(options(w.impl, { failureGraceMs: 10_000 }));
    await started(w, waiting);
    w.feed("applications").onEvent("ADDED", app("root", "Synced", "Healthy"), Date.now());
    w.feed("applicationsets").onEvent("ADDED", appSet(generatorFailed), Date.now());
    w.feed("applicationsets").onEvent("MODIFIED", appSet(upToDate), Date.now());
    const r = await waiting;
    expect(r.outcome).toBe("converged");
    expect(r.summary.failed).toEqual([]);
  });
});

describe("isUnknownType", () => {
  it("is a 404 (the API group is not served) or client-node's discovery not knowing the kind", () => {
    expect(isUnknownType({ code: 404 })).toBe(true);
    expect(isUnknownType(new Error("Unrecognized API version and kind: argoproj.io/v1alpha1 ApplicationSet"))).toBe(true);
    expect(isUnknownType({ code: 403 })).toBe(false);
    expect(isUnknownType(new Error("ECONNREFUSED"))).toBe(false);
  });
});
