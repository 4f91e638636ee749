/**
 * Which values a SOPS encryption rule encrypts (sops.go `shouldBeEncrypted`): the file's own rule
 * when verifying, or a `.sops.yaml` creation rule's when asking whether a file it covers would
 * have had encrypted values.
 */
import { type GoRegExp, compileGoRegExp } from "./go";
import type { EncryptionRule } from "./metadata";
import type { TreeLeaf, TreeMap, TreeNode } from "./tree";
import { hasEncForm } from "./values";


/** Decides, per key path, whether a value is encrypted: the file's rule, as sops applies it. */
export interface RuleState {
  /** A key on the path matched the suffix or regex. */
  readonly matched: boolean;
  /**
   * A comment on sops's stack here (ancestors' and this item's) matches the comment rule. Kept
   * as one flag rather than the stack itself, so each comment is matched once, not once per
   * value under it.
   */
  readonly commentMatched: boolean;
}

export interface Rule {
  readonly initial: RuleState;
  /** Into a map item: its key and the comments sops meets before it. */
  readonly step: (state: RuleState, key: string, comments?: readonly string[]) => RuleState;
  /** Into a list item: the comments sops meets before it. */
  readonly enter: (state: RuleState, comments?: readonly string[]) => RuleState;
  readonly encrypted: (state: RuleState, leaf: TreeLeaf) => boolean;
}

/**
 * The rule as `shouldBeEncrypted` applies it. Comment rules need the comments before each item
 * (`commentsPlaced`); without them (INI), a value is taken as encrypted when it has the form of
 * one.
 */
export function makeRule(rule: EncryptionRule, commentsPlaced = false): Rule {
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
  const commentRule = rule.kind === "unencrypted_comment_regex" || rule.kind === "encrypted_comment_regex";
  let commentRegex: GoRegExp | undefined;
  if (commentRule && commentsPlaced) {
    try {
      commentRegex = compileGoRegExp(rule.value);
    } catch {
      // sops ignores the error and matches nothing with it.
      commentRegex = { source: rule.value, test: () => false };
    }
  }
  const encryptsOnMatch = rule.kind === "encrypted_suffix" || rule.kind === "encrypted_regex";
  const regex = commentRegex;
  const push = (state: RuleState, comments: readonly string[] | undefined): boolean =>
    state.commentMatched || (regex !== undefined && comments !== undefined && comments.some((c) => regex.test(c)));
  return {
    initial: { matched: false, commentMatched: false },
    step: (state, key, comments) => {
      const matched = state.matched || test(key);
      const commentMatched = push(state, comments);
      return matched === state.matched && commentMatched === state.commentMatched ? state : { matched, commentMatched };
    },
    enter: (state, comments) => {
      const commentMatched = push(state, comments);
      return commentMatched === state.commentMatched ? state : { matched: state.matched, commentMatched };
    },
    encrypted: (state, leaf) => {
      if (commentRule) {
        // Without the comments' places, go by the value's form.
        if (!regex) return leaf.t === "str" && hasEncForm(leaf.s);
        return rule.kind === "encrypted_comment_regex" ? state.commentMatched : !state.commentMatched;
      }
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
  // An explicit stack: a deep file cannot overflow the call stack.
  const stack: { node: TreeNode; state: RuleState }[] = branches.map((b) => ({ node: b, state: r.initial }));
  for (let top = stack.pop(); top; top = stack.pop()) {
    const { node, state } = top;
    if (node.t === "map") for (const item of node.items) stack.push({ node: item.value, state: r.step(state, item.key, item.comments) });
    else if (node.t === "list") for (const item of node.items) stack.push({ node: item, state });
    else if (node.t !== "null" && !(node.t === "str" && node.s === "") && r.encrypted(state, node)) return true;
  }
  return false;
}
