# shellcheck shell=bash
# Resolver lab: real recursive resolvers (Unbound, Knot Resolver, BIND) in network namespaces of
# their own, resolving from a lab root server (a separate BIND in its own namespace) that
# delegates the lab zones to the protected authoritative server. Their queries reach that server
# through the filtered interface, from their own addresses, as on the Internet.
#
# Topology (every namespace and veth carries the shell's pid; nothing in the root namespace, no
# default route: routes only for the documentation networks):
#
#   resolver ns --veth-- UPLINK ns (forwards) --the lab's veth-- SERVER ns (named + dnswashd)
#   root ns     --veth-/
#
#   UPLINK is the namespace on the far side of the filtered interface (netns.sh's client
#   namespace). Each resolver / the root gets a /30 out of RL_NET4.0/24 (default 198.51.100):
#   the UPLINK end is .4i+1, the far end .4i+2. The SERVER namespace gets a route for
#   RL_NET4.0/24 via the UPLINK's address. Clients ask a resolver from the UPLINK namespace.
#
# Interface (stable; everything returns non-zero and prints why on failure, and fails the test
# through RL_FAIL, default: print "FAIL: ..." and exit 1):
#
#   source tests/support/resolvers.sh   # after netns.sh (its polls are used): sets nothing up yet
#   rl_setup UPLINK_NS UPLINK_ADDR4 SERVER_NS SERVER_ADDR4
#                                       # once; chains rl_cleanup into the current EXIT trap
#   rl_root_start ZONE...               # root zone: each ZONE delegated to ns.ZONE = SERVER_ADDR4
#                                       # (glue); sets RL_ROOT_ADDR
#   rl_resolver_start ID KIND [LINE...] # KIND unbound | kresd | named; ID [a-z0-9]{1,8}, unique.
#                                       # LINEs are appended to the resolver's configuration
#                                       # (unbound server: clause lines, kresd Lua lines,
#                                       # named options{} lines). Returns once it answers.
#   rl_addr ID                          # prints the resolver's IPv4 address (its source address
#                                       # towards the server, and where clients send queries)
#   rl_ns ID                            # prints its namespace
#   rl_exec ID CMD...                   # runs CMD in its namespace
#   rl_query ID NAME [TYPE] [DIG_ARG...]
#                                       # asks the resolver from the UPLINK namespace (RD=1);
#                                       # prints the rcode (NOERROR, NXDOMAIN, SERVFAIL, ...) or
#                                       # TIMEOUT; always returns 0
#   rl_flush ID                         # empties its caches: records, negative answers and what
#                                       # it knows about servers (infra / RTT / "unresponsive")
#   rl_resolver_stop ID                 # stops it (bounded wait); its namespace stays
#   rl_cleanup                          # stops everything, deletes the namespaces and files;
#                                       # runs on EXIT by itself, keeps the exit status
#
# Defaults: Unbound 1.17 with qname-minimisation and use-caps-for-id (0x20) on, no validation
# (module-config "iterator"), the RFC 6761 zones test. and invalid. resolved, not answered
# locally (kresd answers NXDOMAIN for test. and invalid. itself: give lab zones that
# kresd must resolve a name under example. or similar); kresd with its defaults (qname minimisation) and the root trust
# anchor removed; BIND with recursion, qname-minimization relaxed (its default), no validation.
# All three: small caches, logs in RL_DIR/<ID>.log (shown on a failing exit).
#
# DNSSEC validation (off by default): set RL_TRUST_ANCHOR to a file of DS records, one a line,
# `NAME TTL IN DS TAG ALGORITHM DIGEST_TYPE DIGEST` (what rl_ds_line prints), before
# rl_resolver_start; every resolver started then validates with those anchors and no other
# (Unbound "validator iterator", kresd's validate layer, BIND `dnssec-validation yes` with
# static-ds trust-anchors): names outside them resolve insecure, as without validation.
#   rl_ds_line DSSET_FILE             # a dnssec-signzone dsset- file's first DS, one line
#
# Needs root, ip, named, unbound, unbound-control, kresd, dig, python3 (for kresd's control
# socket).

: "${RL_NET4:=198.51.100}"
RL_ID=$$
RL_DIR=/run/dnswash-rl-$RL_ID
RL_UPLINK_NS=
RL_UPLINK_ADDR4=
RL_SERVER_NS=
RL_SERVER_ADDR4=
RL_ROOT_ADDR=
RL_NEXT_LINK=1
RL_SET_UP=0
RL_LINK_NS=
RL_LINK_ADDR=
declare -gA RL_KIND=() RL_PID=() RL_ADDRS=() RL_NSS=()

rl_log() { echo "rl[$RL_ID]: $*" >&2; }
rl_die() {
  if [[ -n ${RL_FAIL:-} ]]; then
    "$RL_FAIL" "$*"
  else
    echo "FAIL: $*" >&2
    exit 1
  fi
}

