import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/**
 * The Helm release inside a reconciler's component, for the components that must wait for the
 * CRDs it installs. Kept here rather than as a property, since a component's properties are its
 * outputs in a plugin's schema.
 */
const releases = new WeakMap<pulumi.ComponentResource, k8s.helm.v3.Release>();

export function rememberRelease(component: pulumi.ComponentResource, release: k8s.helm.v3.Release): void {
  releases.set(component, release);
}

export function releaseOf(component: pulumi.ComponentResource): k8s.helm.v3.Release {
  const release = releases.get(component);
  if (!release) throw new Error(`${component.constructor.name}: no Helm release recorded`);
  return release;
}

/**
 * What a reconciler's root must wait for besides the reconciler (the External Secrets Operator's
 * release): given by the component that composes them, keyed by the args object it passes, so it
 * stays out of the args' schema.
 */
const rootDependencies = new WeakMap<object, pulumi.Input<pulumi.Resource>[]>();

export function rootWaitsFor(args: object, resources: pulumi.Input<pulumi.Resource>[]): void {
  rootDependencies.set(args, resources);
}

export function rootDependenciesOf(args: object): pulumi.Input<pulumi.Resource>[] {
  return rootDependencies.get(args) ?? [];
}
