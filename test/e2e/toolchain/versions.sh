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
# The Pulumi CLI (github.com/pulumi/pulumi/pkg/v3) is built at the version of the npm
# @pulumi/pulumi SDK: 3.276.0 is served by both the npm registry and the Go module proxy.
: "${PULUMI_VERSION:=v${_v:-3.276.0}}"
unset _v

# The Kubernetes provider plugin (pulumi-resource-kubernetes). The Go module proxy serves
# github.com/pulumi/pulumi-kubernetes/provider/v4 at one commit only, f47bc2d6 of 2026-01-15,
# a day before the v4.25.0 tag (144dd813, 2026-01-16). Two versions, kept apart:
# - the MODULE version: what is fetched and built;
# - the PLUGIN version: what the binary reports (pkg/version.Version) and names its cache dir.
#   It is labelled as what it is, a pre-release of 4.25.0 (Pulumi's own dev-build form
#   <next>-alpha.<commit unix time>+<commit>), so it is >= 4.24.1, the newest release it
#   contains, which is the @pulumi/kubernetes SDK pinned in package.json; the engine's
#   "expected to have version >=" check then holds without being silenced.
: "${PULUMI_KUBERNETES_MODULE_VERSION:=v4.0.0-20260115033456-f47bc2d6f199}"
: "${PULUMI_KUBERNETES_VERSION:=v4.25.0-alpha.1768448096+f47bc2d6}"

: "${SOPS_VERSION:=v3.13.3}"          # github.com/getsops/sops/v3, newest v3.x
: "${ETCD_VERSION:=v3.6.16}"          # go.etcd.io/etcd/server/v3, newest v3.6.x
: "${KUBERNETES_VERSION:=v1.35.4}"    # k8s.io/kubernetes, newest v1.35.x (staging modules: v0.35.4)
: "${KWOK_VERSION:=v0.8.0}"           # sigs.k8s.io/kwok, newest release
: "${HELM_VERSION:=v3.22.0}"          # helm.sh/helm/v3, newest v3.x

# Flux's controllers, run by the e2e tests in place of the flux2 chart's pods. Flux 2.9's pair
# (flux2 v2.9.5 pins these): the newest that builds with Go 1.26 (v1.10.x need Go 1.27) and whose
# dependencies are served (Flux 2.8's kustomize-controller v1.8.x is refused). The chart the
# product installs stays at Flux 2.8; the APIs the tests use (GitRepository v1, Kustomization v1)
# are the same.
: "${FLUX_SOURCE_CONTROLLER_VERSION:=v1.9.6}"     # github.com/fluxcd/source-controller
: "${FLUX_KUSTOMIZE_CONTROLLER_VERSION:=v1.9.6}"  # github.com/fluxcd/kustomize-controller
# source-controller v1.9.6 pins github.com/fluxcd/pkg/artifact v0.18.3, which the proxy refuses
# (403, as is v0.18.2); v0.18.1 is served and has the same code as v0.18.0 (only its go.mod
# differs), so the build replaces it with that.
: "${FLUX_PKG_ARTIFACT_VERSION:=v0.18.1}"
# helm-controller is not run; only its HelmRelease CRD is installed in the sandbox (build.sh crds),
# at the version Flux 2.9 ships with the pair above (flux2 v2.9.5; v1.6.5 is refused by the proxy).
: "${FLUX_HELM_CONTROLLER_VERSION:=v1.6.4}"       # github.com/fluxcd/helm-controller

# Argo CD's repo-server and application-controller, run by the e2e tests in place of the argo-cd
# chart's pods: the multi-call `argocd` binary of Argo CD v3.6.1 (v3.5.x is not buildable: the
# gitops-engine version it needs is refused). Its go.mod says `go 1.27.0`: its builder (and
# kustomize's) runs with GOTOOLCHAIN=$ARGOCD_GOTOOLCHAIN, the approved Go the module proxy
# serves; every other tool keeps GOTOOLCHAIN=local.
: "${ARGOCD_VERSION:=v3.6.1}"            # github.com/argoproj/argo-cd/v3
: "${ARGOCD_GOTOOLCHAIN:=go1.27.3}"
# The repo-server's kustomize, at the version Argo CD v3.6.1 ships (hack/tool-versions.sh
# KUSTOMIZE_VERSION=5.8.3; its go.mod needs Go 1.27 too).
: "${KUSTOMIZE_VERSION:=v5.8.3}"         # sigs.k8s.io/kustomize/kustomize/v5
# kustomize v5.8.3 pins k8s.io/kube-openapi v0.0.0-20261001230523-97fa35140926, which the proxy
# refuses (403); the build replaces it with this served later pseudo-version.
: "${KUSTOMIZE_KUBE_OPENAPI_VERSION:=v0.0.0-20261014044854-ca3452a79603}"
# Argo CD's cache: Debian's redis-server (apt-get download + dpkg -x, no system install), at the
# version the mirror offers when it is built (Debian 12: 7.0.15-1~deb12u<N>, replaced by security
# updates), as long as it is this major.minor.
: "${REDIS_VERSION:=7.0}"
# Bitnami Sealed Secrets: the controller and kubeseal, for the key backup and restore scenarios.
: "${SEALED_SECRETS_VERSION:=v0.40.0}"   # github.com/bitnami-labs/sealed-secrets

# The upstream Helm charts the e2e installs through the product, at the product's default pins
# (components/defaults.ts; test/unit/toolchain-versions.test.ts keeps the two equal). `build.sh
# charts` copies them into <cache>/charts/ from GITOPS_BOOTSTRAP_CHART_MIRROR (a folder of
# <chart>-<version>.tgz files) when set, else `helm pull`s them from the chart repository.
: "${ARGO_CD_CHART_VERSION:=10.1.1}"        # https://argoproj.github.io/argo-helm argo-cd (Argo CD v3.4.4)
: "${FLUX2_CHART_VERSION:=2.18.3}"          # https://fluxcd-community.github.io/helm-charts flux2 (Flux 2.8.5)
: "${SEALED_SECRETS_CHART_VERSION:=2.18.5}" # https://bitnami-labs.github.io/sealed-secrets sealed-secrets (0.36.6)
: "${EXTERNAL_SECRETS_CHART_VERSION:=0.16.2}" # https://charts.external-secrets.io external-secrets (v0.16.2)

# External Secrets Operator: the controller (with its webhook and cert-controller subcommands).
# v0.16.2 is the newest version the proxy serves whole: later tags have no /v2 module path and
# split into sub-modules (apis, providers/v1/*) that the proxy does not serve.
: "${EXTERNAL_SECRETS_VERSION:=v0.16.2}" # github.com/external-secrets/external-secrets

# The GitHub workflows' linter, run by .ci/run on .github/workflows/ (not by the e2e tests).
: "${ACTIONLINT_VERSION:=v1.7.12}"       # github.com/rhysd/actionlint

# Build order: most needed first.
TOOLCHAIN_TOOLS=(sops pulumi pulumi-kubernetes etcd kubernetes kwok helm flux-source-controller flux-kustomize-controller argocd kustomize redis sealed-secrets external-secrets actionlint)
