#!/usr/bin/env bash
# Build kube-apiserver (and kubectl) 1.20.2 from Debian bookworm's `kubernetes`
# source package with Debian's Go 1.19, and unpack Debian's etcd 3.4 next to
# them, into $KCACHE/bin/ (~/.cache/raytop-lab/kube/bin, outside the checkout). No binary Kubernetes is packaged in the registries
# we can reach, so we build one; everything comes through apt (no Go proxy).
#
# usage: lab/kube/build.sh [--force] [--refresh] [--no-kubectl]
#   --force       rebuild even when the stamp matches
#   --refresh     apt-get update the private lists first, so a newer Debian
#                 package version invalidates the cached binaries
#   --no-kubectl  build only kube-apiserver (kubectl costs ~1 min more)
#
# Cache: bin/.stamp records the package versions (and this recipe's revision)
# the binaries were built from; when it matches, nothing is fetched or built.
# Observed on 2 cores: 3 min 23 s cold (kubectl +12 s of it), 1.3 GB peak RSS.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FORCE=0 REFRESH=0 KUBECTL=1
for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    --refresh) REFRESH=1 ;;
    --no-kubectl) KUBECTL=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) kdie "unknown argument: $a" ;;
  esac
done

# Bump when the build steps change in a way that should invalidate binaries.
RECIPE_REV=1
SUITE=bookworm            # the recipe depends on bookworm's exact packages
SRC_PKG=kubernetes
BIN_PKGS=(golang-1.19-go golang-1.19-src etcd-server golang-github-modern-go-reflect2-dev)
KUBE_VERSION=v1.20.2      # upstream version inside 1.20.5+really1.20.2

B="$KCACHE/build"
APTD="$B/apt"
DL="$B/dl"
PRIV_ROOT="$B/root"       # dpkg -x target: Go toolchain, etcd, reflect2 sources
SRC_PARENT="$B/src"
GOPATH_DIR="$B/gopath"
LOG="$B/build.log"

APT_OPTS=(
  -o "Dir::Etc::SourceList=$APTD/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$APTD/lists"
  -o "Dir::Cache=$APTD/cache"
  -o "Dir::Etc::Preferences=/dev/null"
  -o "Dir::Etc::PreferencesParts=/dev/null"
  # We run as root and write into our own dirs; apt's _apt sandbox user could
  # not write there and would only warn and fall back.
  -o "APT::Sandbox::User=root"
)
papt() { apt-get "${APT_OPTS[@]}" "$@"; }
pcache() { apt-cache "${APT_OPTS[@]}" "$@"; }

# The Debian mirror apt on this machine already uses, read at run time (not
# hard-coded): apt prints the URIs it would fetch; keep the base of the one
# for the $SUITE release file.
detect_mirror() {
  local m
  m=$(apt-get update --print-uris 2>/dev/null \
      | sed -n "s|^'\([^']*\)/dists/$SUITE/\(In\)\{0,1\}Release'.*|\1|p" | head -n1)
  [[ -n "$m" ]] || kdie "no '$SUITE' source in apt's configuration: cannot find the Debian mirror"
  echo "$m"
}

# Private apt state: our own sources list (deb + deb-src for $SUITE main),
# lists and cache, so the system's apt configuration and lists stay untouched.
setup_private_apt() {
  mkdir -p "$APTD/lists/partial" "$APTD/cache/archives/partial"
  local mirror opts=""
  mirror=$(detect_mirror)
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] &&
    opts="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
  printf 'deb %s%s %s main\ndeb-src %s%s %s main\n' \
    "$opts" "$mirror" "$SUITE" "$opts" "$mirror" "$SUITE" >"$APTD/sources.list.new"
  mv "$APTD/sources.list.new" "$APTD/sources.list"
}

# First existing path among the arguments (an unmatched glob stays literal).
first_file() {
  local f
  for f in "$@"; do [[ -e "$f" ]] && { echo "$f"; return 0; }; done
  kdie "expected file not found: $1"
}

have_lists() { compgen -G "$APTD/lists/*Sources*" >/dev/null; }

apt_update() {
  klog "apt-get update (private lists under $APTD)"
  papt -qq update >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; kdie "apt-get update failed"; }
}

