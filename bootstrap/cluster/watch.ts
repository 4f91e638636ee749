/**
 * List-then-watch with @kubernetes/client-node, kept alive for as long as the drill waits: a
 * watch the server ends (timeout) resumes from the last resourceVersion; one that expired (410
 * Gone) re-lists, and the full list replaces what was known, so deletions in between are not
 * missed; a dropped connection (API server restart) is retried with backoff and then resumed.
 * No polling: between reconnects, every change arrives as a watch event.
 */
import { KubeConfig, KubernetesObjectApi, Watch } from "@kubernetes/client-node";
import { absoluteKubeconfigPath, isInlineKubeconfig } from "./kubeconfig";

/** An object as a list or watch returns it: the fields the waits read. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string; readonly creationTimestamp?: string | Date; readonly deletionTimestamp?: string | Date };
  readonly status?: unknown;
  readonly [key: string]: unknown;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface ResourceRef {
  readonly apiVersion: string;
  /** e.g. `Application`. */
  readonly kind: string;
  /** Lower-case plural for the watch path, e.g. `applications`. */
  readonly plural: string;
  /** Watch one namespace; all namespaces when absent. */
  readonly namespace?: string;
  /**
   * The resource type may not exist in the cluster (an optional CRD, e.g. Argo CD's
   * ApplicationSet): while listing it answers 404, it counts as an empty list, re-listed quietly.
   */
  readonly optional?: boolean;
}

export interface ListWatchHandlers {
  /** A complete list, at start and after every re-list. */
  readonly onList: (items: readonly KubeObject[], at: number) => void;
  readonly onEvent: (type: WatchEventType, object: KubeObject, at: number) => void;
  /** Connection trouble and recovery, for the progress output. */
  readonly onNotice?: (message: string) => void;
}

export interface ListWatchOptions {
  readonly signal: AbortSignal;
  /** Server-side watch timeout; the watch is then resumed. @default 300 */
  readonly timeoutSeconds?: number;
  /** Backoff after a failed connection: first and largest delay. @default 250 ms, 5 s */
  readonly backoffMs?: readonly [number, number];
}

export function resourcePath(ref: ResourceRef): string {
  const base = ref.apiVersion.includes("/") ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  return ref.namespace ? `${base}/namespaces/${ref.namespace}/${ref.plural}` : `${base}/${ref.plural}`;
}

/** The HTTP status of a failed client-node call, if it has one. */
export function statusCodeOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  if (typeof e?.statusCode === "number") return e.statusCode;
  if (typeof e?.code === "number") return e.code;
  return undefined;
}

/** The API server does not serve the type: its group (404) or its kind (client-node's discovery) is unknown. */
export function isUnknownType(err: unknown): boolean {
  return statusCodeOf(err) === 404 || /Unrecognized API version and kind/.test((err as { message?: unknown } | null)?.message?.toString() ?? "");
}

