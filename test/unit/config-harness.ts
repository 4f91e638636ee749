/** Building stack config input for `resolveConfig` in the tests, and reading its problems. */
import { RawStackConfig, resolveConfig } from "../../bootstrap/config/stack-config";
import { ConfigError } from "../../components/settings/bootstrap-config";

/**
 * Config values as Pulumi hands them to the program (strings as they are, everything else as
 * JSON; `null` leaves the key out). With `files`, reading any other file fails with ENOENT.
 */
export function rawStackConfig(values: Record<string, unknown>, secretKeys: readonly string[], files?: Record<string, string>): RawStackConfig {
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v !== null) strings[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  const raw: RawStackConfig = { values: strings, secretKeys: new Set(secretKeys), baseDir: "/project" };
  if (!files) return raw;
  return {
    ...raw,
    readFile: (f) => {
      if (f in files) return files[f];
      throw Object.assign(new Error(`ENOENT: ${f}`), { code: "ENOENT" });
    },
  };
}

/** Resolves and returns the ConfigError's problems (fails the test if it resolves). */
export async function configProblems(input: RawStackConfig): Promise<{ key: string; message: string }[]> {
  try {
    await resolveConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

/** A PEM armor line, built at run time so the repository holds no key-shaped literal (these tests use no real key). */
export const pemLine = (edge: "BEGIN" | "END", label: string): string => `${"-".repeat(5)}${edge} ${label}${"-".repeat(5)}`;
