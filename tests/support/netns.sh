# shellcheck shell=bash
# The dnswash lab: a server and a client network namespace joined by a veth pair (both ends in
# the namespaces, nothing in the root namespace, no default route), BIND as primary for a few
# zones in the server namespace listening on the lab addresses only, and dnswashd on the
# server's veth. Source it from a test script; everything it creates carries the shell's pid and
# is removed by the EXIT trap on every exit path.
#
# Needs root. Tools come from the environment ctest sets: DNSWASHD, DWQ, LAB_CTL, NO_BPF_EXEC.
#
#   source lab.sh
#   lab_setup                         # namespaces, veth, addresses, a bpffs for the pins
#   lab_named_start a.test b.test     # BIND primary for these zones (plus junk-free defaults)
#   lab_daemon_start --mode native    # dnswashd on the server veth; waits until it answers
#   lab_probe www.a.test              # 0 = any answer, 1 = no answer at all
#   lab_daemon_stop TERM; lab_expect_nothing_left

set -euo pipefail

: "${DNSWASHD:?set DNSWASHD to the dnswashd binary}"
: "${DWQ:?set DWQ to the dwq binary}"
: "${LAB_CTL:?set LAB_CTL to the lab_ctl binary}"

LAB_ID=$$
LAB_NS_S=dwlab-s-$LAB_ID
LAB_NS_C=dwlab-c-$LAB_ID
LAB_IF=s0       # server side of the veth (dnswashd filters here)
LAB_IF_C=c0     # client side
LAB_S4=192.0.2.1
LAB_C4=192.0.2.2
LAB_S6=2001:db8::1
LAB_C6=2001:db8::2
LAB_DIR=/run/dnswash-lab-$LAB_ID     # named's files, logs, state dir
LAB_BPFFS=$LAB_DIR/bpffs             # a bpffs outside /sys: `ip netns exec` remounts /sys
LAB_NAMED_DIR=$LAB_DIR/named
LAB_NAMED_CONF=$LAB_NAMED_DIR/named.conf
LAB_STATE_DIR=$LAB_DIR/state
LAB_BANS_DIR=$LAB_DIR/bans           # dnswashd --ban-state-dir (bans and offense history)
LAB_DAEMON_LOG=$LAB_DIR/dnswashd.log
LAB_DAEMON_PID=
LAB_DAEMON_RC=
LAB_NAMED_PID=
LAB_BG_PIDS=()
LAB_NS_MADE=0
LAB_MOUNTED=0

