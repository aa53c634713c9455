# shellcheck shell=bash
# The one network-namespace harness of dnswash: every lab (tests/lab, tests/nfqueue), every
# bench/*.sh script and the demo (scripts/demo) source it. Two layers:
#
# netns_*: namespaces joined by veth pairs (both ends always inside a namespace, nothing in the
# root namespace, no default route), addresses, BIND as an authoritative-only primary, bounded
# polls, and one EXIT trap that removes what was registered, on every exit path: processes
# (by pid), the caller's own clean-up hooks, mounts, namespaces (their veths go with them) and
# directories. Names carry the shell's pid ($NETNS_ID) so concurrent runs never clash.
#
#   source tests/support/netns.sh
#   netns_add "$srv" "$cli"                  # new namespaces, lo up, deleted on exit
#   netns_veth "$srv" s0 "$cli" c0           # a veth pair between them, both ends up
#   netns_addr "$srv" s0 192.0.2.1/24 2001:db8::1/64
#   netns_named_conf "$conf" "$workdir" 192.0.2.1 none "$zonedir" a.test b.test
#   netns_named_start "$srv" "$conf" "$log"  # NETNS_NAMED_PID, stopped on exit
#   netns_wait_until 30 "named answers" ip netns exec "$cli" dig ...
#
# lab_*: the dnswash lab on top (below): a server and a client namespace, BIND for a few zones
# on the server's veth and dnswashd there. Tools come from the environment ctest sets
# (cmake/Testing.cmake): DNSWASHD, DWQ, LAB_CTL, and NO_BPF_EXEC, DNSWASHCTL, ... for some labs.
#
#   lab_setup                         # namespaces, veth, addresses, a bpffs for the pins
#   lab_named_start a.test b.test     # BIND primary for these zones
#   lab_daemon_start --mode native    # dnswashd on the server veth; waits until it answers
#   lab_passes www.a.test             # 0 = any answer, 1 = no answer at all
#   lab_daemon_stop TERM; lab_expect_nothing_left

set -euo pipefail

NETNS_ID=$$
NETNS_MADE=()     # namespaces to delete
NETNS_MOUNTS=()   # mount points to unmount
NETNS_DIRS=()     # directories to remove
NETNS_PID_VARS=() # names of variables (scalars or arrays) holding pids to stop
NETNS_LOGS=()     # files whose tail is shown when the script fails
NETNS_ON_EXIT=()  # the caller's own clean-up commands (eval'd, last first, after the pids)
# A function netns_after_cleanup, if the caller defines one, runs last with the exit code.
NETNS_FAIL_PREFIX="FAIL: "
NETNS_NAMED_PID=

netns_fail() {
  echo "$NETNS_FAIL_PREFIX$*" >&2
  exit 1
}

# netns_track_pids VAR...: the pids in these variables (read at exit) are stopped on exit:
# SIGCONT and SIGTERM, a bounded wait, then SIGKILL.
netns_track_pids() { NETNS_PID_VARS+=("$@"); }
netns_track_pids NETNS_NAMED_PID

# netns_wait_pid_gone PID SECONDS: bounded poll until the process is gone.
netns_wait_pid_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# lab_has [GREP OPTIONS] PATTERN: `grep -q` that reads its whole input. Under pipefail,
# `cmd | grep -q` fails when grep exits at the first match while cmd is still writing (SIGPIPE).
lab_has() {
  grep "$@" >/dev/null
}

# netns_poll SECONDS CMD...: bounded poll until CMD succeeds; returns 1 if it never did.
netns_poll() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# netns_wait_until SECONDS DESCRIPTION CMD...: netns_poll, failing the script on a timeout.
netns_wait_until() {
  local secs=$1 what=$2
  shift 2
  netns_poll "$secs" "$@" || netns_fail "timed out after ${secs}s waiting for: $what"
}