# One line naming every input version; compared with bin/.stamp.
versions_line() {
  local v line="recipe=$RECIPE_REV"
  v=$(pcache showsrc "$SRC_PKG" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n1)
  [[ -n "$v" ]] || return 1
  line+=" $SRC_PKG=$v"
  local p
  for p in "${BIN_PKGS[@]}"; do
    v=$(pcache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [[ -n "$v" && "$v" != "(none)" ]] || return 1
    line+=" $p=$v"
  done
  (( KUBECTL )) && line+=" kubectl=yes"
  echo "$line"
}

binaries_present() {
  [[ -x "$KBIN/kube-apiserver" && -x "$KBIN/etcd" ]] || return 1
  (( KUBECTL == 0 )) || [[ -x "$KBIN/kubectl" ]]
}

mkdir -p "$B" "$KBIN"

# ---- fast path: cached binaries --------------------------------------------
if (( FORCE == 0 )) && binaries_present && [[ -f "$KSTAMP" ]]; then
  if (( REFRESH )); then setup_private_apt; apt_update; fi
  if have_lists; then
    # Offline check against the lists we already have (no network).
    want=$(versions_line || true)
    have=$(cat "$KSTAMP")
    # A build with kubectl also satisfies --no-kubectl.
    if [[ -n "$want" && ( "$have" == "$want" || "$have" == "$want kubectl=yes" ) ]]; then
      klog "up to date ($(cat "$KSTAMP")); nothing to do"; exit 0
    fi
    klog "stamp differs from package versions: rebuilding"
  elif [[ "$(cat "$KSTAMP")" == "recipe=$RECIPE_REV "* ]]; then
    # Lists were cleaned away but binaries and stamp are there: trust them.
    klog "binaries present ($(cat "$KSTAMP")); nothing to do"; exit 0
  fi
fi

START=$SECONDS
: >"$LOG"                                         # log of this build only
step() { klog "[$((SECONDS - START))s] $*"; }
setup_private_apt
apt_update
WANT=$(versions_line) || kdie "packages not found in $SUITE: ${SRC_PKG} ${BIN_PKGS[*]}"
step "building: $WANT"

# ---- 1. fetch (apt only) -----------------------------------------------------
mkdir -p "$DL"
(
  cd "$DL"
  # Both are no-ops for files already downloaded and verified.
  papt -qq source --download-only "$SRC_PKG"
  papt -qq download "${BIN_PKGS[@]}"
) >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; kdie "download failed"; }

