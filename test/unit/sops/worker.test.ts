/** The verifier's worker threads: a file that exhausts a worker's memory is that file's result, not the run's end. */
import * as age from "age-encryption";
import { AgeIdentities } from "../../../components/settings/age-identities";
import { VerifierPool } from "../../../bootstrap/sops/worker";
import { writeSopsYaml } from "../../../bootstrap/sops/writer";

describe("VerifierPool", () => {
  it("gives a file that runs a worker out of memory an unreadable result, and goes on with the others", async () => {
    const identity = await age.generateX25519Identity();
    const identities = await AgeIdentities.parse(identity, "test key");
    const good = Buffer.from(await writeSopsYaml([{ password: "hunter2" }], { recipients: [await age.identityToRecipient(identity)] }));
    // 120,000 keys (within the parse budget) need far more than a 16 MB heap.
    const big = Buffer.from(Array.from({ length: 120_000 }, (_, i) => `key${i}: value${i}`).join("\n") + "\nsops:\n    mac: x\n");
    const pool = new VerifierPool(identities, 2, 16);
    try {
      const [huge, ok] = await Promise.all([pool.verify("big.sops.yaml", big), pool.verify("good.sops.yaml", good)]);
      expect(huge).toMatchObject({ kind: "unreadable", path: "big.sops.yaml" });
      expect(huge.detail).toMatch(/more than the 16 MB a verifier worker may use/);
      expect(ok).toMatchObject({ kind: "ok" });
      // The pool replaced the worker it lost.
      expect(await pool.verify("again.sops.yaml", good)).toMatchObject({ kind: "ok" });
    } finally {
      await pool.close();
    }
  }, 120_000);
});
