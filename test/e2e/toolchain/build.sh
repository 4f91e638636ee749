#!/usr/bin/env bash
# Builds the e2e toolchain from Go modules (through the Go module proxy only) and caches it by
# version outside the repo:
#   ${GITOPS_BOOTSTRAP_CACHE:-$HOME/.cache/gitops-bootstrap}/tools/<name>-<version>/bin/
#
# Usage:
#   build.sh [tool...]     build the named tools (default: all, in order), skip cached ones
#   build.sh --list        print "name version state" for every tool
#   build.sh --print-path  print a PATH fragment: the bin dirs of all cached tools, ':'-joined
#   build.sh --print-env   print export lines (PATH, PULUMI_* and tool locations)
#   build.sh --print-crds  print "set dir" for every CRD set (the crds step), cached or not
#   build.sh --print-charts print "chart file" for every Helm chart (the charts step)
#
# Tools: sops pulumi pulumi-kubernetes etcd kubernetes kwok helm flux-source-controller
# flux-kustomize-controller argocd kustomize redis sealed-secrets external-secrets actionlint
# (versions: versions.sh).
# Step crds (last of a full run; `build.sh crds` alone): the CRD YAML of the modules at those
# versions, copied from the Go module cache to <cache>/crds/<set>-<version>/ (CRD_SETS below).
# Step charts (after crds; `build.sh charts` alone): the upstream Helm charts the e2e installs, to
# <cache>/charts/<chart>-<version>.tgz, from GITOPS_BOOTSTRAP_CHART_MIRROR or `helm pull`.
# Exit status: 0 all requested tools are there; 1 a build failed; 2 nothing failed to build but
# a tool's module is refused by the Go module proxy (see the "⚠" line; refusals are remembered
# for a day in <cache>/refused/). TOOLCHAIN_ALLOW_UNAVAILABLE=1 turns that 2 into 0.
# Full build logs: <cache>/logs/<name>-<version>.log. Idempotent; one tool at a time.
set -euo pipefail

TOOLCHAIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "${TOOLCHAIN_DIR}/versions.sh"

CACHE="${GITOPS_BOOTSTRAP_CACHE:-$HOME/.cache/gitops-bootstrap}"
TOOLS_DIR="${CACHE}/tools"
LOG_DIR="${CACHE}/logs"
WORK_DIR="${CACHE}/work"

export GOTOOLCHAIN=local        # never download a Go toolchain
export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false -mod=mod"
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"

# ---------------------------------------------------------------------------------------------
# tool metadata

tool_version() {
  case "$1" in
    sops) echo "$SOPS_VERSION" ;;
    pulumi) pulumi_cli_version ;;
    pulumi-kubernetes) echo "$PULUMI_KUBERNETES_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kubernetes) echo "$KUBERNETES_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    flux-source-controller) echo "$FLUX_SOURCE_CONTROLLER_VERSION" ;;
    flux-kustomize-controller) echo "$FLUX_KUSTOMIZE_CONTROLLER_VERSION" ;;
    argocd) echo "$ARGOCD_VERSION" ;;
    kustomize) echo "$KUSTOMIZE_VERSION" ;;
    redis) echo "$REDIS_VERSION" ;;
    sealed-secrets) echo "$SEALED_SECRETS_VERSION" ;;
    external-secrets) echo "$EXTERNAL_SECRETS_VERSION" ;;
    actionlint) echo "$ACTIONLINT_VERSION" ;;
    *) return 1 ;;
  esac
}

tool_bins() {
  case "$1" in
    sops) echo "sops" ;;
    pulumi) echo "pulumi" ;;
    pulumi-kubernetes) echo "pulumi-resource-kubernetes" ;;
    etcd) echo "etcd" ;;
    kubernetes) echo "kube-apiserver kube-controller-manager kube-scheduler kubectl" ;;
    kwok) echo "kwok kwokctl" ;;
    helm) echo "helm" ;;
    flux-source-controller) echo "source-controller" ;;
    flux-kustomize-controller) echo "kustomize-controller" ;;
    argocd) echo "argocd git-verify-wrapper.sh" ;;
    kustomize) echo "kustomize" ;;
    redis) echo "redis-server redis-cli" ;;
    sealed-secrets) echo "sealed-secrets-controller kubeseal" ;;
    external-secrets) echo "external-secrets" ;;
    actionlint) echo "actionlint" ;;
  esac
}

tool_dir() { echo "${TOOLS_DIR}/$1-$2"; }

tool_cached() { # name version
  local d b
  d="$(tool_dir "$1" "$2")/bin"
  for b in $(tool_bins "$1"); do [[ -x "$d/$b" ]] || return 1; done
  [[ "$1" != kwok || -f "$d/../stages.yaml" ]] || return 1
  [[ "$1" != flux-* && "$1" != argocd && "$1" != sealed-secrets ]] || compgen -G "$d/../crds/*.yaml" >/dev/null
}

pulumi_cli_version() { echo "$PULUMI_VERSION"; }

# ---------------------------------------------------------------------------------------------
# helpers

# module_served MODULE VERSION: 0 if the proxy serves it (downloads it into the module cache).
# A refusal (403 "not available") is remembered for a day under <cache>/refused/.
module_served() {
  local marker="${CACHE}/refused/${1//\//_}@$2"
  if [[ -n "$(find "$marker" -mmin -1440 2>/dev/null)" ]]; then return 1; fi
  local out
  if out="$(go mod download -json "$1@$2" 2>&1)"; then return 0; fi
  if grep -q -E '403|404|410|not available|not found|unknown revision' <<<"$out"; then
    mkdir -p "${CACHE}/refused" && printf '%s\n' "$out" >"$marker"
  fi
  return 1
}