# Only the current versions' files (old ones may linger after --refresh).
SRC_VER=${WANT#* "$SRC_PKG"=}; SRC_VER=${SRC_VER%% *}
SRC_VER=${SRC_VER#*:}                             # no epoch in file names
UP_VER=${SRC_VER%-*}                              # strip the Debian revision
ORIG=$(first_file "$DL/${SRC_PKG}_${UP_VER}.orig.tar."*)
DEBTAR=$(first_file "$DL/${SRC_PKG}_${SRC_VER}.debian.tar."*)

# ---- 2. unpack toolchain, etcd, reflect2 --------------------------------------
rm -rf "$PRIV_ROOT"; mkdir -p "$PRIV_ROOT"
for p in "${BIN_PKGS[@]}"; do
  v=${WANT#* "$p"=}; v=${v%% *}; v=${v#*:}
  deb=$(first_file "$DL/${p}_${v}_"*.deb)
  dpkg -x "$deb" "$PRIV_ROOT"
done
GOROOT_DIR="$PRIV_ROOT/usr/lib/go-1.19"
[[ -x "$GOROOT_DIR/bin/go" && -d "$GOROOT_DIR/src/runtime" ]] || kdie "Go toolchain not unpacked as expected"

# ---- 3. unpack the source fresh (patches below must apply to a clean tree) ---
rm -rf "$SRC_PARENT"; mkdir -p "$SRC_PARENT"
tar -C "$SRC_PARENT" -xf "$ORIG"
SRC=$(find "$SRC_PARENT" -mindepth 1 -maxdepth 1 -type d | head -n1)
tar -C "$SRC" -xf "$DEBTAR"                       # adds debian/
cd "$SRC"
# Debian's own patches (kubectl printing fixes incl. CVE-2021-25743): they are
# part of what Debian ships; kube-apiserver is unaffected by them.
if [[ -f debian/patches/series ]]; then
  while read -r p; do
    [[ -z "$p" || "$p" == \#* ]] && continue
    patch -p1 -s --forward <"debian/patches/$p" >>"$LOG" 2>&1 || kdie "Debian patch $p failed"
  done <debian/patches/series
fi

# Fix 1: vendored modern-go/reflect2 v1.0.1 reads Go runtime internals that
# changed in Go 1.18+, crashing the server on its first request ("fatal error:
# fault" in mapiterinit). Swap in Debian's v1.0.2 sources (same API).
R2=vendor/github.com/modern-go/reflect2
R2NEW="$PRIV_ROOT/usr/share/gocode/src/github.com/modern-go/reflect2"
[[ -d "$R2NEW" ]] || kdie "reflect2 v1.0.2 sources missing in $R2NEW"
find "$R2" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) -delete
find "$R2NEW" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' \
  -exec cp {} "$R2/" \;

# ---- Go environment: GOPATH mode, as Kubernetes 1.20 itself built ----------
export GOROOT="$GOROOT_DIR"
export PATH="$GOROOT/bin:$PATH"
export GOPATH="$GOPATH_DIR"
export GO111MODULE=off GOPROXY=off GOFLAGS='' CGO_ENABLED=0 GOENV=off
export GOCACHE="$B/gocache"                      # kept: rebuilds reuse it
mkdir -p "$GOPATH/src/k8s.io"
ln -sfn "$SRC" "$GOPATH/src/k8s.io/kubernetes"
PKGROOT="$GOPATH/src/k8s.io/kubernetes"
cd "$PKGROOT"                                    # go resolves packages via GOPATH

# Fix 2: pkg/generated/openapi/zz_generated.openapi.go is generated at build
# time upstream and not in the tarball. Same inputs as Makefile.generated_files'
# KUBE target: every non-vendor Go file tagged +k8s:openapi-gen= (staging named
# as vendor/), minus code-generator and sample-apiserver.
step "generating pkg/generated/openapi (openapi-gen)"
go build -o "$B/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen >>"$LOG" 2>&1 \
  || { tail -n 30 "$LOG" >&2; kdie "building openapi-gen failed"; }
# Not under pipefail on purpose: grep exits 1 for directories without a match.
set +o pipefail
OPENAPI_INPUTS=$(
  grep -rl --include='*.go' --exclude-dir=vendor -e '+k8s:openapi-gen=' . \
    | sed -e 's|^\./||' -e 's|^staging/src/|vendor/|' -e 's|/[^/]*$||' \
    | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' \
    | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -
)
set -o pipefail
[[ -n "$OPENAPI_INPUTS" ]] || kdie "no +k8s:openapi-gen packages found"
"$B/openapi-gen" --logtostderr --v=0 \
  -i "$OPENAPI_INPUTS" \
  -p k8s.io/kubernetes/pkg/generated/openapi \
  -O zz_generated.openapi \
  -h hack/boilerplate/boilerplate.generatego.txt \
  -r "$B/openapi-violations.report" >>"$LOG" 2>&1 \
  || { tail -n 30 "$LOG" >&2; kdie "openapi-gen failed"; }
[[ -s pkg/generated/openapi/zz_generated.openapi.go ]] || kdie "openapi-gen produced nothing"

# ---- 4. build ------------------------------------------------------------------
# Version stamping as hack/lib/version.sh does (gitCommit is already in the
# tarball: git archive substituted it).
BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS="-s -w"
for vp in k8s.io/kubernetes/vendor/k8s.io/component-base/version \
          k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  LDFLAGS+=" -X $vp.gitVersion=$KUBE_VERSION -X $vp.gitMajor=1 -X $vp.gitMinor=20"
  LDFLAGS+=" -X $vp.gitTreeState=clean -X $vp.buildDate=$BUILD_DATE"
done
TARGETS=(kube-apiserver)
(( KUBECTL )) && TARGETS+=(kubectl)
for t in "${TARGETS[@]}"; do
  step "go build $t (quiet; log: $LOG)"
  go build -p 2 -trimpath -ldflags "$LDFLAGS" -o "$KBIN/$t.new" "k8s.io/kubernetes/cmd/$t" >>"$LOG" 2>&1 \
    || { tail -n 40 "$LOG" >&2; kdie "go build $t failed"; }
  mv "$KBIN/$t.new" "$KBIN/$t"
done
cp "$PRIV_ROOT/usr/bin/etcd" "$KBIN/etcd.new" && mv "$KBIN/etcd.new" "$KBIN/etcd"

"$KBIN/kube-apiserver" --version | grep -q "$KUBE_VERSION" || kdie "built kube-apiserver has wrong version"
printf '%s\n' "$WANT" >"$KSTAMP"
klog "done in $((SECONDS - START))s: $("$KBIN/kube-apiserver" --version), etcd $("$KBIN/etcd" --version | sed -n 's/^etcd Version: //p')"
klog "binaries: $(echo "$KBIN"/*)"
