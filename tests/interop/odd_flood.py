#!/usr/bin/python3
"""Flood of one kind of query as whole Ethernet frames on a packet socket, from one source or
from random forged IPv6 sources (2001:db8::/32, so nearly every query comes from another /56),
counting the replies that come back on the same socket (UDP from port 53 to the flooded
addresses: the kernel drops them, the packet socket sees them first).

  odd_flood.py --iface c0 --src-mac M --dst-mac M --server ADDR --kind KIND --count N
               (--src ADDR | --random-v6) [--quiet-ms 1000]

Prints one JSON line: sent, seconds (sending), replies, rcodes seen.
KIND: cookie-only header-only qdcount2 status iquery opcode15 notify-bare update-bare
      class-any class-none class-hs id-server hostname-bind junk (a name not served)
"""
import argparse
import json
import random
import select
import socket
import struct
import time

COOKIE_OPT = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 12) + struct.pack("!HH", 10, 8) + b"\1" * 8
PLAIN_OPT = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)


def wire_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"


def q(name, qtype, qclass):
    return wire_name(name) + struct.pack("!HH", qtype, qclass)


def message(kind, qid, zone):
    def hdr(op=0, qd=1, ar=0, flags=0):
        return struct.pack("!HHHHHH", qid, (op << 11) | flags, qd, 0, 0, ar)

    k = {
        "cookie-only": lambda: hdr(qd=0, ar=1) + COOKIE_OPT,
        "header-only": lambda: hdr(qd=0, ar=1) + PLAIN_OPT,
        "qdcount2": lambda: hdr(qd=2) + q(zone, 6, 1) + q("www." + zone, 1, 1),
        "status": lambda: hdr(op=2) + q(zone, 6, 1),
        "iquery": lambda: hdr(op=1) + q(zone, 6, 1),
        "opcode15": lambda: hdr(op=15, qd=0),
        "notify-bare": lambda: hdr(op=4, qd=0, flags=0x0400),
        "update-bare": lambda: hdr(op=5, qd=0),
        "class-any": lambda: hdr() + q(zone, 6, 255),
        "class-none": lambda: hdr() + q(zone, 6, 254),
        "class-hs": lambda: hdr() + q(zone, 6, 4),
        "id-server": lambda: hdr() + q("id.server", 16, 3),
        "hostname-bind": lambda: hdr() + q("hostname.bind", 16, 3),
        "junk": lambda: hdr(flags=0) + q("x%d.junk.invalid" % qid, 1, 1),
    }
    return k[kind]()


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(src_mac, dst_mac, src, dst, sport, payload):
    udp_len = 8 + len(payload)
    if ":" in dst:
        s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
        pseudo = s + d + struct.pack("!I3xB", udp_len, 17)
        udp = struct.pack("!HHHH", sport, 53, udp_len, 0) + payload
        c = csum(pseudo + udp) or 0xFFFF
        udp = udp[:6] + struct.pack("!H", c) + udp[8:]
        ip = struct.pack("!IHBB", 6 << 28, udp_len, 17, 64) + s + d
        return dst_mac + src_mac + b"\x86\xdd" + ip + udp
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    pseudo = s + d + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, 53, udp_len, 0) + payload
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def rcode_of_reply(f):
    et = f[12:14]
    if et == b"\x08\x00":
        ihl = (f[14] & 15) * 4
        if f[23] != 17:
            return None
        udp = 14 + ihl
    elif et == b"\x86\xdd":
        if f[20] != 17:
            return None
        udp = 54
    else:
        return None
    if len(f) < udp + 8 + 12 or struct.unpack("!H", f[udp:udp + 2])[0] != 53:
        return None
    flags = struct.unpack("!H", f[udp + 10:udp + 12])[0]
    if not flags & 0x8000:
        return None
    return flags & 0xF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--src-mac", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--zone", default="plain.lab")
    ap.add_argument("--kind", required=True)
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--src")
    ap.add_argument("--random-v6", action="store_true")
    ap.add_argument("--quiet-ms", type=int, default=1000)
    a = ap.parse_args()
    mac = lambda m: bytes.fromhex(m.replace(":", ""))
    src_mac, dst_mac = mac(a.src_mac), mac(a.dst_mac)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.bind((a.iface, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    sock.setblocking(False)
    rng = random.Random(18)
    replies, rcodes = 0, {}

    def drain():
        nonlocal replies
        while True:
            try:
                f, addr = sock.recvfrom(65535)
            except BlockingIOError:
                return
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            rc = rcode_of_reply(f)
            if rc is not None:
                replies += 1
                rcodes[rc] = rcodes.get(rc, 0) + 1

    t0 = time.monotonic()
    for i in range(a.count):
        if a.random_v6:
            src = "2001:db8:%x:%x::%x" % (rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(16) | 1)
        else:
            src = a.src
        f = frame(src_mac, dst_mac, src, a.server, 1024 + (i % 60000),
                  message(a.kind, i & 0xFFFF, a.zone))
        while True:
            try:
                sock.send(f)
                break
            except BlockingIOError:
                select.select([], [sock], [], 0.01)
        if i % 256 == 0:
            drain()
    sent_s = time.monotonic() - t0
    last = time.monotonic()
    while time.monotonic() - last < a.quiet_ms / 1000:
        r, _, _ = select.select([sock], [], [], 0.05)
        before = replies
        drain()
        if replies != before:
            last = time.monotonic()
    print(json.dumps({"kind": a.kind, "sent": a.count, "seconds": round(sent_s, 3),
                      "replies": replies, "rcodes": {str(k): v for k, v in sorted(rcodes.items())}}))


if __name__ == "__main__":
    main()
