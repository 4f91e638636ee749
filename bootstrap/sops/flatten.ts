/**
 * sops's flattened metadata (`stores/flatten.go`), as the dotenv and INI stores write it: keys
 * like `age__list_0__map_enc` stand for `age[0].enc`.
 */
import { type TreeMap, type TreeNode, TreeParseError } from "./tree";

interface FlatNode {
  value?: string;
  readonly subkeys: Map<string, FlatNode>;
  readonly indices: Map<number, FlatNode>;
}

const flatNode = (): FlatNode => ({ subkeys: new Map(), indices: new Map() });

/**
 * Undoes sops's flattening of metadata keys (`age__list_0__map_enc` is `age[0].enc`), with its
 * checks: no duplicate key, no key both a value and a map or list, no list with a gap.
 */
export function unflattenMetadata(flat: readonly { key: string; value: string }[]): TreeMap {
  const root = flatNode();
  for (const { key, value } of flat) {
    const parts = key.split(/(__map_|__list_)/);
    let node = root;
    for (let i = 0; i < parts.length; i += 2) {
      const isList = parts[i - 1] === "__list_";
      if (isList) {
        // Go's strconv.Atoi, its error ignored: an unparsable index is 0.
        const index = /^[+-]?[0-9]{1,15}$/.test(parts[i]) ? Number(parts[i]) : 0;
        if (!node.indices.has(index)) node.indices.set(index, flatNode());
        node = node.indices.get(index) as FlatNode;
      } else {
        if (!node.subkeys.has(parts[i])) node.subkeys.set(parts[i], flatNode());
        node = node.subkeys.get(parts[i]) as FlatNode;
      }
    }
    if (node.value !== undefined) throw new TreeParseError(`the metadata key sops_${key} appears twice`);
    node.value = value;
  }
  const convert = (node: FlatNode): TreeNode => {
    const kinds = Number(node.value !== undefined) + Number(node.subkeys.size > 0) + Number(node.indices.size > 0);
    if (kinds > 1) throw new TreeParseError("the flattened sops metadata mixes values, maps and lists under one key");
    if (node.value !== undefined) return { t: "str", s: node.value };
    if (node.indices.size > 0) {
      const indices = [...node.indices.keys()];
      if (Math.min(...indices) !== 0 || Math.max(...indices) + 1 !== indices.length) {
        throw new TreeParseError("the flattened sops metadata has a list with a gap");
      }
      return { t: "list", items: indices.sort((a, b) => a - b).map((i) => convert(node.indices.get(i) as FlatNode)) };
    }
    const keys = [...node.subkeys.keys()].sort();
    return { t: "map", items: keys.map((k) => ({ key: k, value: convert(node.subkeys.get(k) as FlatNode) })) };
  };
  return convert(root) as TreeMap;
}