lab_log() { echo "lab[$LAB_ID]: $*" >&2; }
lab_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Cleanup on every exit path: processes we started (by pid), the bpffs, the namespaces (which
# takes the veth pair with it) and the lab directory. On failure, the logs are shown first.
lab_cleanup() {
  local rc=$?
  set +e
  if [[ $rc -ne 0 && -d $LAB_DIR ]]; then
    for f in "$LAB_DAEMON_LOG" "$LAB_DIR/named.log"; do
      [[ -s $f ]] && { echo "---- tail of $f" >&2; tail -n 60 "$f" >&2; }
    done
  fi
  local p
  for p in "${LAB_BG_PIDS[@]}" $LAB_DAEMON_PID $LAB_NAMED_PID; do
    kill -TERM "$p" 2>/dev/null
  done
  for p in "${LAB_BG_PIDS[@]}" $LAB_DAEMON_PID $LAB_NAMED_PID; do
    lab_wait_pid_gone "$p" 10 || kill -KILL "$p" 2>/dev/null
  done
  ((LAB_MOUNTED)) && umount "$LAB_BPFFS"
  if ((LAB_NS_MADE)); then
    ip netns del "$LAB_NS_S" 2>/dev/null
    ip netns del "$LAB_NS_C" 2>/dev/null
  fi
  rm -rf "$LAB_DIR"
  exit $rc
}
trap lab_cleanup EXIT
trap 'exit 130' INT TERM HUP

# lab_wait_pid_gone PID SECONDS: bounded poll until the process is gone.
lab_wait_pid_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# lab_wait_until SECONDS DESCRIPTION CMD...: bounded poll until CMD succeeds.
lab_wait_until() {
  local secs=$1 what=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || lab_fail "timed out after ${secs}s waiting for: $what"
    sleep 0.05
  done
}

# Background jobs call `ip netns exec` directly, not these functions: $! must be the pid of the
# program itself (ip execs it), not of a subshell.
lab_s() { ip netns exec "$LAB_NS_S" "$@"; }
lab_c() { ip netns exec "$LAB_NS_C" "$@"; }

lab_setup() {
  [[ $(id -u) -eq 0 ]] || lab_fail "the lab needs root (network namespaces, BPF)"
  mkdir -p "$LAB_DIR" "$LAB_BPFFS" "$LAB_NAMED_DIR" "$LAB_STATE_DIR"
  mount -t bpf bpf "$LAB_BPFFS" || lab_fail "cannot mount a bpffs on $LAB_BPFFS"
  LAB_MOUNTED=1
  LAB_NS_MADE=1
  ip netns add "$LAB_NS_S"
  ip netns add "$LAB_NS_C"
  # Created inside the server namespace with its peer moved straight into the client's: no
  # end ever exists in the root namespace.
  ip -n "$LAB_NS_S" link add "$LAB_IF" type veth peer name "$LAB_IF_C" netns "$LAB_NS_C"
  ip -n "$LAB_NS_S" link set lo up
  ip -n "$LAB_NS_C" link set lo up
  ip -n "$LAB_NS_S" addr add "$LAB_S4/24" dev "$LAB_IF"
  ip -n "$LAB_NS_S" addr add "$LAB_S6/64" dev "$LAB_IF" nodad
  ip -n "$LAB_NS_C" addr add "$LAB_C4/24" dev "$LAB_IF_C"
  ip -n "$LAB_NS_C" addr add "$LAB_C6/64" dev "$LAB_IF_C" nodad
  ip -n "$LAB_NS_S" link set "$LAB_IF" up
  ip -n "$LAB_NS_C" link set "$LAB_IF_C" up
  lab_wait_until 10 "client reaches the server (ping)" lab_c ping -c1 -W1 "$LAB_S4"
}

# lab_zone_file NAME: writes a small zone (SOA, NS, www A) for NAME.
lab_zone_file() {
  cat >"$LAB_NAMED_DIR/$1.zone" <<EOF
\$TTL 60
@   IN SOA ns.$1. hostmaster.$1. 1 3600 600 86400 60
    IN NS  ns.$1.
ns  IN A   $LAB_S4
www IN A   192.0.2.80
www IN AAAA 2001:db8::80
EOF
}

# lab_zone_stanza NAME: the zone statement for named.conf.
lab_zone_stanza() { printf 'zone "%s" { type primary; file "%s.zone"; };\n' "$1" "$1"; }

# lab_named_write_conf ZONE...: named.conf serving these zones (an authoritative-only server).
lab_named_write_conf() {
  local z
  {
    cat <<EOF
options {
  directory "$LAB_NAMED_DIR";
  listen-on port 53 { $LAB_S4; };
  listen-on-v6 port 53 { $LAB_S6; };
  recursion no;
  dnssec-validation no;
  notify no;
  pid-file none;
  session-keyfile none;
  managed-keys-directory "$LAB_NAMED_DIR";
};
controls { };
EOF
    for z in "$@"; do
      lab_zone_file "$z"
      lab_zone_stanza "$z"
    done
  } >"$LAB_NAMED_CONF.tmp"
  mv "$LAB_NAMED_CONF.tmp" "$LAB_NAMED_CONF"
}

# lab_named_start ZONE...: BIND in the server namespace as primary for the zones.
lab_named_start() {
  lab_named_write_conf "$@"
  named-checkconf "$LAB_NAMED_CONF" || lab_fail "the lab's named.conf does not check"
  chown -R bind: "$LAB_NAMED_DIR"
  ip netns exec "$LAB_NS_S" named -g -u bind -c "$LAB_NAMED_CONF" >"$LAB_DIR/named.log" 2>&1 &
  LAB_NAMED_PID=$!
  lab_wait_until 30 "named answers for $1" lab_s dig +time=1 +tries=1 +norec @"$LAB_S4" "$1" SOA
}

# lab_daemon_start [ARGS...]: dnswashd on the server veth with the lab's named.conf, pins and
# state dir; returns once its control socket answers `status`.
lab_daemon_start() {
  # --ban-state-dir inside the lab: bans must never leak into /var/lib/dnswash or the next test.
  ip netns exec "$LAB_NS_S" "$DNSWASHD" --iface "$LAB_IF" --named-conf "$LAB_NAMED_CONF" --pin-dir "$LAB_BPFFS" \
    --state-dir "$LAB_STATE_DIR" --ban-state-dir "$LAB_BANS_DIR" "$@" >>"$LAB_DAEMON_LOG" 2>&1 &
  LAB_DAEMON_PID=$!
  local deadline=$((SECONDS + 30))
  until lab_ctl '{"cmd":"status"}' >/dev/null 2>&1; do
    kill -0 "$LAB_DAEMON_PID" 2>/dev/null || {
      wait "$LAB_DAEMON_PID" && LAB_DAEMON_RC=0 || LAB_DAEMON_RC=$?
      LAB_DAEMON_PID=
      lab_fail "dnswashd exited ($LAB_DAEMON_RC) before it was ready"
    }
    ((SECONDS < deadline)) || lab_fail "dnswashd not ready after 30s"
    sleep 0.05
  done
}

# lab_daemon_stop SIGNAL: signals dnswashd and waits (bounded) for it; LAB_DAEMON_RC = its exit.
lab_daemon_stop() {
  local pid=$LAB_DAEMON_PID
  [[ -n $pid ]] || lab_fail "no dnswashd to stop"
  kill "-$1" "$pid"
  lab_wait_pid_gone "$pid" 20 || lab_fail "dnswashd did not exit within 20s of SIG$1"
  wait "$pid" && LAB_DAEMON_RC=0 || LAB_DAEMON_RC=$?
  LAB_DAEMON_PID=
}

# lab_daemon_run [ARGS...]: runs dnswashd in the foreground (for the error cases); output in
# LAB_OUT, exit code in LAB_RC.
lab_daemon_run() {
  LAB_RC=0
  LAB_OUT=$(lab_s timeout 30 "$DNSWASHD" --state-dir "$LAB_STATE_DIR" --ban-state-dir "$LAB_BANS_DIR" "$@" 2>&1) || LAB_RC=$?
}

lab_ctl() { lab_s "$LAB_CTL" --iface "$LAB_IF" "$@"; }
lab_status() { lab_ctl --field "$1" '{"cmd":"status"}'; }
lab_counter() { lab_ctl --field "counters.$1" '{"cmd":"counters"}'; }

# lab_passes / lab_dropped NAME [SERVER]: one query from the client; any answer (REFUSED
# included) means the filter let it through. A pass waits long (a loaded machine may answer
# slowly, and a pass is confirmed by the answer), a drop is judged after a shorter silence (a
# lab named answers in milliseconds).
lab_probe() { lab_c "$DWQ" probe "${3:-$LAB_S4}" "$2" --timeout-ms "$1" >/dev/null; }
lab_passes() { lab_probe "${LAB_PASS_MS:-1500}" "$@"; }
lab_dropped() { ! lab_probe "${LAB_DROP_MS:-400}" "$@"; }

# lab_expect_answered / lab_expect_dropped NAME [SERVER] with dig itself: an answer (any rcode)
# vs. no answer at all (dig exit code 9: "no servers could be reached").
lab_expect_answered() {
  local out rc=0
  out=$(lab_c dig +time=2 +tries=2 +norec @"${2:-$LAB_S4}" "$1" A 2>&1) || rc=$?
  [[ $rc -eq 0 ]] || lab_fail "no answer for $1 from ${2:-$LAB_S4} (dig exit $rc): $out"
  grep -q 'status: NOERROR' <<<"$out" || lab_fail "answer for $1 is not NOERROR: $out"
}
lab_expect_dropped() {
  local out rc=0
  out=$(lab_c dig +time=1 +tries=1 +norec @"${2:-$LAB_S4}" "$1" A 2>&1) || rc=$?
  [[ $rc -eq 9 ]] || lab_fail "$1 via ${2:-$LAB_S4}: expected no answer at all (dig exit 9), got exit $rc: $out"
}

# lab_stream_start SERVED JUNK: a paced query stream from the client in the background;
# lab_stream_stop ends it and sets LAB_STREAM_REPORT to its JSON report.
lab_stream_start() {
  rm -f "$LAB_DIR/stream.stop"
  ip netns exec "$LAB_NS_C" "$DWQ" stream "$LAB_S4" --served "$1" --junk "$2" --rate "${LAB_STREAM_RATE:-200}" \
    --stop-file "$LAB_DIR/stream.stop" --timeout-ms 1000 >"$LAB_DIR/stream.json" &
  LAB_STREAM_PID=$!
  LAB_BG_PIDS+=("$LAB_STREAM_PID")
}
lab_stream_stop() {
  touch "$LAB_DIR/stream.stop"
  lab_wait_pid_gone "$LAB_STREAM_PID" 10 || lab_fail "query stream did not stop"
  wait "$LAB_STREAM_PID" || lab_fail "query stream failed"
  LAB_STREAM_REPORT=$(cat "$LAB_DIR/stream.json")
  lab_log "query stream: $LAB_STREAM_REPORT"
}
# lab_json_field JSON KEY: a number field from a flat JSON line (no jq dependency).
lab_json_field() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" <<<"$1"; }

# Nothing of dnswashd may remain: no XDP program on the veth, no pins, no control socket, no
# state file, no process.
lab_expect_nothing_left() {
  local link
  link=$(ip -n "$LAB_NS_S" -d link show dev "$LAB_IF")
  grep -q 'prog/xdp' <<<"$link" && lab_fail "an XDP program is still attached: $link"
  local pins
  # maps.debug and progs.debug are the kernel's own files in every new bpffs (bpf_preload).
  pins=$(find "$LAB_BPFFS" -mindepth 1 ! -name maps.debug ! -name progs.debug)
  [[ -z $pins ]] || lab_fail "pins left: $pins"
  lab_s grep -q '@dnswash/' /proc/net/unix && lab_fail "a dnswash control socket is still open"
  [[ -z $(find "$LAB_STATE_DIR" -mindepth 1) ]] || lab_fail "state files left: $(ls "$LAB_STATE_DIR")"
  # NFQUEUE rules are tagged "dnswash:<iface>" (an nft table, or iptables comments).
  local rules
  rules=$(lab_s nft list ruleset 2>/dev/null; lab_s iptables-save 2>/dev/null; lab_s ip6tables-save 2>/dev/null)
  grep -q 'dnswash' <<<"$rules" && lab_fail "netfilter rules left: $(grep dnswash <<<"$rules")"
  return 0
}