# module_dir MODULE VERSION: prints the module's source dir in the module cache.
module_dir() {
  local out
  out="$(go mod download -json "$1@$2")" || { echo "$out" >&2; return 1; }
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$out"
}

# new_wrapper DIR: an empty wrapper module in DIR (recreated).
new_wrapper() {
  rm -rf "$1" && mkdir -p "$1"
  printf 'module gitops-bootstrap/toolchain/wrapper\n\ngo 1.26\n' >"$1/go.mod"
}

# tools_go DIR PKG...: blank-imports the main packages so `go mod tidy` keeps their deps.
tools_go() {
  local dir="$1" p
  shift
  {
    echo '//go:build tools'
    echo
    echo 'package tools'
    echo
    echo 'import ('
    for p in "$@"; do echo "	_ \"$p\""; done
    echo ')'
  } >"$dir/tools.go"
}

# copy_remote_replaces GOMOD WRAPPER_DIR: copies replace directives of GOMOD that do not point
# to a local path (=> ./x or ../x) into the wrapper module.
copy_remote_replaces() {
  local gomod="$1" dir="$2" line
  awk '
    /^replace[[:space:]]*\($/ { inblock=1; next }
    inblock && /^\)/ { inblock=0; next }
    inblock { print; next }
    /^replace[[:space:]]/ { sub(/^replace[[:space:]]+/, ""); print }
  ' "$gomod" | while IFS= read -r line; do
    line="${line%%//*}"
    [[ -n "${line// /}" ]] || continue
    [[ "$line" == *"=>"* ]] || continue
    local target="${line#*=>}"
    target="${target#"${target%%[![:space:]]*}"}"
    case "$target" in ./* | ../* | /*) continue ;; esac
    (cd "$dir" && go mod edit -replace "$(echo "${line%%=>*}" | xargs | tr ' ' '@')=$(echo "$target" | xargs | tr ' ' '@')")
  done
}

# build_pkgs WRAPPER_DIR OUT_BIN LDFLAGS PKG...: go build each main package into OUT_BIN.
build_pkgs() {
  local dir="$1" out="$2" ldflags="$3" p
  shift 3
  for p in "$@"; do
    echo "+ go build $p"
    (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out/$(basename "$p")" "$p")
  done
}

# ---------------------------------------------------------------------------------------------
# builders: build_<tool> VERSION OUT_BIN WORK

build_sops() {
  local v="$1" out="$2" w="$3"
  new_wrapper "$w"
  (cd "$w" && go mod edit -require "github.com/getsops/sops/v3@$v")
  copy_remote_replaces "$(module_dir github.com/getsops/sops/v3 "$v")/go.mod" "$w"
  tools_go "$w" github.com/getsops/sops/v3/cmd/sops
  (cd "$w" && go mod tidy)
  # sops' version.Version is a var holding the version without "v".
  build_pkgs "$w" "$out" "-X github.com/getsops/sops/v3/version.Version=${v#v}" \
    github.com/getsops/sops/v3/cmd/sops
}

build_actionlint() {
  local v="$1" out="$2" w="$3"
  new_wrapper "$w"
  (cd "$w" && go mod edit -require "github.com/rhysd/actionlint@$v")
  tools_go "$w" github.com/rhysd/actionlint/cmd/actionlint
  (cd "$w" && go mod tidy)
  # actionlint prints this var for -version (else it reads the build info, empty in a wrapper).
  build_pkgs "$w" "$out" "-X github.com/rhysd/actionlint.version=${v#v}" github.com/rhysd/actionlint/cmd/actionlint
}

build_pulumi() {
  local v="$1" out="$2" w="$3" pkgdir
  if ! module_served github.com/pulumi/pulumi/pkg/v3 "$v" || ! pkgdir="$(module_dir github.com/pulumi/pulumi/pkg/v3 "$v")"; then
    unavailable "github.com/pulumi/pulumi/pkg/v3@$v is not served by the Go module proxy"
    return 1
  fi
  new_wrapper "$w"
  (cd "$w" && go mod edit -require "github.com/pulumi/pulumi/pkg/v3@$v" -require "github.com/pulumi/pulumi/sdk/v3@$v")
  copy_remote_replaces "$pkgdir/go.mod" "$w"
  tools_go "$w" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  (cd "$w" && go mod tidy)
  build_pkgs "$w" "$out" "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  # The Node.js language host lives in its own module; build it too when the proxy serves it.
  local lh=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 lv
  for lv in "$PULUMI_VERSION" "$v"; do
    if module_served "$lh" "$lv"; then
      local lw="$w-language-nodejs"
      new_wrapper "$lw"
      (cd "$lw" && go mod edit -require "$lh@$lv" -require "github.com/pulumi/pulumi/sdk/v3@$lv")
      copy_remote_replaces "$(module_dir "$lh" "$lv")/go.mod" "$lw"
      tools_go "$lw" "$lh"
      (cd "$lw" && go mod tidy)
      build_pkgs "$lw" "$out" "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$lv" "$lh"
      mv "$out/v3" "$out/pulumi-language-nodejs"
      return 0
    fi
  done
  echo "NOTE: $lh is not served at $PULUMI_VERSION nor $v: no pulumi-language-nodejs;" \
    "run Pulumi programs inline through the Automation API (LocalWorkspace with a program function)."
}

build_pulumi-kubernetes() {
  local v="$1" out="$2" w="$3" src
  local mod=github.com/pulumi/pulumi-kubernetes/provider/v4 mv="$PULUMI_KUBERNETES_MODULE_VERSION"
  if ! module_served "$mod" "$mv" || ! src="$(module_dir "$mod" "$mv")"; then
    unavailable "$mod@$mv is not served by the Go module proxy"
    return 1
  fi
  # The main package go:embeds generated files that are not in the module zip: work on a copy.
  rm -rf "$w" && mkdir -p "$w" && cp -a "$src/." "$w/" && chmod -R u+w "$w"
  # Its go.mod may point sibling modules at local paths (=> ../sdk): use the published ones.
  local old
  for old in $(awk '/=>[[:space:]]*\.\.?\//{for(i=1;i<=NF;i++) if($i=="=>") print $(i-1)}' "$w/go.mod"); do
    (cd "$w" && go mod edit -dropreplace "$old")
  done
  local cmd="$w/cmd/pulumi-resource-kubernetes"
  # main.go embeds schema-embed.json, terraform-mapping-embed.json and helm-mapping.json; the
  # first two are made by its `go generate` (generate.go: schema.json with "version" set, and
  # terraform-mapping.json, both re-marshalled).
  if [[ ! -f "$cmd/schema-embed.json" || ! -f "$cmd/terraform-mapping-embed.json" ]]; then
    (cd "$w" && VERSION="${v#v}" go generate ./cmd/pulumi-resource-kubernetes/)
  fi
  (cd "$w" && go mod tidy &&
    go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${v#v}" \
      -o "$out/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
}

build_etcd() {
  local v="$1" out="$2" w="$3" d
  d="$(module_dir go.etcd.io/etcd/server/v3 "$v")"
  new_wrapper "$w"
  (cd "$w" && go mod edit \
    -require "go.etcd.io/etcd/server/v3@$v" -require "go.etcd.io/etcd/api/v3@$v" \
    -require "go.etcd.io/etcd/client/pkg/v3@$v" -require "go.etcd.io/etcd/client/v3@$v" \
    -require "go.etcd.io/etcd/pkg/v3@$v")
  copy_remote_replaces "$d/go.mod" "$w"
  tools_go "$w" go.etcd.io/etcd/server/v3
  (cd "$w" && go mod tidy)
  # api/version.Version is a const (right by construction); GitSHA is the settable var.
  build_pkgs "$w" "$out" "-X go.etcd.io/etcd/api/v3/version.GitSHA=module-$v" go.etcd.io/etcd/server/v3
  mv "$out/v3" "$out/etcd"
}

build_kubernetes() {
  local v="$1" out="$2" w="$3" d staging m
  d="$(module_dir k8s.io/kubernetes "$v")"
  local minor="${v#v1.}" # 35.4
  local stv="v0.${minor}" # staging modules are published as v0.<minor>.<patch>
  new_wrapper "$w"
  (cd "$w" && go mod edit -require "k8s.io/kubernetes@$v")
  # godebug defaults of the kubernetes main module
  local gd
  gd="$(sed -n 's/^godebug[[:space:]]\+//p' "$d/go.mod")"
  if [[ -n "$gd" ]]; then (cd "$w" && go mod edit -godebug "$gd"); fi
  staging="$(sed -n 's|^[[:space:]]*\(k8s.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*|\1|p' "$d/go.mod")"
  [[ -n "$staging" ]] || { echo "no staging replaces found in $d/go.mod" >&2; return 1; }
  for m in $staging; do (cd "$w" && go mod edit -replace "$m=$m@$stv"); done
  copy_remote_replaces "$d/go.mod" "$w"
  local pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  tools_go "$w" "${pkgs[@]}"
  (cd "$w" && go mod tidy)
  local major=1 kminor="${minor%%.*}" ld="" k
  local commit="module-$v" date
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for k in client-go/pkg/version component-base/version; do
    ld+=" -X k8s.io/$k.gitVersion=$v -X k8s.io/$k.gitMajor=$major -X k8s.io/$k.gitMinor=$kminor"
    ld+=" -X k8s.io/$k.gitCommit=$commit -X k8s.io/$k.gitTreeState=clean -X k8s.io/$k.buildDate=$date"
  done
  build_pkgs "$w" "$out" "$ld" "${pkgs[@]}"
}

build_kwok() {
  local v="$1" out="$2" w="$3" d
  d="$(module_dir sigs.k8s.io/kwok "$v")"
  new_wrapper "$w"
  (cd "$w" && go mod edit -require "sigs.k8s.io/kwok@$v")
  copy_remote_replaces "$d/go.mod" "$w"
  tools_go "$w" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
  (cd "$w" && go mod tidy)
  # Same ldflags as kwok's hack/releases.sh; KubeVersion = the kube-apiserver we build.
  build_pkgs "$w" "$out" "-X sigs.k8s.io/kwok/pkg/consts.Version=$v -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBERNETES_VERSION#v}" \
    sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
  # `kwok` refuses to start without stages ("no stages found"): ship the upstream "fast" node
  # and pod stages plus the lease heartbeat as <tool dir>/stages.yaml (kwok --config=...).
  local st="$d/kustomize/stage" f
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo '---'
    cat "$st/$f"
  done >"$(dirname "$out")/stages.yaml"
}

build_helm() {
  local v="$1" out="$2" w="$3" d cg
  d="$(module_dir helm.sh/helm/v3 "$v")"
  new_wrapper "$w"
  (cd "$w" && go mod edit -require "helm.sh/helm/v3@$v")
  copy_remote_replaces "$d/go.mod" "$w"
  tools_go "$w" helm.sh/helm/v3/cmd/helm
  (cd "$w" && go mod tidy)
  # Same ldflags as helm's Makefile (k8s version from the client-go it is built with).
  cg="$(cd "$w" && go list -m -f '{{.Version}}' k8s.io/client-go)" # v0.35.1
  local kmin="${cg#v0.}"
  kmin="${kmin%%.*}"
  build_pkgs "$w" "$out" "-X helm.sh/helm/v3/internal/version.version=$v -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kmin \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kmin" \
    helm.sh/helm/v3/cmd/helm
}

# Flux controllers. Neither main.go nor internal/ has a version variable to set with -ldflags:
# the module version is in the binary's build info (`go version -m`) and in BUILD_INFO.
# flux_controller MODULE VERSION OUT_BIN WORK BIN: builds the module's root main package as BIN
# and copies the module's CRDs (config/crd/bases) to <tool dir>/crds/, for the test to install.
flux_controller() {
  local mod="$1" v="$2" out="$3" w="$4" bin="$5" d
  if ! module_served "$mod" "$v" || ! d="$(module_dir "$mod" "$v")"; then
    unavailable "$mod@$v is not served by the Go module proxy"
    return 1
  fi
  new_wrapper "$w"
  (cd "$w" && go mod edit -require "$mod@$v")
  copy_remote_replaces "$d/go.mod" "$w"
  # A pinned dependency the proxy refuses (github.com/fluxcd/pkg/artifact v0.18.3 for
  # source-controller v1.9.6) is replaced by the nearest served version (versions.sh).
  local m
  for m in $(sed -n 's|^[[:space:]]*\(github.com/fluxcd/pkg/artifact\)[[:space:]].*|\1|p' "$d/go.mod"); do
    (cd "$w" && go mod edit -replace "$m=$m@$FLUX_PKG_ARTIFACT_VERSION")
  done
  tools_go "$w" "$mod"
  # -e: modules only the controllers' own tests import are refused too (source-controller's
  # github.com/fluxcd/pkg/helmtestserver v0.40.2); the binary does not need them.
  (cd "$w" && go mod tidy -e) || return 1
  build_pkgs "$w" "$out" "" "$mod" || return 1
  [[ "$(basename "$mod")" == "$bin" ]] || mv "$out/$(basename "$mod")" "$out/$bin"
  mkdir -p "$(dirname "$out")/crds"
  cp "$d"/config/crd/bases/*.yaml "$(dirname "$out")/crds/" || return 1
  chmod 644 "$(dirname "$out")"/crds/*.yaml
}

build_flux-source-controller() {
  flux_controller github.com/fluxcd/source-controller "$1" "$2" "$3" source-controller
}

build_flux-kustomize-controller() {
  flux_controller github.com/fluxcd/kustomize-controller "$1" "$2" "$3" kustomize-controller
}

# Argo CD v3.6.1: the multi-call `argocd` binary (its role comes from ARGOCD_BINARY_NAME, e.g.
# argocd-repo-server, argocd-application-controller). Its go.mod says `go 1.27.0`, so this builder
# (only this one, and kustomize's) runs with GOTOOLCHAIN=$ARGOCD_GOTOOLCHAIN, the approved Go the
# module proxy serves. Built in a copy of the module (its go.mod's replaces and godebug apply as
# in Argo CD's own build); its `gitops-engine/v3 => ./gitops-engine` replace points at a nested
# module that is not in the module zip, so it is dropped and the published
# github.com/argoproj/argo-cd/gitops-engine/v3 at the same version is used (go.mod requires it).
# Also ships hack/git-verify-wrapper.sh (the repo-server runs it from PATH on every sync) and
# the CRDs (manifests/crds) in <tool dir>/crds.
build_argocd() {
  local v="$1" out="$2" w="$3" d
  export GOTOOLCHAIN="$ARGOCD_GOTOOLCHAIN"
  if ! module_served github.com/argoproj/argo-cd/v3 "$v" || ! d="$(module_dir github.com/argoproj/argo-cd/v3 "$v")"; then
    unavailable "github.com/argoproj/argo-cd/v3@$v is not served by the Go module proxy"
    return 1
  fi
  rm -rf "$w" && mkdir -p "$w" && cp -a "$d/." "$w/" && chmod -R u+w "$w"
  (cd "$w" && go mod edit -dropreplace github.com/argoproj/argo-cd/gitops-engine/v3) || return 1
  # Argo CD's Makefile ldflags (PACKAGE=github.com/argoproj/argo-cd/v3/common): version from
  # VERSION, kubectlVersion = the client-go version. gitCommit is not in the module zip; the tag
  # is set with a clean tree state so `argocd version` reports v<VERSION> as a release does.
  local kv ver pkg=github.com/argoproj/argo-cd/v3/common
  ver="$(cat "$w/VERSION")"
  kv="$(cd "$w" && go list -m k8s.io/client-go | head -n 1 | rev | cut -d' ' -f1 | rev)" || return 1
  local ld="-X $pkg.version=$ver -X $pkg.buildDate=$(date -u +'%Y-%m-%dT%H:%M:%SZ')"
  ld+=" -X $pkg.gitCommit=module-$v -X $pkg.gitTag=$v -X $pkg.gitTreeState=clean -X $pkg.kubectlVersion=$kv"
  ld+=" -X $pkg.extraBuildInfo=gitops-bootstrap-e2e-toolchain"
  echo "+ go build ./cmd ($(go version))"
  (cd "$w" && go build -trimpath -ldflags "-s -w $ld" -o "$out/argocd" ./cmd) || return 1
  install -m 755 "$d/hack/git-verify-wrapper.sh" "$out/git-verify-wrapper.sh" || return 1
  mkdir -p "$(dirname "$out")/crds"
  cp "$d"/manifests/crds/*-crd.yaml "$(dirname "$out")/crds/" || return 1
  chmod 644 "$(dirname "$out")"/crds/*.yaml
}

# kustomize at the version Argo CD's hack/tool-versions.sh ships (KUSTOMIZE_VERSION there);
# v5.8.3's go.mod needs Go 1.27 too. ldflags as kustomize's release build (provenance vars).
build_kustomize() {
  local v="$1" out="$2" w="$3" d
  export GOTOOLCHAIN="$ARGOCD_GOTOOLCHAIN"
  local mod=sigs.k8s.io/kustomize/kustomize/v5
  if ! module_served "$mod" "$v" || ! d="$(module_dir "$mod" "$v")"; then
    unavailable "$mod@$v is not served by the Go module proxy"
    return 1
  fi
  new_wrapper "$w"
  (cd "$w" && go mod edit -require "$mod@$v") || return 1
  copy_remote_replaces "$d/go.mod" "$w"
  # Its pinned k8s.io/kube-openapi pseudo-version is refused by the proxy: use the served one
  # of versions.sh (same API for what kyaml imports).
  (cd "$w" && go mod edit -replace "k8s.io/kube-openapi=k8s.io/kube-openapi@$KUSTOMIZE_KUBE_OPENAPI_VERSION") || return 1
  tools_go "$w" "$mod"
  (cd "$w" && go mod tidy) || return 1
  local p=sigs.k8s.io/kustomize/api/provenance
  build_pkgs "$w" "$out" "-X $p.version=kustomize/$v -X $p.gitCommit=module-$v -X $p.buildDate=$(date -u +'%Y-%m-%dT%H:%M:%SZ')" "$mod" || return 1
  mv "$out/v5" "$out/kustomize"
}

# Bitnami Sealed Secrets: the controller (as sealed-secrets-controller) and kubeseal, with
# `-X main.VERSION` as its Makefile sets it. Its go.mod names the module
# github.com/bitnami/sealed-secrets, a path the proxy refuses, so it is built inside a copy of
# the served github.com/bitnami-labs/sealed-secrets module directory (as Argo CD is). Ships the
# SealedSecret CRD (helm/sealed-secrets/crds) in <tool dir>/crds.
build_sealed-secrets() {
  local v="$1" out="$2" w="$3" d
  local mod=github.com/bitnami-labs/sealed-secrets
  if ! module_served "$mod" "$v" || ! d="$(module_dir "$mod" "$v")"; then
    unavailable "$mod@$v is not served by the Go module proxy"
    return 1
  fi
  rm -rf "$w" && mkdir -p "$w" && cp -a "$d/." "$w/" && chmod -R u+w "$w"
  echo "+ go build ./cmd/controller ./cmd/kubeseal ($(go version))"
  (cd "$w" && go build -trimpath -ldflags "-s -w -X main.VERSION=$v" -o "$out/sealed-secrets-controller" ./cmd/controller) || return 1
  (cd "$w" && go build -trimpath -ldflags "-s -w -X main.VERSION=$v" -o "$out/kubeseal" ./cmd/kubeseal) || return 1
  mkdir -p "$(dirname "$out")/crds"
  cp "$d"/helm/sealed-secrets/crds/*.yaml "$(dirname "$out")/crds/" || return 1
  chmod 644 "$(dirname "$out")"/crds/*.yaml
}

# External Secrets Operator: the one binary of the chart's three Deployments (the controller; the
# `webhook` and `certcontroller` subcommands). Its go.mod replaces github.com/Masterminds/sprig/v3
# with ESO's fork, so it is built inside a copy of the module (that replace then applies as in its
# own build). main has no version variable to set with -ldflags (its Makefile sets none either):
# the module version is in BUILD_INFO. No CRD set: the chart ships its CRDs (templates/crds).
build_external-secrets() {
  local v="$1" out="$2" w="$3" d
  local mod=github.com/external-secrets/external-secrets
  if ! module_served "$mod" "$v" || ! d="$(module_dir "$mod" "$v")"; then
    unavailable "$mod@$v is not served by the Go module proxy"
    return 1
  fi
  rm -rf "$w" && mkdir -p "$w" && cp -a "$d/." "$w/" && chmod -R u+w "$w"
  echo "+ go build . ($(go version))"
  (cd "$w" && go build -trimpath -ldflags "-s -w" -o "$out/external-secrets" .) || return 1
}

# redis for Argo CD's cache: Debian's redis-server/redis-tools packages, fetched with
# `apt-get download` and unpacked with `dpkg -x` into the tool dir (no system install, so a
# fresh machine gets it from this script). The packages' shared-library dependencies that the
# base image lacks are unpacked beside them (lib/); bin/redis-server and bin/redis-cli are
# wrappers setting LD_LIBRARY_PATH to that dir.
build_redis() {
  local v="$1" out="$2" w="$3" root dv
  rm -rf "$w" && mkdir -p "$w/debs" "$w/root"
  # Whatever redis the Debian mirror offers now (security updates replace versions there), of the
  # major.minor in REDIS_VERSION; the exact version goes into the build log.
  dv="$(apt-cache policy redis-tools 2>/dev/null | awk '$1=="Candidate:"{print $2}')"
  if [[ -z "$dv" || "$dv" == "(none)" ]]; then
    apt-get update -qq || true
    dv="$(apt-cache policy redis-tools 2>/dev/null | awk '$1=="Candidate:"{print $2}')"
  fi
  [[ -n "$dv" && "$dv" != "(none)" ]] || { echo "Debian offers no redis-tools here (apt-cache policy redis-tools)"; return 1; }
  [[ "$dv" == *":${REDIS_VERSION}."* ]] || { echo "Debian offers redis $dv, not $REDIS_VERSION.x: set REDIS_VERSION in versions.sh"; return 1; }
  echo "+ Debian redis $dv"
  local p dep extra=()
  # Libraries redis-tools links that are not installed here (libjemalloc2, liblzf1 on Debian 12).
  for dep in $(apt-cache depends --no-recommends --no-suggests "redis-tools=$dv" | awk '$1=="Depends:"{print $2}' | grep -v '^<' | sort -u); do
    case "$dep" in redis-* | adduser | lsb-base) continue ;; esac
    dpkg -s "$dep" >/dev/null 2>&1 || extra+=("$dep")
  done
  echo "+ apt-get download redis-server=$dv redis-tools=$dv ${extra[*]}"
  (cd "$w/debs" && apt-get download "redis-server=$dv" "redis-tools=$dv" "${extra[@]}") || return 1
  for p in "$w"/debs/*.deb; do dpkg -x "$p" "$w/root" || return 1; done
  # The wrappers point at the final tool dir (the driver moves <tmp> there when this succeeds).
  local final_root
  final_root="$(tool_dir redis "$v")/root"
  mv "$w/root" "$(dirname "$out")/root" || return 1
  local libdirs="" ld
  for ld in $(cd "$(dirname "$out")/root" && find . -name '*.so*' -printf '%h\n' | sort -u); do
    libdirs+="${final_root}/${ld#./}:"
  done
  for p in redis-server redis-cli; do
    printf '#!/bin/sh\n# Debian redis %s unpacked by build.sh (dpkg -x), not installed.\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:-}" exec "%s" "$@"\n' \
      "$dv" "$libdirs" "$final_root/usr/bin/$p" >"$out/$p"
    chmod 755 "$out/$p"
  done
  LD_LIBRARY_PATH="${libdirs//${final_root}/$(dirname "$out")/root}" "$(dirname "$out")/root/usr/bin/redis-server" --version
}

# ---------------------------------------------------------------------------------------------
# CRDs: the sandbox installs the CRDs of the controllers the e2e runs, from their modules.

# set|module|version|folder in the module|file pattern
CRD_SETS=(
  "argo-cd|github.com/argoproj/argo-cd/v3|ARGOCD_VERSION|manifests/crds|*-crd.yaml"
  "flux-source|github.com/fluxcd/source-controller|FLUX_SOURCE_CONTROLLER_VERSION|config/crd/bases|*.yaml"
  "flux-kustomize|github.com/fluxcd/kustomize-controller|FLUX_KUSTOMIZE_CONTROLLER_VERSION|config/crd/bases|*.yaml"
  "flux-helm|github.com/fluxcd/helm-controller|FLUX_HELM_CONTROLLER_VERSION|config/crd/bases|*.yaml"
  "sealed-secrets|github.com/bitnami-labs/sealed-secrets|SEALED_SECRETS_VERSION|helm/sealed-secrets/crds|*.yaml"
)

crd_dir() { echo "${CACHE}/crds/$1-$2"; } # set version

# print_crds: "set dir" per CRD set.
print_crds() {
  local row set mod var
  for row in "${CRD_SETS[@]}"; do
    IFS='|' read -r set mod var _ _ <<<"$row"
    echo "$set $(crd_dir "$set" "${!var}")"
  done
}

# build_crds: copies each set's CRDs from its module (downloaded into the Go module cache, not
# built) unless that version is cached already. Argo CD's module needs Go 1.27 even to download.
build_crds() {
  local row set mod var sub pattern v dir tmp d n start
  for row in "${CRD_SETS[@]}"; do
    IFS='|' read -r set mod var sub pattern <<<"$row"
    v="${!var}"
    dir="$(crd_dir "$set" "$v")"
    if compgen -G "$dir/*.yaml" >/dev/null; then
      echo "✔ crds $set $v (cached)"
      SUMMARY+=("crds:$set|$v|cached|0")
      continue
    fi
    start=$(date +%s)
    d="$(
      [[ "$set" != argo-cd ]] || export GOTOOLCHAIN="$ARGOCD_GOTOOLCHAIN"
      module_served "$mod" "$v" && module_dir "$mod" "$v"
    )" || d=""
    if [[ -z "$d" ]]; then
      echo "⚠ crds $set $v unavailable: $mod@$v is not served by the Go module proxy"
      SUMMARY+=("crds:$set|$v|unavailable|$(($(date +%s) - start))")
      [[ $RC == 1 || "${TOOLCHAIN_ALLOW_UNAVAILABLE:-}" == 1 ]] || RC=2
      continue
    fi
    mkdir -p "${CACHE}/crds"
    tmp="$(mktemp -d "${CACHE}/crds/.tmp.${set}-${v}.XXXXXX")"
    # shellcheck disable=SC2086 # the pattern is a glob
    if cp "$d/$sub/"$pattern "$tmp/" && chmod 755 "$tmp" && chmod 644 "$tmp"/*.yaml; then
      n="$(find "$tmp" -name '*.yaml' | wc -l)"
      printf '%s\n' "$mod $v $sub/$pattern, copied $(date -u +%FT%TZ)" >"$tmp/SOURCE"
      rm -rf "$dir" && mv -T "$tmp" "$dir"
      echo "✔ crds $set $v: $n CRDs from $mod/$sub"
      SUMMARY+=("crds:$set|$v|cold|$(($(date +%s) - start))")
    else
      rm -rf "$tmp"
      echo "✗ crds $set $v: no $sub/$pattern in $d"
      SUMMARY+=("crds:$set|$v|FAILED|$(($(date +%s) - start))")
      RC=1
    fi
  done
  return 0
}

# ---------------------------------------------------------------------------------------------
# Charts: the upstream Helm charts the e2e installs through the product (what a user's cluster
# gets), as <cache>/charts/<chart>-<version>.tgz.

# chart|repository|version variable
CHART_SETS=(
  "argo-cd|https://argoproj.github.io/argo-helm|ARGO_CD_CHART_VERSION"
  "flux2|https://fluxcd-community.github.io/helm-charts|FLUX2_CHART_VERSION"
  "sealed-secrets|https://bitnami-labs.github.io/sealed-secrets|SEALED_SECRETS_CHART_VERSION"
  "external-secrets|https://charts.external-secrets.io|EXTERNAL_SECRETS_CHART_VERSION"
)

chart_file() { echo "${CACHE}/charts/$1-$2.tgz"; } # chart version

# print_charts: "chart file" per chart.
print_charts() {
  local row chart var
  for row in "${CHART_SETS[@]}"; do
    IFS='|' read -r chart _ var <<<"$row"
    echo "$chart $(chart_file "$chart" "${!var}")"
  done
}

# The name and version a chart archive declares (its Chart.yaml), as "name version".
chart_identity() {
  local helm
  helm="$(tool_dir helm "$HELM_VERSION")/bin/helm"
  "$helm" show chart "$1" 2>/dev/null | awk '/^name:/{n=$2} /^version:/{v=$2} END{print n, v}'
}

# build_charts: each chart from the mirror folder (GITOPS_BOOTSTRAP_CHART_MIRROR, checked against
# its SHA256SUMS when it has one) or `helm pull`, kept only if its Chart.yaml says the name and
# version asked for. Needs the helm tool.
build_charts() {
  local row chart repo var v out tmp start src mirror="${GITOPS_BOOTSTRAP_CHART_MIRROR:-}"
  if ! tool_cached helm "$HELM_VERSION"; then
    echo "✗ charts: helm $HELM_VERSION is not built yet (build.sh helm charts)"
    RC=1
    return 0
  fi
  for row in "${CHART_SETS[@]}"; do
    IFS='|' read -r chart repo var <<<"$row"
    v="${!var}"
    out="$(chart_file "$chart" "$v")"
    if [[ -f "$out" ]]; then
      echo "✔ chart $chart $v (cached)"
      SUMMARY+=("chart:$chart|$v|cached|0")
      continue
    fi
    start=$(date +%s)
    mkdir -p "${CACHE}/charts"
    tmp="$(mktemp -d "${CACHE}/charts/.tmp.${chart}-${v}.XXXXXX")"
    if [[ -n "$mirror" ]]; then
      src="mirror $mirror"
      if [[ ! -f "$mirror/$chart-$v.tgz" ]]; then
        echo "✗ chart $chart $v: no $chart-$v.tgz in GITOPS_BOOTSTRAP_CHART_MIRROR=$mirror"
      elif [[ -f "$mirror/SHA256SUMS" ]] && ! (cd "$mirror" && grep " $chart-$v.tgz\$" SHA256SUMS | sha256sum --check --quiet -); then
        echo "✗ chart $chart $v: $mirror/$chart-$v.tgz does not match its SHA256SUMS line (or has none)"
      else
        cp "$mirror/$chart-$v.tgz" "$tmp/"
      fi
    else
      src="helm pull $chart --repo $repo"
      "$(tool_dir helm "$HELM_VERSION")/bin/helm" pull "$chart" --repo "$repo" --version "$v" --destination "$tmp" >"$tmp/pull.log" 2>&1 ||
        echo "✗ chart $chart $v: helm pull from $repo failed: $(tail -n1 "$tmp/pull.log")"
    fi
    if [[ -f "$tmp/$chart-$v.tgz" && "$(chart_identity "$tmp/$chart-$v.tgz")" == "$chart $v" ]]; then
      chmod 644 "$tmp/$chart-$v.tgz"
      mv "$tmp/$chart-$v.tgz" "$out"
      rm -rf "$tmp"
      echo "✔ chart $chart $v from $src"
      SUMMARY+=("chart:$chart|$v|cold|$(($(date +%s) - start))")
    else
      [[ ! -f "$tmp/$chart-$v.tgz" ]] || echo "✗ chart $chart $v: the archive from $src says $(chart_identity "$tmp/$chart-$v.tgz")"
      rm -rf "$tmp"
      SUMMARY+=("chart:$chart|$v|FAILED|$(($(date +%s) - start))")
      RC=1
    fi
  done
  return 0
}

# ---------------------------------------------------------------------------------------------
# driver

UNAVAILABLE_REASON=""
unavailable() { UNAVAILABLE_REASON="$1"; echo "UNAVAILABLE: $1"; }

declare -a SUMMARY=()
RC=0

build_one() {
  local name="$1" v dir log tmp start secs
  v="$(tool_version "$name")"
  dir="$(tool_dir "$name" "$v")"
  if tool_cached "$name" "$v"; then
    echo "✔ $name $v (cached)"
    SUMMARY+=("$name|$v|cached|0")
    return 0
  fi
  mkdir -p "$TOOLS_DIR" "$LOG_DIR" "$WORK_DIR"
  log="${LOG_DIR}/${name}-${v}.log"
  tmp="$(mktemp -d "${TOOLS_DIR}/.tmp.${name}-${v}.XXXXXX")"
  chmod 755 "$tmp" && mkdir -p "$tmp/bin"
  echo "► building $name $v …"
  start=$(date +%s)
  UNAVAILABLE_REASON=""
  local ok=0
  # Runs in a subshell with errexit so any failing step fails the build. Not as the condition of
  # an `if`: bash ignores errexit inside a condition, so a failing `go mod tidy` went unnoticed.
  local rc=0
  set +e
  (
    set -euo pipefail
    echo "== $(date -u +%FT%TZ) building $name $v ($(go version))"
    "build_${name}" "$v" "$tmp/bin" "${WORK_DIR}/${name}-${v}"
    echo "== done"
  ) >"$log" 2>&1
  rc=$?
  set -e
  [[ $rc != 0 ]] || ok=1
  secs=$(($(date +%s) - start))
  if [[ $ok == 1 ]] && [[ -n "$(ls -A "$tmp/bin")" ]]; then
    local b
    for b in $(tool_bins "$name"); do
      [[ -x "$tmp/bin/$b" ]] || { ok=0; echo "missing binary $b" >>"$log"; }
    done
  else
    ok=0
  fi
  if [[ $ok == 1 ]]; then
    printf '%s\n' "$name $v built $(date -u +%FT%TZ) with $(go version | awk '{print $3}')" >"$tmp/BUILD_INFO"
    rm -rf "$dir" && mv -T "$tmp" "$dir" # atomic: the versioned dir appears complete or not at all
    echo "✔ $name $v built in ${secs}s"
    SUMMARY+=("$name|$v|cold|$secs")
    rm -rf "${WORK_DIR:?}/${name}-${v}"*
  else
    rm -rf "$tmp"
    local reason
    reason="$(grep -m1 '^UNAVAILABLE: ' "$log" | sed 's/^UNAVAILABLE: //' || true)"
    if [[ -n "$reason" ]]; then
      echo "⚠ $name $v unavailable: $reason (log: $log)"
      SUMMARY+=("$name|$v|unavailable|$secs")
      [[ $RC == 1 || "${TOOLCHAIN_ALLOW_UNAVAILABLE:-}" == 1 ]] || RC=2
    else
      reason="$(grep -v '^+ \|^==' "$log" | grep -m1 -i -E 'error|cannot|not |fail' || tail -n1 "$log")"
      echo "✗ $name $v failed after ${secs}s: ${reason} (log: $log)"
      tail -n 25 "$log" | sed 's/^/    /'
      SUMMARY+=("$name|$v|FAILED|$secs")
      RC=1
    fi
  fi
}

print_path() {
  local name v d parts=()
  for name in "${TOOLCHAIN_TOOLS[@]}"; do
    v="$(tool_version "$name")"
    d="$(tool_dir "$name" "$v")/bin"
    [[ -d "$d" ]] && parts+=("$d")
  done
  local IFS=:
  echo "${parts[*]}"
}

main() {
case "${1:-}" in
  --print-path)
    TOOLCHAIN_OFFLINE=1
    print_path
    return 0
    ;;
  --print-env)
    TOOLCHAIN_OFFLINE=1
    p="$(print_path)"
    echo "export GITOPS_BOOTSTRAP_TOOLCHAIN_PATH='$p'"
    echo "export PATH='$p':\"\$PATH\""
    echo "export PULUMI_CLI_VERSION='$(tool_version pulumi)'"
    echo "export PULUMI_KUBERNETES_VERSION='$PULUMI_KUBERNETES_VERSION'"
    echo "export KUBERNETES_VERSION='$KUBERNETES_VERSION'"
    echo "export ETCD_VERSION='$ETCD_VERSION'"
    echo "export KWOK_STAGES='$(tool_dir kwok "$KWOK_VERSION")/stages.yaml'"
    echo "export FLUX_SOURCE_CRDS='$(tool_dir flux-source-controller "$FLUX_SOURCE_CONTROLLER_VERSION")/crds'"
    echo "export FLUX_KUSTOMIZE_CRDS='$(tool_dir flux-kustomize-controller "$FLUX_KUSTOMIZE_CONTROLLER_VERSION")/crds'"
    echo "export ARGOCD_CRDS='$(tool_dir argocd "$ARGOCD_VERSION")/crds'"
    echo "export GITOPS_BOOTSTRAP_CRDS='${CACHE}/crds'"
    echo "export PULUMI_SKIP_UPDATE_CHECK=true"
    echo "export SOPS_DISABLE_VERSION_CHECK=1"
    return 0
    ;;
  --list)
    TOOLCHAIN_OFFLINE=1
    for name in "${TOOLCHAIN_TOOLS[@]}"; do
      v="$(tool_version "$name")"
      if tool_cached "$name" "$v"; then s=cached; else s=missing; fi
      echo "$name $v $s $(tool_dir "$name" "$v")/bin"
    done
    while read -r name dir; do
      if compgen -G "$dir/*.yaml" >/dev/null; then s=cached; else s=missing; fi
      echo "crds:$name ${dir##*/${name}-} $s $dir"
    done < <(print_crds)
    while read -r name file; do
      if [[ -f "$file" ]]; then s=cached; else s=missing; fi
      echo "chart:$name $(basename "$file" .tgz | sed "s/^${name}-//") $s $file"
    done < <(print_charts)
    return 0
    ;;
  --print-crds)
    print_crds
    return 0
    ;;
  --print-charts)
    print_charts
    return 0
    ;;
  -h | --help)
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    return 0
    ;;
