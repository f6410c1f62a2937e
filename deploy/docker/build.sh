#!/usr/bin/env bash
# Builds the casus binary, statically linked and reproducible: the build stage of
# deploy/docker/Dockerfile runs this script, and so does CI, so both build the same bytes.
#
# usage: deploy/docker/build.sh OUTDIR      writes OUTDIR/casus
#
# environment:
#   VERSION   the version `casus version` prints and /metrics reports (casus_build_info);
#             default: `git describe --tags --always --dirty` when this is a git work tree,
#             else "devel"
#   GOOS, GOARCH, GOARM, GOAMD64, ...   passed to go build as they are, for other platforms
#                                       (the Dockerfile sets GOOS/GOARCH from buildx's TARGET*)
set -euo pipefail

if [[ $# -ne 1 || -z $1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
mkdir -p -- "$1"
out=$(cd -- "$1" && pwd)
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd -- "$root"

version=${VERSION:-}
if [[ -z $version ]]; then
	if [[ -e .git ]] && command -v git >/dev/null; then
		version=$(git describe --tags --always --dirty 2>/dev/null) || version=""
	fi
	version=${version:-devel}
fi
# The value goes into -ldflags, which splits on spaces and quotes.
if [[ ! $version =~ ^[A-Za-z0-9][A-Za-z0-9._+~-]*$ ]]; then
	echo "build.sh: VERSION \"$version\" may hold only letters, digits and . _ + ~ -" >&2
	exit 2
fi

# CGO_ENABLED=0: a static binary for distroless/static and any Linux. -trimpath, an empty build
# id and no VCS stamp keep the bytes independent of the checkout's path, of .git (which the
# image's build context leaves out) and of who owns it; the version comes from VERSION instead.
export CGO_ENABLED=0
echo "build.sh: casus $version for $(go env GOOS)/$(go env GOARCH) with $(go env GOVERSION)"
go build -trimpath -buildvcs=false \
	-ldflags "-s -w -buildid= -X github.com/casus-sec/casus/internal/app.Version=$version" \
	-o "$out/casus" ./cmd/casus
echo "build.sh: wrote $out/casus ($(wc -c <"$out/casus") bytes)"