# rl_wait_until SECONDS WHAT CMD...: bounded poll until CMD succeeds (netns.sh's poll), failing
# through rl_die. rl_pid_gone PID SECONDS: bounded wait for a process to end.
rl_wait_until() {
  local secs=$1 what=$2
  shift 2
  netns_poll "$secs" "$@" || rl_die "timed out after ${secs}s waiting for: $what"
}
rl_pid_gone() { netns_wait_pid_gone "$@"; }

rl_setup() {
  (($# == 4)) || rl_die "rl_setup UPLINK_NS UPLINK_ADDR4 SERVER_NS SERVER_ADDR4"
  ((RL_SET_UP == 0)) || rl_die "rl_setup called twice"
  RL_UPLINK_NS=$1 RL_UPLINK_ADDR4=$2 RL_SERVER_NS=$3 RL_SERVER_ADDR4=$4
  mkdir -p "$RL_DIR"
  RL_SET_UP=1
  # Chain into whatever EXIT trap the harness set: ours first (processes and namespaces of
  # ours), then theirs, with the exit status intact ($? survives rl_cleanup's return).
  local prev
  prev=$(trap -p EXIT)
  if [[ -n $prev ]]; then
    eval "set -- $prev" # trap -- 'CMD' EXIT
    # shellcheck disable=SC2064 # expanded now on purpose: the previous trap's command
    trap "rl_cleanup; $3" EXIT
  else
    trap rl_cleanup EXIT
  fi
  ip netns exec "$RL_UPLINK_NS" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$RL_SERVER_NS" route replace "$RL_NET4.0/24" via "$RL_UPLINK_ADDR4"
}

# rl_link NAME: a namespace dwrl-$$-NAME joined to the UPLINK by a veth; sets RL_LINK_NS and
# RL_LINK_ADDR (globals, not output: a command substitution would lose the bookkeeping).
rl_link() {
  local name=$1 i=$RL_NEXT_LINK
  ((i < 63)) || rl_die "too many resolver-lab namespaces"
  RL_NEXT_LINK=$((i + 1))
  local ns=dwrl-$RL_ID-$name up=$RL_NET4.$((4 * i + 1)) far=$RL_NET4.$((4 * i + 2)) net
  ip netns add "$ns"
  RL_NSS[$name]=$ns
  ip -n "$RL_UPLINK_NS" link add "rl$i-$RL_ID" type veth peer name up0 netns "$ns"
  ip -n "$RL_UPLINK_NS" addr add "$up/30" dev "rl$i-$RL_ID"
  ip -n "$RL_UPLINK_NS" link set "rl$i-$RL_ID" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$far/30" dev up0
  ip -n "$ns" link set up0 up
  for net in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24; do
    ip -n "$ns" route replace "$net" via "$up"
  done
  RL_LINK_NS=$ns
  RL_LINK_ADDR=$far
}

rl_root_start() {
  ((RL_SET_UP)) || rl_die "rl_root_start before rl_setup"
  local ns addr z dir=$RL_DIR/root
  rl_link root
  ns=$RL_LINK_NS addr=$RL_LINK_ADDR
  RL_ROOT_ADDR=$addr
  mkdir -p "$dir"
  {
    echo "\$TTL 3600"
    echo ". IN SOA a.root.lab. hostmaster.root.lab. 1 3600 600 86400 60"
    echo ". IN NS a.root.lab."
    echo "a.root.lab. IN A $addr"
    for z in "$@"; do
      echo "$z. IN NS ns.$z."
      echo "ns.$z. IN A $RL_SERVER_ADDR4"
    done
  } >"$dir/root.zone"
  cat >"$dir/named.conf" <<EOF
options {
  directory "$dir";
  listen-on port 53 { $addr; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
  pid-file none;
  session-keyfile none;
  managed-keys-directory "$dir";
};
controls { };
zone "." { type primary; file "root.zone"; };
EOF
  named-checkconf -z "$dir/named.conf" >/dev/null || rl_die "the root server's named.conf does not check"
  chown -R bind: "$dir"
  ip netns exec "$ns" named -g -u bind -c "$dir/named.conf" >"$RL_DIR/root.log" 2>&1 &
  RL_PID[root]=$!
  RL_KIND[root]=root
  RL_ADDRS[root]=$addr
  rl_wait_until 30 "the root server answers" \
    ip netns exec "$RL_UPLINK_NS" dig +time=1 +tries=1 +norec @"$addr" . SOA
}

rl_conf_unbound() {
  local id=$1 dir=$2 addr=$3
  shift 3
  cat <<EOF
server:
  interface: $addr
  port: 53
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$dir"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 1
  access-control: 0.0.0.0/0 allow
EOF
  if [[ -n ${RL_TRUST_ANCHOR:-} ]]; then
    printf '  module-config: "validator iterator"\n  trust-anchor-file: "%s"\n  val-log-level: 2\n' "$RL_TRUST_ANCHOR"
  else
    echo '  module-config: "iterator"'
  fi
  cat <<EOF
  root-hints: "$dir/root.hints"
  qname-minimisation: yes
  use-caps-for-id: yes
  # Unbound answers the RFC 6761 names itself (test., invalid., ...): lab zones live there.
  local-zone: "test." nodefault
  local-zone: "invalid." nodefault
  msg-cache-size: 4m
  rrset-cache-size: 8m
  num-threads: 1
EOF
  local l
  for l in "$@"; do echo "  $l"; done
  cat <<EOF
remote-control:
  control-enable: yes
  control-interface: "$dir/unbound.ctl"
  control-use-cert: no
EOF
}

rl_conf_kresd() {
  local id=$1 dir=$2 addr=$3
  shift 3
  cat <<EOF
net.listen('$addr', 53, { kind = 'dns' })
net.ipv6 = false
modules = { 'hints > iterate' }
cache.open(16 * MB, 'lmdb://$dir/cache')
pcall(function() trust_anchors.remove('.') end)
hints.root({ ['a.root.lab.'] = '$RL_ROOT_ADDR' })
EOF
  # kresd validates whatever its trust anchors cover (the validate layer is on by default).
  [[ -z ${RL_TRUST_ANCHOR:-} ]] || echo "for l in io.lines('$RL_TRUST_ANCHOR') do trust_anchors.add(l) end"
  local l
  for l in "$@"; do echo "$l"; done
}

rl_conf_named() {
  local id=$1 dir=$2 addr=$3
  shift 3
  cat <<EOF
key "rl-rndc" { algorithm hmac-sha256; secret "$(head -c 32 /dev/urandom | base64)"; };
controls { inet 127.0.0.1 port 953 allow { 127.0.0.1; } keys { "rl-rndc"; }; };
options {
  directory "$dir";
  listen-on port 53 { $addr; };
  listen-on-v6 { none; };
  recursion yes;
  allow-recursion { any; };
  allow-query-cache { any; };
  dnssec-validation $([[ -n ${RL_TRUST_ANCHOR:-} ]] && echo yes || echo no);
  notify no;
  pid-file none;
  session-keyfile none;
  managed-keys-directory "$dir";
  max-cache-size 16m;
EOF
  local l
  for l in "$@"; do echo "  $l"; done
  cat <<EOF
};
zone "." { type hint; file "root.hints"; };
EOF
  # static-ds: the DS records as anchors (the digest one quoted string).
  [[ -z ${RL_TRUST_ANCHOR:-} ]] ||
    awk 'BEGIN { print "trust-anchors {" } { printf "  \"%s\" static-ds %s %s %s \"%s\";\n", $1, $5, $6, $7, $8 }
      END { print "};" }' "$RL_TRUST_ANCHOR"
}

rl_ds_line() {
  # dsset- files leave the TTL out and may split the digest; joined here.
  awk '$3 == "DS" || $4 == "DS" { o = ($3 == "DS") ? 4 : 5; d = ""; for (i = o + 3; i <= NF; i++) d = d $i
      print $1, 3600, "IN", "DS", $o, $(o + 1), $(o + 2), d; exit }' "$1"
}

rl_resolver_start() {
  (($# >= 2)) || rl_die "rl_resolver_start ID KIND [CONFIG_LINE...]"
  local id=$1 kind=$2
  shift 2
  [[ $id =~ ^[a-z0-9]{1,8}$ && $id != root ]] || rl_die "bad resolver id '$id'"
  [[ -z ${RL_KIND[$id]:-} ]] || rl_die "resolver id '$id' already used"
  [[ -n $RL_ROOT_ADDR ]] || rl_die "rl_resolver_start before rl_root_start"
  local ns addr dir=$RL_DIR/$id conf
  rl_link "$id"
  ns=$RL_LINK_NS addr=$RL_LINK_ADDR
  mkdir -p "$dir"
  printf '. 3600000 IN NS a.root.lab.\na.root.lab. 3600000 IN A %s\n' "$RL_ROOT_ADDR" >"$dir/root.hints"
  RL_KIND[$id]=$kind
  RL_ADDRS[$id]=$addr
  case $kind in
    unbound)
      conf=$dir/unbound.conf
      rl_conf_unbound "$id" "$dir" "$addr" "$@" >"$conf"
      unbound-checkconf "$conf" >/dev/null || rl_die "unbound.conf for $id does not check"
      ip netns exec "$ns" unbound -d -c "$conf" >"$RL_DIR/$id.log" 2>&1 &
      ;;
    kresd)
      conf=$dir/kresd.conf
      mkdir -p "$dir/cache"
      rl_conf_kresd "$id" "$dir" "$addr" "$@" >"$conf"
      # -n: no interactive console; the control socket is $dir/control/<pid>.
      (cd "$dir" && exec ip netns exec "$ns" kresd -n -c "$conf" "$dir") >"$RL_DIR/$id.log" 2>&1 &
      ;;
    named)
      conf=$dir/named.conf
      rl_conf_named "$id" "$dir" "$addr" "$@" >"$conf"
      sed -n '/^key/,/};$/p' "$conf" | head -1 >"$dir/rndc.conf"
      printf 'options { default-key "rl-rndc"; default-server 127.0.0.1; default-port 953; };\n' >>"$dir/rndc.conf"
      named-checkconf "$conf" || rl_die "named.conf for $id does not check"
      chown -R bind: "$dir"
      ip netns exec "$ns" named -g -u bind -c "$conf" >"$RL_DIR/$id.log" 2>&1 &
      ;;
    *) rl_die "unknown resolver kind '$kind' (unbound | kresd | named)" ;;
  esac
  RL_PID[$id]=$!
  # Any reply at all (REFUSED included) means it listens; +norec keeps the caches empty.
  rl_wait_until 30 "resolver $id ($kind) answers" \
    ip netns exec "$RL_UPLINK_NS" dig +time=1 +tries=1 +norec @"$addr" resolver-ready.invalid A
}

