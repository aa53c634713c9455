#!/bin/busybox sh
# shellcheck shell=dash
# /init of the kernel-matrix guest (tests/kernel/matrix.sh): mounts the basics, loads the
# kernel's own modules, runs every line of guest_tests.list and reports on the serial console
# with lines starting "KM " (the host parses only those), then powers off. Everything else the
# tests print goes to the console only when a test fails (its last lines).
/bin/busybox --install -s /bin
export PATH=/usr/bin:/bin # ours (iproute2's ip included) before busybox's applets
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
mkdir -p /var && ln -s /run /var/run # iproute2's ip netns keeps its mounts in /var/run/netns
ip link set lo up
while read -r m; do
  [ -n "$m" ] && { insmod "/modules/$m.ko" || echo "KM FAIL insmod $m"; }
done </modules.order
echo "KM release $(uname -r)"

objects=$(echo /objects/*.bpf.o)
set -f # the lists hold gtest filters with *: no globbing
grep -vE '^[[:space:]]*(#|$)' /usr/bin/guest_tests.list >/tmp/tests
while read -r name binary args; do
  args=$(echo "$args" | sed "s|@OBJECTS@|$objects|")
  start=$(date +%s)
  # shellcheck disable=SC2086 # ARGS are words by design
  timeout 240 "/usr/bin/$binary" $args >"/tmp/$name.out" 2>&1 </dev/null
  rc=$?
  took=$(($(date +%s) - start))
  # dnswash-bpf-verify's per-program lines, for the host's table.
  sed -n 's/^ok   prog /KM prog /p; s/^FAIL prog /KM FAIL prog /p' "/tmp/$name.out"
  # A test's "note ..." lines (figures worth seeing when it passes), for the host's log.
  sed -n 's/^note /KM note /p' "/tmp/$name.out"
  if [ $rc -eq 0 ]; then
    echo "KM test $name pass ${took}s"
  else
    echo "KM test $name FAIL rc=$rc ${took}s; its last lines:"
    tail -n 40 "/tmp/$name.out"
  fi
done </tmp/tests
echo "KM done"
poweroff -f
