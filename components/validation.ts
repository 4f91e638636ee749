/**
 * How the components check their args: with the stack config's own readers, so a bad value gets
 * the message the stack config gives, under the args field's name. A value known when the
 * component is constructed is checked then, and every problem found is reported before any
 * resource is registered; a value known only at deploy time (an Output) is checked when it
 * resolves, and a bad one fails the update naming the field.
 */
import * as pulumi from "@pulumi/pulumi";
import { type ConfigProblem, Problems, formatProblems, isObject } from "./settings/fields";

/**
 * Invalid component args. In a plugin (another language's program) the engine prints each
 * property's problem; in a TypeScript program the runner prints the message without a stack
 * trace, as it does for `pulumi.RunError`.
 */
export class ComponentArgsError extends pulumi.InputPropertiesError {
  /** What the runner recognises a `RunError` by (the SDK's own marker). */
  readonly __pulumiRunError = true;

  constructor(what: string, problems: readonly ConfigProblem[]) {
    const message = formatProblems(problems, what);
    super({ message, errors: problems.map((p) => ({ propertyPath: p.key, reason: p.message })) });
    // The SDK prefixes `error serializing property "<key>": ` to the message of the same error each
    // time the rejected value passes through a resource's inputs; the field's name says more.
    Object.defineProperty(this, "message", { get: () => message, set: () => undefined, enumerable: false, configurable: true });
  }
}

/** True when `value` holds no Output or promise anywhere: it can be checked at construction. */
export function knownNow(value: unknown): boolean {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) return false;
  if (Array.isArray(value)) return value.every(knownNow);
  if (isObject(value)) return Object.values(value).every(knownNow);
  return true;
}

/** A field path of the args for a stack config key: `keyOf("argocd.chartVersion")` with `strip: "argocd"` is `chartVersion`. */
export function argsPath(strip?: string): (key: string) => string {
  return (key) => (strip && key.startsWith(`${strip}.`) ? key.slice(strip.length + 1) : key);
}

/**
 * Secrets that `render` reads from a stack file it cannot decrypt (no passphrase here): the stack
 * config's validation checked their shape, their content is unknown, so the components pass them on
 * unchecked. Nothing else makes such a value.
 */
const undecryptable = new WeakSet<object>();

/** A secret `render` cannot decrypt, as a Pulumi secret holding `placeholder`, which the components do not check. */
export function undecryptedSecret(placeholder: string): pulumi.Output<string> {
  const value = pulumi.secret(placeholder);
  undecryptable.add(value);
  return value;
}

/** The checks of one component's args. */
export class ArgsChecker {
  private readonly found: ConfigProblem[] = [];
  private readonly what: string;

  /** `type` and `name` of the component, named in the error; `keyOf` maps a config key to the args field. */
  constructor(type: string, name: string, private readonly keyOf: (key: string) => string) {
    this.what = `${type} ${name} args`;
  }

  /**
   * `read` (a stack config reader) over `input`: now when it is known, else when it resolves.
   * The result is an Output either way (its value holds no Outputs).
   */
  check<T, R>(input: T, read: (problems: Problems, value: pulumi.Unwrap<T>) => R): pulumi.Output<R> {
    if (knownNow(input)) {
      const problems = new Problems(this.keyOf);
      const result = read(problems, input as pulumi.Unwrap<T>);
      this.found.push(...problems.list);
      // Through apply rather than pulumi.output(), which would copy class instances (SecretString) into plain objects.
      return pulumi.output(0).apply(() => result);
    }
    return pulumi.output(input).apply((value) => {
      const problems = new Problems(this.keyOf);
      const result = read(problems, value as pulumi.Unwrap<T>);
      if (problems.list.length > 0) throw new ComponentArgsError(this.what, problems.list);
      return result;
    });
  }

  /**
   * A secret field (`key`, as the stack config names it), checked by `problem` (a message, or
   * none when it is fine) now or when it resolves; the value comes back as a Pulumi secret.
   */
  secret(key: string, input: pulumi.Input<string>, problem: (value: string) => string | undefined | Promise<string | undefined>): pulumi.Output<string> {
    if (typeof input === "object" && undecryptable.has(input)) return input as pulumi.Output<string>;
    if (typeof input === "string") {
      const found = problem(input);
      if (!(found instanceof Promise)) {
        if (found) this.found.push({ key: this.keyOf(key), message: found });
        return pulumi.secret(input);
      }
    }
    return pulumi.secret(
      pulumi.output(input).apply(async (value) => {
        const found = await problem(value);
        if (found) throw new ComponentArgsError(this.what, [{ key: this.keyOf(key), message: found }]);
        return value;
      }),
    );
  }

  /** Throws every problem found at construction, before the component registers anything. */
  throwIfInvalid(): void {
    if (this.found.length > 0) throw new ComponentArgsError(this.what, this.found);
  }
}