rl_addr() { echo "${RL_ADDRS[$1]:?no resolver $1}"; }
rl_ns() { echo "${RL_NSS[$1]:?no resolver $1}"; }
rl_exec() {
  local id=$1
  shift
  ip netns exec "${RL_NSS[$id]:?no resolver $id}" "$@"
}

rl_query() {
  local id=$1 name=$2 type=${3:-A} out
  shift 2
  (($# == 0)) || shift
  out=$(ip netns exec "$RL_UPLINK_NS" dig +time=2 +tries=1 @"${RL_ADDRS[$id]:?no resolver $id}" \
    "$name" "$type" "$@" 2>/dev/null) || true
  if [[ $out =~ status:\ ([A-Z]+) ]]; then
    echo "${BASH_REMATCH[1]}"
  else
    echo TIMEOUT
  fi
}

rl_flush() {
  local id=$1 dir=$RL_DIR/$1
  case ${RL_KIND[$id]:-} in
    unbound)
      local what
      for what in "flush_zone ." "flush_infra all" flush_negative; do
        # shellcheck disable=SC2086 # the command and its argument
        unbound-control -c "$dir/unbound.conf" $what >/dev/null ||
          rl_die "unbound-control $what failed for $id"
      done
      ;;
    kresd)
      local sock=
      for sock in "$dir"/control/*; do break; done
      [[ -S $sock ]] || rl_die "no kresd control socket for $id"
      python3 - "$sock" <<'EOF' || rl_die "kresd cache.clear() failed for $id"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
# cache.clear() empties records and negative answers; the server selection state (RTT,
# timeouts) lives in the cache too in kresd 5.
s.sendall(b"cache.clear()\n")
s.recv(4096)
EOF
      ;;
    named)
      rl_exec "$id" rndc -c "$dir/rndc.conf" flush >/dev/null || rl_die "rndc flush failed for $id"
      ;;
    *) rl_die "no resolver $id" ;;
  esac
}

rl_resolver_stop() {
  local id=$1 pid=${RL_PID[$1]:-}
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null
  rl_pid_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  RL_PID[$id]=
}

rl_cleanup() {
  local rc=$? id
  ((RL_SET_UP)) || return $rc
  set +e
  if ((rc != 0)); then
    for id in "${!RL_KIND[@]}"; do
      [[ -s $RL_DIR/$id.log ]] && { echo "---- tail of $RL_DIR/$id.log" >&2; tail -n 30 "$RL_DIR/$id.log" >&2; }
    done
  fi
  for id in "${!RL_PID[@]}"; do
    [[ -n ${RL_PID[$id]} ]] && kill -TERM "${RL_PID[$id]}" 2>/dev/null
  done
  for id in "${!RL_PID[@]}"; do
    [[ -n ${RL_PID[$id]} ]] || continue
    rl_pid_gone "${RL_PID[$id]}" 10 || kill -KILL "${RL_PID[$id]}" 2>/dev/null
    RL_PID[$id]=
  done
  for id in "${!RL_NSS[@]}"; do
    ip netns del "${RL_NSS[$id]}" 2>/dev/null
  done
  RL_NSS=()
  [[ -n $RL_SERVER_NS ]] && ip -n "$RL_SERVER_NS" route del "$RL_NET4.0/24" 2>/dev/null
  rm -rf "$RL_DIR"
  RL_SET_UP=0
  return $rc
}
