# shellcheck shell=bash
# Versions of the e2e toolchain, in ONE place. Sourced by build.sh.
# Every tool is built from its Go module through the Go module proxy and cached, by version,
# under ${GITOPS_BOOTSTRAP_CACHE:-$HOME/.cache/gitops-bootstrap}/tools/<name>-<version>/bin/.
# Each value can be overridden from the environment (e.g. KUBERNETES_VERSION=v1.34.4).

_toolchain_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_repo_root="$(cd "${_toolchain_dir}/../../.." && pwd)"

# Reads dependencies["<name>"] from the repo's package.json (prints nothing if absent).
_pkg_dep_version() {
  local name="$1" file="${_repo_root}/package.json"
  [[ -f "$file" ]] || return 0
  if command -v node >/dev/null 2>&1; then
    node -e 'const p=require(process.argv[1]);const v=(p.dependencies||{})[process.argv[2]]||"";process.stdout.write(String(v).replace(/^[\^~=v]+/,""))' "$file" "$name" 2>/dev/null || true
  else
    sed -n "s/.*\"${name//\//\\/}\"[[:space:]]*:[[:space:]]*\"[\\^~=v]*\\([0-9][^\"]*\\)\".*/\\1/p" "$file" | head -n1
  fi
}

_v="$(_pkg_dep_version @pulumi/pulumi)"
# Version of the npm @pulumi/pulumi SDK; the CLI should match it.
: "${PULUMI_VERSION:=v${_v:-3.270.0}}"
_v="$(_pkg_dep_version @pulumi/kubernetes)"
# Version of the npm @pulumi/kubernetes SDK; the provider plugin must match it.
: "${PULUMI_KUBERNETES_VERSION:=v${_v:-4.34.2}}"
unset _v

# The proxy this project can reach refuses github.com/pulumi/pulumi/pkg/v3 at most versions
# (v3.270.0 answers 403 "This module version is not available"). When PULUMI_VERSION is
# refused, build.sh falls back to this CLI version, the newest one it serves.
: "${PULUMI_CLI_FALLBACK_VERSION:=v3.259.0}"

: "${SOPS_VERSION:=v3.13.3}"          # github.com/getsops/sops/v3, newest v3.x
: "${ETCD_VERSION:=v3.6.16}"          # go.etcd.io/etcd/server/v3, newest v3.6.x
: "${KUBERNETES_VERSION:=v1.35.4}"    # k8s.io/kubernetes, newest v1.35.x (staging modules: v0.35.4)
: "${KWOK_VERSION:=v0.8.0}"           # sigs.k8s.io/kwok, newest release
: "${HELM_VERSION:=v3.22.0}"          # helm.sh/helm/v3, newest v3.x

# Build order: most needed first.
TOOLCHAIN_TOOLS=(sops pulumi pulumi-kubernetes etcd kubernetes kwok helm)