esac

want=("$@")
[[ ${#want[@]} -gt 0 ]] || want=("${TOOLCHAIN_TOOLS[@]}" crds charts)
for t in "${want[@]}"; do
  [[ "$t" == crds || "$t" == charts ]] || tool_version "$t" >/dev/null 2>&1 ||
    { echo "unknown tool: $t (known: ${TOOLCHAIN_TOOLS[*]} crds charts)" >&2; return 64; }
done

total_start=$(date +%s)
for t in "${want[@]}"; do
  case "$t" in
    crds) build_crds ;;
    charts) build_charts ;;
    *) build_one "$t" ;;
  esac
done
total=$(($(date +%s) - total_start))

echo
printf '%-26s %-10s %-12s %8s\n' TOOL VERSION STATE SECONDS
for row in "${SUMMARY[@]}"; do
  IFS='|' read -r n v s secs <<<"$row"
  printf '%-26s %-10s %-12s %8s\n' "$n" "$v" "$s" "$secs"
done
printf '%-26s %-10s %-12s %8s\n' total "" "" "$total"
return "$RC"
}

# Everything is in functions, and the last command is on the line bash reads with main, so
# editing this file while it runs cannot break the run (a separate `exit` line was read after
# main returned, from an offset that an edit had moved).
main "$@"; exit $?
