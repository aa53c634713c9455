# shellcheck shell=bash
# The hostile clients that tests/lab/hostile_test.sh checks and bench/hostile_bench.sh measures,
# started the same way for both. Source after netns.sh, with lab_setup done, HOSTILE set to the
# `hostile` binary, PORT to the metrics port, and HOSTILE_PID / SLOW_PID tracked by the caller.

# hostile_control_flood REQUESTS SECONDS: an unprivileged user (nobody) holds 1,000 idle and 60
# pipelining, never-reading connections on the control socket while root makes REQUESTS timed
# requests of each kind; returns with the report in HOSTILE_REPORT once root is done (SECONDS at
# most). The connections stay open until hostile_control_release.
hostile_control_flood() {
  HOSTILE_FIFO=$LAB_DIR/hold.fifo
  mkfifo "$HOSTILE_FIFO"
  local out=$LAB_DIR/hostile.json
  ip netns exec "$LAB_NS_S" "$HOSTILE" control --iface "$LAB_IF" --idle 1000 --pipe 60 \
    --requests "$1" --hold-fifo "$HOSTILE_FIFO" >"$out" &
  HOSTILE_PID=$!
  lab_wait_until "$2" "root's requests under the flood" test -s "$out"
  # shellcheck disable=SC2034 # the result, read by the caller
  HOSTILE_REPORT=$(cat "$out")
}
hostile_control_release() {
  echo release >"$HOSTILE_FIFO"
  wait "$HOSTILE_PID" || true
  HOSTILE_PID=
}

# hostile_zone_add_ms ZONE: adds ZONE to named.conf and sets ZONE_MS to the milliseconds until
# a query under it passes the filter (probes time out after 150 ms; fails after 10 s).
hostile_zone_add_ms() {
  lab_expect_dropped "www.$1"
  local t0
  t0=$(lab_now_ms)
  lab_zone_stanza "$1" >>"$LAB_NAMED_CONF"
  until lab_probe 150 "www.$1"; do
    (($(lab_now_ms) - t0 < 10000)) || lab_fail "$1 not let through 10 s after it was added"
  done
  # shellcheck disable=SC2034 # the result, read by the caller
  ZONE_MS=$(($(lab_now_ms) - t0))
}

# hostile_slowloris_start N: N slowloris connections to the metrics port from the client
# namespace, held until hostile_slowloris_stop.
hostile_slowloris_start() {
  SLOW_FIFO=$LAB_DIR/slow.fifo
  mkfifo "$SLOW_FIFO"
  local out=$LAB_DIR/slow.json
  ip netns exec "$LAB_NS_C" "$HOSTILE" http --connect "$LAB_S4:$PORT" --slow "$1" --scrapes 0 \
    --hold-fifo "$SLOW_FIFO" >"$out" &
  SLOW_PID=$!
  LAB_BG_PIDS+=("$SLOW_PID")
  lab_wait_until 60 "$1 slowloris connections" test -s "$out"
}
hostile_slowloris_stop() {
  echo release >"$SLOW_FIFO"
  wait "$SLOW_PID" || true
}