/** A short description of a connection error, without anything a URL's credentials could leak through. */
export function describeError(err: unknown): string {
  const code = statusCodeOf(err);
  if (code !== undefined) return `HTTP ${code}`;
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | null;
  const sys = typeof e?.code === "string" ? e.code : typeof e?.cause?.code === "string" ? e.cause.code : undefined;
  return sys ?? (typeof e?.name === "string" ? e.name : "connection error");
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export type ListAndWatch = (kc: KubeConfig, ref: ResourceRef, handlers: ListWatchHandlers, options: ListWatchOptions) => Promise<void>;

/** Lists and watches one resource type until `signal` aborts. Resolves then; never rejects for connection errors. */
export async function listAndWatch(kc: KubeConfig, ref: ResourceRef, handlers: ListWatchHandlers, options: ListWatchOptions): Promise<void> {
  let api = KubernetesObjectApi.makeApiClient(kc);
  const watch = new Watch(kc);
  const [firstBackoff, maxBackoff] = options.backoffMs ?? [250, 5000];
  const path = resourcePath(ref);
  let resourceVersion: string | undefined;
  let backoff = firstBackoff;
  let troubled = false;
  const { signal } = options;

  const trouble = (message: string): void => {
    if (!troubled) handlers.onNotice?.(message);
    troubled = true;
  };
  const recovered = (): void => {
    if (troubled) handlers.onNotice?.(`watch of ${ref.plural} re-established`);
    troubled = false;
    backoff = firstBackoff;
  };

  while (!signal.aborted) {
    if (resourceVersion === undefined) {
      try {
        const list = await api.list(ref.apiVersion, ref.kind, ref.namespace);
        if (signal.aborted) return;
        resourceVersion = list.metadata?.resourceVersion;
        handlers.onList(list.items as unknown as KubeObject[], Date.now());
        recovered();
      } catch (err) {
        if (ref.optional && isUnknownType(err)) {
          handlers.onList([], Date.now());
          // A new client: the old one caches the API discovery that lacked the type.
          api = KubernetesObjectApi.makeApiClient(kc);
          await delay(maxBackoff, signal);
          continue;
        }
        trouble(`cannot list ${ref.plural} (${describeError(err)}); retrying`);
        await delay(backoff, signal);
        backoff = Math.min(backoff * 2, maxBackoff);
        continue;
      }
    }
    // One watch connection; resolves with why it ended.
    const openedAt = Date.now();
    const ended = await new Promise<"gone" | "closed" | "error">((resolve) => {
      let result: "gone" | "closed" | "error" = "closed";
      let controller: AbortController | undefined;
      const onAbort = (): void => controller?.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      watch
        .watch(
          path,
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: options.timeoutSeconds ?? 300 },
          (type: string, object: KubeObject) => {
            if (type === "ERROR") {
              // The server reports an expired resourceVersion as an in-stream Status with code 410.
              result = statusCodeOf(object) === 410 || (object as { reason?: string }).reason === "Expired" ? "gone" : "error";
              controller?.abort();
              return;
            }
            const rv = object.metadata?.resourceVersion;
            if (rv) resourceVersion = rv;
            if (type === "BOOKMARK") return;
            recovered();
            handlers.onEvent(type as WatchEventType, object, Date.now());
          },
          (err: unknown) => {
            signal.removeEventListener("abort", onAbort);
            if (err && result === "closed") {
              const code = statusCodeOf(err);
              result = code === 410 ? "gone" : (err as { name?: string }).name === "AbortError" ? result : "error";
              if (result === "error") trouble(`watch of ${ref.plural} lost (${describeError(err)}); reconnecting`);
            }
            resolve(result);
          },
        )
        .then(
          (c) => {
            controller = c;
            if (signal.aborted) c.abort();
          },
          () => resolve("error"),
        );
    });
    if (signal.aborted) return;
    if (ended === "gone") {
      handlers.onNotice?.(`watch of ${ref.plural} expired (410 Gone); re-listing`);
      resourceVersion = undefined;
    } else if (ended === "error" || Date.now() - openedAt < 1000) {
      // Also after a watch the server closed at once: never a tight reconnect loop.
      await delay(backoff, signal);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }
}

export { isInlineKubeconfig };

/**
 * Loads a kubeconfig as `--kubeconfig` or a stack's `kubernetes:kubeconfig` gives it: a path
 * (`~/…`, or relative to `baseDir`) or the YAML itself; the default ones when absent. Optionally
 * at a named context; throws when that leaves no cluster.
 */
export function loadKubeConfig(source: string | undefined, context?: string, baseDir = process.cwd()): KubeConfig {
  const kc = new KubeConfig();
  if (source === undefined) kc.loadFromDefault();
  else if (isInlineKubeconfig(source)) kc.loadFromString(source);
  else kc.loadFromFile(absoluteKubeconfigPath(source, baseDir));
  if (context) kc.setCurrentContext(context);
  const where = source === undefined ? "(default)" : isInlineKubeconfig(source) ? "(inline)" : source;
  if (!kc.getCurrentCluster()) throw new Error(`the kubeconfig ${where} has no cluster for context ${kc.getCurrentContext() || "(none)"}`);
  return kc;
}
