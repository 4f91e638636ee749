/**
 * Which values a SOPS encryption rule encrypts (sops.go `shouldBeEncrypted`): the file's own rule
 * when verifying, or a `.sops.yaml` creation rule's when asking whether a file it covers would
 * have had encrypted values.
 */
import type { EncryptionRule } from "./metadata";
import type { TreeLeaf, TreeMap, TreeNode } from "./tree";

/** An encrypted value as sops writes it (not anchored at the end, like sops's regexp). */
export const ENC_TYPE_RE = /^ENC\[AES256_GCM,data:[^\n]+,iv:[^\n]+,tag:[^\n]+,type:[^\n]+\]/;

/** Decides, per key path, whether a value is encrypted: the file's rule, or the value's form. */
export type RuleState = { readonly matched: boolean };

export function makeRule(rule: EncryptionRule): {
  readonly initial: RuleState;
  readonly step: (state: RuleState, key: string) => RuleState;
  readonly encrypted: (state: RuleState, leaf: TreeLeaf) => boolean;
} {
  let test: (key: string) => boolean;
  switch (rule.kind) {
    case "unencrypted_suffix":
    case "encrypted_suffix":
      test = (key) => key.endsWith(rule.value);
      break;
    case "unencrypted_regex":
    case "encrypted_regex":
      test = (key) => rule.regex.test(key);
      break;
    default:
      test = () => false;
  }
  const shapeOnly = rule.kind === "unencrypted_comment_regex" || rule.kind === "encrypted_comment_regex";
  const encryptsOnMatch = rule.kind === "encrypted_suffix" || rule.kind === "encrypted_regex";
  return {
    initial: { matched: false },
    step: (state, key) => (state.matched || !test(key) ? state : { matched: true }),
    encrypted: (state, leaf) => {
      // With comment rules, what is encrypted depends on comment placement: go by the value's form.
      if (shapeOnly) return leaf.t === "str" && ENC_TYPE_RE.test(leaf.s);
      return encryptsOnMatch ? state.matched : !state.matched;
    },
  };
}

/**
 * Whether sops, encrypting these documents under `rule`, would encrypt at least one value (a
 * non-empty string, a number, a boolean). Comment rules depend on comments: never.
 */
export function wouldEncrypt(branches: readonly TreeMap[], rule: EncryptionRule): boolean {
  if (rule.kind === "unencrypted_comment_regex" || rule.kind === "encrypted_comment_regex") return false;
  const r = makeRule(rule);
  const visit = (node: TreeNode, state: RuleState): boolean => {
    if (node.t === "map") return node.items.some((item) => visit(item.value, r.step(state, item.key)));
    if (node.t === "list") return node.items.some((item) => visit(item, state));
    if (node.t === "null" || (node.t === "str" && node.s === "")) return false;
    return r.encrypted(state, node);
  };
  return branches.some((b) => visit(b, r.initial));
}
