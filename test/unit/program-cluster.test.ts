/**
 * `restore` and `drill` hand the program the one cluster they resolved: the provider then
 * deploys with that kubeconfig (a Pulumi secret: it holds credentials) at that context, and not
 * with the KUBECONFIG of the process that runs the program, which the SDK would otherwise put in
 * the provider's inputs.
 */
import * as age from "age-encryption";
import { ARGOCD } from "../../components/defaults";
import { isSecretEnvelope, runProgramUnderMocks, unwrap } from "./program-harness";

const SINGLE = "apiVersion: v1\nkind: Config\ncurrent-context: kind-drill\n# token: not-a-real-token\n";

test("the provider gets the run's single-context kubeconfig as a secret and its context, whatever KUBECONFIG says", async () => {
  const before = process.env.KUBECONFIG;
  process.env.KUBECONFIG = "/home/someone/.kube/production";
  try {
    const raw = { values: { environment: "drill", repo: JSON.stringify({ url: "https://git.example.com/org/state.git", revision: "HEAD", path: "apps" }), ageKey: await age.generateX25519Identity() }, secretKeys: new Set(["ageKey"]), baseDir: "/project" };
    const run = await runProgramUnderMocks(raw, ARGOCD.chartVersion, { cluster: { kubeconfig: SINGLE, context: "kind-drill" } });
    const provider = run.registered.find((r) => r.type === "pulumi:providers:kubernetes")!;
    expect(isSecretEnvelope(provider.inputs.kubeconfig)).toBe(true);
    expect(unwrap(provider.inputs.kubeconfig)).toBe(SINGLE);
    expect(provider.inputs.context).toBe("kind-drill");
    expect(JSON.stringify(provider.inputs)).not.toContain("production");
  } finally {
    if (before === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = before;
  }
});