netns_cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM HUP
  local f p v i pids=()
  if ((rc != 0 && rc != 130)); then
    for f in "${NETNS_LOGS[@]}"; do
      [[ -s $f ]] && { echo "---- tail of $f" >&2; tail -n 60 "$f" >&2; }
    done
  fi
  for v in "${NETNS_PID_VARS[@]}"; do
    local -n ref=$v
    for p in "${ref[@]}"; do [[ -n $p ]] && pids+=("$p"); done
    unset -n ref
  done
  for p in "${pids[@]}"; do
    kill -CONT "$p" 2>/dev/null # a stopped process cannot act on SIGTERM
    kill -TERM "$p" 2>/dev/null
  done
  for p in "${pids[@]}"; do netns_wait_pid_gone "$p" 10 || kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  for ((i = ${#NETNS_ON_EXIT[@]} - 1; i >= 0; i--)); do eval "${NETNS_ON_EXIT[i]}"; done
  for f in "${NETNS_MOUNTS[@]}"; do umount "$f"; done
  for f in "${NETNS_MADE[@]}"; do ip netns del "$f" 2>/dev/null; done
  for f in "${NETNS_DIRS[@]}"; do rm -rf "$f"; done
  if declare -F netns_after_cleanup >/dev/null; then netns_after_cleanup "$rc"; fi
  exit "$rc"
}
trap netns_cleanup EXIT
trap 'exit 130' INT TERM HUP

# netns_add NS...: new namespaces with loopback up, deleted on exit.
netns_add() {
  local ns
  for ns in "$@"; do
    NETNS_MADE+=("$ns")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
}

# netns_veth NS_A IF_A NS_B IF_B: a veth pair made inside NS_A with its peer moved straight
# into NS_B (no end ever exists in the root namespace); both ends up.
netns_veth() {
  ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
}

# netns_addr NS IF ADDR/LEN...: addresses on an interface (IPv6 without duplicate detection).
netns_addr() {
  local ns=$1 dev=$2 a
  shift 2
  for a in "$@"; do
    if [[ $a == *:* ]]; then
      ip -n "$ns" addr add "$a" dev "$dev" nodad
    else
      ip -n "$ns" addr add "$a" dev "$dev"
    fi
  done
}

# netns_mount_bpffs DIR: a bpffs of our own (`ip netns exec` remounts /sys), unmounted on exit.
netns_mount_bpffs() {
  mkdir -p "$1"
  mount -t bpf bpf "$1" || netns_fail "cannot mount a bpffs on $1"
  NETNS_MOUNTS+=("$1")
}

# netns_zone_file FILE ZONE NS_ADDR: a small zone (SOA, NS, apex, www and mail addresses).
netns_zone_file() {
  cat >"$1" <<EOF
\$TTL 60
@    IN SOA ns.$2. hostmaster.$2. 1 3600 600 86400 60
     IN NS  ns.$2.
ns   IN A   $3
@    IN A   192.0.2.80
www  IN A   192.0.2.80
www  IN AAAA 2001:db8::80
mail IN A   192.0.2.25
EOF
}

# netns_named_options WORKDIR LISTEN4 LISTEN6 [STATEMENT...]: the options block of an
# authoritative-only named.conf (recursion and validation off, nothing written outside WORKDIR,
# no rndc), with each extra STATEMENT (e.g. 'server-id "ns1";') added inside it.
netns_named_options() {
  local work=$1 l4=$2 l6=$3 st
  shift 3
  cat <<EOF
options {
  directory "$work";
  listen-on port 53 { $l4; };
  listen-on-v6 port 53 { $l6; };
  recursion no;
  dnssec-validation no;
  notify no;
  pid-file none;
  session-keyfile none;
  managed-keys-directory "$work";
EOF
  for st in "$@"; do printf '  %s\n' "$st"; done
  printf '};\ncontrols { };\n'
}

# netns_named_conf FILE WORKDIR LISTEN4 LISTEN6 ZONEDIR ZONE...: an authoritative-only
# named.conf serving ZONEDIR/<zone>.zone, each written by netns_zone_file with its NS at
# LISTEN4's first address. LISTEN4, LISTEN6: "a; b" or none.
netns_named_conf() {
  local conf=$1 work=$2 l4=$3 l6=$4 zdir=$5 z
  shift 5
  {
    netns_named_options "$work" "$l4" "$l6"
    for z in "$@"; do
      netns_zone_file "$zdir/$z.zone" "$z" "${l4%%;*}"
      printf 'zone "%s" { type primary; file "%s/%s.zone"; };\n' "$z" "$zdir" "$z"
    done
  } >"$conf.tmp"
  mv "$conf.tmp" "$conf"
}

# netns_named_start NS CONF LOG [USER]: BIND in the foreground in NS as USER (bind), pid in
# NETNS_NAMED_PID; the caller polls for its first answer. LOG is shown if the script fails.
netns_named_start() {
  named-checkconf "$2" || netns_fail "named.conf $2 does not check"
  NETNS_LOGS+=("$3")
  # Not through a function: $! must be named itself (ip execs it), not a subshell.
  ip netns exec "$1" named -g -u "${4:-bind}" -c "$2" >"$3" 2>&1 &
  # shellcheck disable=SC2034 # stopped on exit (netns_track_pids), read by callers
  NETNS_NAMED_PID=$!
}

# netns_random_zones N FILE: N zone names zNNNN<6 random letters>.com, one per line. One awk,
# not a pipeline per zone: 1,100 of those took minutes on a loaded machine.
netns_random_zones() {
  awk -v n="$1" -v seed="$RANDOM$1" 'BEGIN {
    srand(seed)
    for (i = 1; i <= n; i++) {
      s = ""
      for (k = 0; k < 6; k++) s = s sprintf("%c", 97 + int(rand() * 26))
      printf "z%04d%s.com\n", i, s
    }
  }' >"$2"
}

# ---- the dnswash lab --------------------------------------------------------------------------

LAB_ID=$NETNS_ID
LAB_NS_S=dwlab-s-$LAB_ID
LAB_NS_C=dwlab-c-$LAB_ID
LAB_IF=s0   # server side of the veth (dnswashd filters here)
LAB_IF_C=c0 # client side
LAB_S4=192.0.2.1
LAB_C4=192.0.2.2
LAB_S6=2001:db8::1
LAB_C6=2001:db8::2
LAB_DIR=/run/dnswash-lab-$LAB_ID # named's files, logs, state dir
LAB_BPFFS=$LAB_DIR/bpffs         # a bpffs outside /sys: `ip netns exec` remounts /sys
# iproute2's own bpffs. `ip link ... xdp obj` and `tc ... bpf obj` create ip/, xdp/, tc/ and
# tc/globals in a bpffs: /sys/fs/bpf if it is one, else the first bpffs they find mounted,
# which on a machine without /sys/fs/bpf (a fresh one) is LAB_BPFFS, where they would then
# count as dnswashd's pins. TC_BPF_MNT names theirs, with or without /sys/fs/bpf; lab_setup
# exports it once it is mounted (scripts that only use netns_* keep iproute2's default).
LAB_IP_BPFFS=$LAB_DIR/ip-bpffs
LAB_NAMED_DIR=$LAB_DIR/named
LAB_NAMED_CONF=$LAB_NAMED_DIR/named.conf
LAB_STATE_DIR=$LAB_DIR/state
LAB_BANS_DIR=$LAB_DIR/bans # dnswashd --ban-state-dir (bans and offense history)
LAB_DAEMON_LOG=$LAB_DIR/dnswashd.log
LAB_DAEMON_PID=
LAB_DAEMON_RC=
LAB_DAEMON_WRAP=() # a command that execs its arguments, put before dnswashd (e.g. nsenter -m)
LAB_BG_PIDS=()
netns_track_pids LAB_BG_PIDS LAB_DAEMON_PID

lab_log() { echo "lab[$LAB_ID]: $*" >&2; }
lab_fail() { netns_fail "$@"; }
lab_wait_pid_gone() { netns_wait_pid_gone "$@"; }
lab_wait_until() { netns_wait_until "$@"; }

# Background jobs call `ip netns exec` directly, not these functions: $! must be the pid of the
# program itself (ip execs it), not of a subshell.
lab_s() { ip netns exec "$LAB_NS_S" "$@"; }
lab_c() { ip netns exec "$LAB_NS_C" "$@"; }

lab_setup() {
  [[ $(id -u) -eq 0 ]] || lab_fail "the lab needs root (network namespaces, BPF)"
  : "${DNSWASHD:?set DNSWASHD to the dnswashd binary}"
  : "${DWQ:?set DWQ to the dwq binary}"
  : "${LAB_CTL:?set LAB_CTL to the lab_ctl binary}"
  NETNS_DIRS+=("$LAB_DIR")
  NETNS_LOGS+=("$LAB_DAEMON_LOG")
  mkdir -p "$LAB_DIR" "$LAB_NAMED_DIR" "$LAB_STATE_DIR"
  netns_mount_bpffs "$LAB_BPFFS"
  netns_mount_bpffs "$LAB_IP_BPFFS"
  export TC_BPF_MNT=$LAB_IP_BPFFS
  netns_add "$LAB_NS_S" "$LAB_NS_C"
  netns_veth "$LAB_NS_S" "$LAB_IF" "$LAB_NS_C" "$LAB_IF_C"
  netns_addr "$LAB_NS_S" "$LAB_IF" "$LAB_S4/24" "$LAB_S6/64"
  netns_addr "$LAB_NS_C" "$LAB_IF_C" "$LAB_C4/24" "$LAB_C6/64"
  lab_wait_until 10 "client reaches the server (ping)" lab_c ping -c1 -W1 "$LAB_S4"
}

# lab_named_write_conf ZONE...: named.conf serving these zones (an authoritative-only server).
lab_named_write_conf() {
  netns_named_conf "$LAB_NAMED_CONF" "$LAB_NAMED_DIR" "$LAB_S4" "$LAB_S6" "$LAB_NAMED_DIR" "$@"
}

# lab_zone_stanza NAME: the zone statement for named.conf (as lab_named_write_conf writes it).
lab_zone_stanza() { printf 'zone "%s" { type primary; file "%s/%s.zone"; };\n' "$1" "$LAB_NAMED_DIR" "$1"; }

# lab_named_start ZONE...: BIND in the server namespace as primary for the zones.
lab_named_start() {
  lab_named_write_conf "$@"
  chown -R bind: "$LAB_NAMED_DIR"
  netns_named_start "$LAB_NS_S" "$LAB_NAMED_CONF" "$LAB_DIR/named.log"
  lab_wait_until 30 "named answers for $1" lab_s dig +time=1 +tries=1 +norec @"$LAB_S4" "$1" SOA
}

# lab_daemon_start [ARGS...]: dnswashd on the server veth with the lab's named.conf, pins and
# state dir; returns once its control socket answers `status`.
lab_daemon_start() {
  # --ban-state-dir inside the lab: bans must never leak into /var/lib/dnswash or the next test.
  "${LAB_DAEMON_WRAP[@]}" ip netns exec "$LAB_NS_S" "$DNSWASHD" --iface "$LAB_IF" --named-conf "$LAB_NAMED_CONF" --pin-dir "$LAB_BPFFS" \
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
# shellcheck disable=SC2034 # LAB_OUT, LAB_RC: for the caller
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
# lab_stream_expect_clean WHAT: ends the stream; every served query must have been answered and
# no junk query, or the lab fails naming WHAT (what the stream ran across).
lab_stream_expect_clean() {
  lab_stream_stop
  local r=$LAB_STREAM_REPORT
  (($(lab_json_field "$r" served_answered) == $(lab_json_field "$r" served_sent))) ||
    lab_fail "served queries lost $1: $r"
  (($(lab_json_field "$r" junk_answered) == 0)) || lab_fail "junk answered $1: $r"
}

# lab_now_ms: wall clock in milliseconds, for the labs' measured delays.
lab_now_ms() { date +%s%3N; }

# lab_expect_within_2s passes|dropped NAME WHAT: called right after a change (WHAT) was made;
# probes NAME until it passes (or is dropped) and fails unless that happened within 2 s
# (gives up after 5 s so a slow case is measured, not just failed). Logs the delay.
lab_expect_within_2s() {
  local want=$1 name=$2 what=$3 t0 dt
  t0=$(lab_now_ms)
  until if [[ $want == passes ]]; then LAB_PASS_MS=300 lab_passes "$name"; else LAB_DROP_MS=300 lab_dropped "$name"; fi; do
    (($(lab_now_ms) - t0 < 5000)) || lab_fail "$what: $name not $want 5 s later"
  done
  dt=$(($(lab_now_ms) - t0))
  ((dt < 2000)) || lab_fail "$what: $name $want only after $dt ms (limit 2000)"
  lab_log "$what: $name $want after <= $dt ms"
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
