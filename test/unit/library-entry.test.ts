/**
 * The library entry (index.ts, package.json "main") loads the components and nothing of the
 * command-line application: a Pulumi program that imports it gets no bootstrap/ module, no
 * commander and no log-update. Checked in a separate Node process (jest keeps its own module
 * registry), from the sources through ts-node, so it needs no build.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const root = path.resolve(__dirname, "../..");

test("requiring the library entry loads no command-line module", () => {
  const script = `require("./index.ts"); process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.build.json") },
  });
  expect(r.stderr).toBe("");
  const loaded = (JSON.parse(r.stdout) as string[]).map((f) => path.relative(root, f));
  expect(loaded).toContain(path.join("components", "gitops-cluster.ts"));
  const cli = loaded.filter((f) => f.startsWith(`bootstrap${path.sep}`) || /node_modules[\\/](commander|log-update)[\\/]/.test(f));
  expect(cli).toEqual([]);
}, 60_000);
