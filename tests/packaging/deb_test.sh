#!/usr/bin/env bash
# Builds the Debian package from this source tree (scripts/package.sh: debian/, dpkg-buildpackage), checks it with
# lintian (no errors), installs it with apt-get as an operator would, checks the installed
# programs, unit, config, man pages and completion, then purges it and checks that nothing is
# left. Runs as root and changes the machine's package database, so it holds a lock and purges
# on every exit path. Usage: deb_test.sh SOURCE_DIR
set -euo pipefail
SRC=$(cd "${1:?source dir}" && pwd)
PKG=dnswash
UNIT_DIR=$(pkg-config --variable=systemdsystemunitdir systemd)
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
step() { echo "--- $*"; }

[[ $(id -u) -eq 0 ]] || { echo "FAIL: needs root (apt-get install/purge)" >&2; exit 1; }
for t in dpkg-buildpackage lintian apt-get systemd-analyze pandoc; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/install-deps.sh)" >&2; exit 1; }
done
if dpkg-query -W -f '${Status}' "$PKG" 2>/dev/null | grep -q "ok installed"; then
  echo "FAIL: $PKG is already installed on this machine; this test would remove it" >&2
  exit 1
fi

# One fixed build directory under a lock: two runs must not install and purge over each other,
# and a fixed path lets ccache reuse the objects of the last run. The lock is on this script.
WORK=/var/tmp/dnswash-deb-test
exec 9<"${BASH_SOURCE[0]}"
flock -w 1200 9 || { echo "FAIL: another deb_test runs (lock on ${BASH_SOURCE[0]})" >&2; exit 1; }
mkdir -p "$WORK"

cleanup() {
  if dpkg-query -W -f '${Status}' "$PKG" 2>/dev/null | grep -q "installed"; then
    apt-get purge -y -qq -o DPkg::Lock::Timeout=300 "$PKG" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step "scripts/package.sh (dpkg-buildpackage -us -uc -b)"
start=$SECONDS
DEB_BUILD_OPTIONS="parallel=$(nproc) noautodbgsym" nice -n 10 bash "$SRC/scripts/package.sh" "$WORK" \
  >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log" >&2; echo "FAIL: scripts/package.sh" >&2; exit 1; }
echo "built in $((SECONDS - start)) s"
mapfile -t debs < <(compgen -G "$WORK/${PKG}_*.deb")
[[ ${#debs[@]} -eq 1 ]] || { echo "FAIL: expected one ${PKG}_*.deb, got ${debs[*]}" >&2; exit 1; }
DEB=${debs[0]}
echo "$(basename "$DEB"): $(dpkg-deb -f "$DEB" Depends)"

step "lintian"
lintian --fail-on error --no-tag-display-limit "$DEB" || fail "lintian reports errors"

step "apt-get install ./$(basename "$DEB")"
(cd "$WORK" && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
  "./$(basename "$DEB")") >"$WORK/install.log" 2>&1 ||
  { cat "$WORK/install.log" >&2; echo "FAIL: apt-get install" >&2; exit 1; }
mapfile -t owned < <(dpkg -L "$PKG")

step "installed programs"
/usr/sbin/dnswashd --version || fail "dnswashd --version"
/usr/sbin/dnswashctl --help >/dev/null || fail "dnswashctl --help"
/usr/sbin/dnswashd --config /etc/dnswash/dnswashd.conf --version >/dev/null ||
  fail "dnswashd does not accept the installed /etc/dnswash/dnswashd.conf"

step "config file"
[[ -f /etc/dnswash/dnswashd.conf ]] || fail "no /etc/dnswash/dnswashd.conf"
grep -qx '/etc/dnswash/dnswashd.conf' /var/lib/dpkg/info/$PKG.conffiles ||
  fail "/etc/dnswash/dnswashd.conf is not a conffile"
if grep -vE '^[[:space:]]*(#|$)' /etc/dnswash/dnswashd.conf; then
  fail "the installed config sets the lines above (every default must be commented)"
fi

step "systemd unit"
unit=$UNIT_DIR/dnswashd.service
[[ -f $unit ]] || fail "no $unit"
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify says: $out"
grep -qx 'Type=notify' "$unit" || fail "the unit is not Type=notify"
[[ -L /etc/systemd/system/multi-user.target.wants/dnswashd.service ]] ||
  fail "the unit is not enabled (no multi-user.target.wants link)"
if grep -q 'deb-systemd-invoke.*start' /var/lib/dpkg/info/$PKG.postinst; then
  fail "the postinst starts or restarts the unit"
fi
if pgrep -f '^/usr/sbin/dnswashd' >/dev/null; then fail "dnswashd runs after the install"; fi

step "man pages and completion"
for p in dnswashd dnswashctl; do
  page=$(man -w 8 "$p" 2>/dev/null) || { fail "no man page $p(8)"; continue; }
  text=$(MANWIDTH=100 man -l "$page" 2>/dev/null | col -b)
  if ! grep -q '^NAME' <<<"$text" || ! grep -q "$p - " <<<"$text"; then fail "$p(8) has no NAME line"; fi
  grep -q -- '--iface' <<<"$text" || fail "$p(8) lacks the options"
done
comp=/usr/share/bash-completion/completions/dnswashctl
[[ -f $comp ]] || fail "no $comp"
got=$(bash -c "source $comp; COMP_WORDS=(dnswashctl ba); COMP_CWORD=1; _dnswashctl; echo \${COMPREPLY[*]}")
[[ $got == bans ]] || fail "completion of 'dnswashctl ba' gave '$got', not 'bans'"
got=$(bash -c "source $comp; COMP_WORDS=(dnswashctl bans a); COMP_CWORD=2; _dnswashctl; echo \${COMPREPLY[*]}")
[[ $got == add ]] || fail "completion of 'dnswashctl bans a' gave '$got', not 'add'"

step "apt-get purge"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=300 "$PKG" \
  >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; fail "apt-get purge"; }
if dpkg-query -W -f '${Status}' "$PKG" 2>/dev/null | grep -q "installed"; then
  fail "$PKG still known to dpkg after the purge"
fi
left=0
for f in "${owned[@]}"; do
  if [[ -e $f || -L $f ]] && [[ ! -d $f ]]; then echo "left: $f" >&2; left=1; fi
done
for f in /etc/dnswash /var/lib/dnswash /etc/systemd/system/multi-user.target.wants/dnswashd.service \
  /var/lib/systemd/deb-systemd-helper-enabled/dnswashd.service.dsh-also \
  /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/dnswashd.service; do
  if [[ -e $f || -L $f ]]; then echo "left: $f" >&2; left=1; fi
done
((left == 0)) || fail "the purge left files behind"

((fails == 0)) || exit 1
echo "PASS: built, lintian-clean, installed, checked and purged $(basename "$DEB")"
