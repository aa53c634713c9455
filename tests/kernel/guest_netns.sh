#!/bin/busybox sh
# shellcheck shell=dash
# Sourced by the guest tests (not run on its own): the setup every one of them needs.
# guest_pair: with S, C, D and IP set and fail() defined, makes D's bpffs, state and bans dirs
# and a named.conf serving a.test (no BIND runs in the guest: dnswashd's counters tell), and a
# veth s0 (192.0.2.1, in namespace S) to c0 (192.0.2.2, in C), both up.
guest_pair() {
  mkdir -p "$D/bpffs" "$D/state" "$D/bans"
  echo 'zone "a.test" { type primary; file "a.test.db"; };' >"$D/named.conf"
  mount -t bpf bpf "$D/bpffs" || fail "mount bpffs"
  { $IP netns add "$S" && $IP netns add "$C"; } || fail "ip netns add"
  $IP link add s0 netns "$S" type veth peer name c0 netns "$C" || fail "veth (module veth loaded?)"
  { $IP -n "$S" addr add 192.0.2.1/24 dev s0 && $IP -n "$C" addr add 192.0.2.2/24 dev c0; } || fail "addresses"
  { $IP -n "$S" link set s0 up && $IP -n "$C" link set c0 up && $IP -n "$S" link set lo up; } || fail "link up"
}
