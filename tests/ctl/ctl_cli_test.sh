#!/usr/bin/env bash
# dnswashctl's command line without a daemon: every invalid input is a usage error (exit 2, a
# message on stderr, nothing on stdout), --help/--version exit 0, and with no filter running
# every command prints ONE line saying so and how to start one, and exits 1. Runs in a private,
# empty network namespace (unshare -n: no interfaces, no traffic, gone with the process) so a
# dnswashd elsewhere on the machine cannot answer.
set -euo pipefail
: "${DNSWASHCTL:?set DNSWASHCTL to the dnswashctl binary}"
[[ $(id -u) -eq 0 ]] || { echo "FAIL: needs root (unshare -n)"; exit 1; }
if [[ -z ${CTL_CLI_IN_NETNS:-} ]]; then
  exec unshare -n env CTL_CLI_IN_NETNS=1 bash "$0" "$@"
fi
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ctl() { "$DNSWASHCTL" "$@"; }

# expect RC ARGS...: exit code RC; sets OUT and ERR.
expect() {
  local want=$1 rc=0
  shift
  OUT=$(ctl "$@" 2>/tmp/ctl-cli-err.$$) || rc=$?
  ERR=$(cat /tmp/ctl-cli-err.$$)
  rm -f /tmp/ctl-cli-err.$$
  [[ $rc -eq $want ]] || fail "dnswashctl $* exited $rc, wanted $want (stderr: $ERR)"
}

usage() {
  expect 2 "$@"
  [[ -z $OUT ]] || fail "dnswashctl $*: usage error printed on stdout: $OUT"
  [[ -n $ERR ]] || fail "dnswashctl $*: usage error without a message"
}

usage
usage frobnicate
usage --bogus stats
usage stats --bogus
usage stats --watch 0
usage stats --watch abc
usage stats --watch -1
usage stats --watch 1 --count -3
usage stats --json extra
usage top
usage top bogus
usage top names sources
usage top names --n 0
usage top names --n 10001
usage top names --n abc
usage top names --since 0
usage top names --since 5x
usage top names --since ''
usage top names --since 1h30
usage check
usage check a..b
usage check "$(printf 'x%.0s' {1..64}).test"
usage check "$(printf 'abcdefghi.%.0s' {1..26})test"
usage check 'bad\999.test'
usage check x.test --src 300.1.1.1
usage check x.test --src ''
usage check x.test --src 2001:db8::/64
usage check x.test --type BOGUS
usage check x.test --type 65536
usage check x.test --type ''
usage check a.test b.test
usage dry-run
usage dry-run maybe
usage dry-run on off
usage zones
usage zones list extra
usage zones bogus
usage metrics extra
usage --iface
usage stats --iface

expect 0 --help
[[ $OUT == *stats* && $OUT == *check* && $OUT == *top* ]] || fail "--help does not list the commands"
expect 0 check --help
expect 0 --version
[[ $OUT == "dnswashctl "* ]] || fail "--version: $OUT"

# Not running: one line, exit 1, nothing on stdout, and it says how to start the filter.
not_running() {
  expect 1 "$@"
  [[ -z $OUT ]] || fail "dnswashctl $*: not-running printed on stdout: $OUT"
  [[ $(wc -l <<<"$ERR") -eq 1 ]] || fail "dnswashctl $*: not one line: $ERR"
  [[ $ERR == "dnswashctl: no dnswash filter is running"* ]] || fail "dnswashctl $*: $ERR"
  [[ $ERR == *"systemctl start dnswashd"* && $ERR == *"dnswashd --iface"* ]] ||
    fail "dnswashctl $*: no hint how to start it: $ERR"
  grep -qi libbpf <<<"$ERR" && fail "dnswashctl $*: libbpf noise: $ERR"
  return 0
}
for cmd in "stats" "stats --watch 1" "zones list" "check www.a.test" "top names" "top sources" \
  "dry-run on" "dry-run off" "metrics" "stats --json" "metrics --json"; do
  # shellcheck disable=SC2086
  not_running $cmd
done
not_running --iface eth9 stats
[[ $ERR == *"on eth9"* && $ERR == *"dnswashd --iface eth9"* ]] || fail "--iface eth9: $ERR"
not_running stats --iface eth9
not_running check x.test --iface eth9 --json

((fails == 0)) || { echo "$fails failures" >&2; exit 1; }
echo PASS
