#!/usr/bin/python3
"""The interop suite's compliance probe: the queries ISC's DNS Compliance Testing tool
(genreport -f -c -t) sends to an authoritative server, written from its published test table
(name, EDNS size/flags/version/options, header flags, opcode, type, transport), plus the odd
queries RFC 8906 says a server must answer (cookie-only, header-only, QDCOUNT=2, STATUS,
IQUERY, bare NOTIFY/UPDATE, classes ANY/NONE/HS, id.server/hostname.bind CH TXT).

It does not judge compliance itself: it prints each answer in a normalised form (no message
id, cookies reduced to "echoed + server cookie length", EXPIRE values dropped) so that a run
against named alone and a run through dnswash can be compared line by line.

  compliance_probe.py --server ADDR --zone Z [--zone Z...] [--pace-odd SECONDS]

Output: one line per check, "zone<TAB>check<TAB>answer", "TIMEOUT" for no answer in time.
"""
import argparse
import socket
import struct
import sys
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

COOKIE = bytes.fromhex("0102030405060708")

# genreport's test table, transcribed: name -> settings.
#   edns: None (no OPT) or dict(size, flags, version, opts=[(code, bytes)])
#   hdr: header flags to set (aa ad cd ra rd tc z), op: opcode, type: qtype (None = no
#   question: a bare header), tcp: over TCP
def genreport_checks():
    def e(size=4096, flags=0, version=0, opts=()):
        return dict(size=size, flags=flags, version=version, opts=list(opts))

    nsid, ecs = (3, b""), (8, bytes.fromhex("00010000"))
    expire, cookie, opt100 = (9, b""), (10, COOKIE), (100, b"")
    soa, dnskey = "SOA", "DNSKEY"
    t = [
        ("dns", None, (), 0, soa, False),
        ("aa", None, ("aa",), 0, soa, False),
        ("ad", None, ("ad",), 0, soa, False),
        ("cd", None, ("cd",), 0, soa, False),
        ("ra", None, ("ra",), 0, soa, False),
        ("rd", None, ("rd",), 0, soa, False),
        ("tc", None, ("tc",), 0, soa, False),
        ("zflag", None, ("z",), 0, soa, False),
        ("opcode", None, (), 15, None, False),
        ("opcodeflg", None, ("tc", "rd", "ra", "cd", "ad", "aa", "z"), 15, None, False),
        ("type666", None, (), 0, "TYPE666", False),
        ("tcp", None, (), 0, soa, True),
        ("edns", e(), (), 0, soa, False),
        ("edns1", e(version=1), (), 0, soa, False),
        ("edns@512", e(size=512, flags=0x8000), (), 0, dnskey, False),
        ("ednsopt", e(opts=[opt100]), (), 0, soa, False),
        ("edns1opt", e(version=1, opts=[opt100]), (), 0, soa, False),
        ("do", e(flags=0x8000), (), 0, soa, False),
        ("docd", e(flags=0x8000), ("cd",), 0, soa, False),
        ("edns1do", e(flags=0x8000, version=1), (), 0, soa, False),
        ("ednsflags", e(flags=0x0080), (), 0, soa, False),
        ("optlist", e(opts=[nsid, ecs, expire, cookie]), (), 0, soa, False),
        ("ednsnsid", e(opts=[nsid]), (), 0, soa, False),
        ("ednscookie", e(opts=[cookie]), (), 0, soa, False),
        ("ednsexpire", e(opts=[expire]), (), 0, soa, False),
        ("ednssubnet", e(opts=[ecs]), (), 0, soa, False),
        ("edns1nsid", e(version=1, opts=[nsid]), (), 0, soa, False),
        ("edns1cookie", e(version=1, opts=[cookie]), (), 0, soa, False),
        ("edns1expire", e(version=1, opts=[expire]), (), 0, soa, False),
        ("edns1subnet", e(version=1, opts=[ecs]), (), 0, soa, False),
        ("ednstcp", e(size=512, flags=0x8000), (), 0, dnskey, True),
        ("bind11", e(flags=0x8000, opts=[cookie]), (), 0, soa, False),
        ("dig11", e(opts=[cookie]), ("ad", "rd"), 0, soa, False),
    ]
    # -t: the type tests (a selection: the ones a zone here can hold, and a few it cannot).
    for ty in ("A", "NS", "CNAME", "SOA", "NULL", "PTR", "HINFO", "MX", "TXT", "AAAA", "SRV",
               "NAPTR", "DS", "RRSIG", "NSEC", "DNSKEY", "NSEC3PARAM", "CDS", "CAA", "ANY"):
        t.append((ty, None, (), 0, ty, False))
    return t


# Odd queries: (name, edns, header flags, opcode, questions [(name-suffix, type, class)]).
# "@" is the zone itself.
def odd_checks():
    e = dict(size=1232, flags=0, version=0, opts=[])
    ec = dict(size=1232, flags=0, version=0, opts=[(10, COOKIE)])
    q = [("@", "SOA", "IN")]
    return [
        ("cookie-only", ec, (), 0, []),
        ("header-only", e, (), 0, []),
        ("header-only-noedns", None, (), 0, []),
        ("qdcount2", None, (), 0, [("@", "SOA", "IN"), ("www", "A", "IN")]),
        ("status", None, (), 2, q),
        ("iquery", None, (), 1, q),
        ("opcode3", None, (), 3, q),
        ("notify-bare", None, ("aa",), 4, []),
        ("update-bare", None, (), 5, []),
        ("class-any", None, (), 0, [("@", "SOA", "ANY")]),
        ("class-none", None, (), 0, [("@", "SOA", "NONE")]),
        ("class-hs", None, (), 0, [("@", "SOA", "HS")]),
        ("id.server", None, (), 0, [("id.server.", "TXT", "CH")]),
        ("hostname.bind", None, (), 0, [("hostname.bind.", "TXT", "CH")]),
    ]


FLAG_BITS = {"qr": 0x8000, "aa": 0x0400, "tc": 0x0200, "rd": 0x0100, "ra": 0x0080,
             "z": 0x0040, "ad": 0x0020, "cd": 0x0010}


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build(zone, edns, hdr, opcode, questions, qid):
    flags = (opcode & 0xF) << 11
    for f in hdr:
        flags |= FLAG_BITS[f]
    body = b""
    for suffix, qtype, qclass in questions:
        name = zone if suffix == "@" else (suffix if suffix.endswith(".") else suffix + "." + zone)
        body += wire_name(name) + struct.pack("!HH", dns.rdatatype.from_text(qtype),
                                              dns.rdataclass.from_text(qclass))
    arcount = 0
    if edns is not None:
        rdata = b"".join(struct.pack("!HH", c, len(v)) + v for c, v in edns["opts"])
        ttl = (edns["version"] << 16) | edns["flags"]
        body += b"\0" + struct.pack("!HHIH", 41, edns["size"], ttl, len(rdata)) + rdata
        arcount = 1
    return struct.pack("!HHHHHH", qid, flags, len(questions), 0, 0, arcount) + body


def normalise(wire, sent_qid):
    if len(wire) < 12:
        return "SHORT %d" % len(wire)
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    names = [n for n, b in FLAG_BITS.items() if flags & b]
    head = "id=%s op=%d rcode=%d flags=%s counts=%d/%d/%d/%d size=%d" % (
        "ok" if qid == sent_qid else "BAD", (flags >> 11) & 0xF, flags & 0xF, "+".join(names),
        qd, an, ns, ar, len(wire))
    try:
        m = dns.message.from_wire(wire, ignore_trailing=True, one_rr_per_rrset=True)
    except Exception as ex:  # a FORMERR for a message it cannot parse: the header is enough
        return head + " unparsed=" + type(ex).__name__
    parts = [head, "rcode=" + dns.rcode.to_text(m.rcode())]
    if m.edns >= 0:
        opts = []
        for o in m.options:
            data = o.to_wire()
            if o.otype == dns.edns.COOKIE:  # the server half changes with every answer
                opts.append("COOKIE(echo=%s,len=%d)" % (data[:8] == COOKIE, len(data)))
            elif o.otype == dns.edns.EXPIRE:  # counts down on a secondary
                opts.append("EXPIRE")
            else:
                opts.append("%d:%s" % (o.otype, data.hex()))
        parts.append("edns=%d do=%s udp=%d opts=[%s]" % (
            m.edns, bool(m.ednsflags & dns.flags.DO), m.payload, ",".join(opts)))
    for sec, rrs in (("Q", m.question), ("AN", m.answer), ("NS", m.authority),
                     ("AR", m.additional)):
        if rrs:
            parts.append(sec + "{" + " | ".join(sorted(r.to_text() for r in rrs)) + "}")
    return " ".join(parts)


def ask(server, port, wire, tcp, timeout):
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    if tcp:
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            try:
                s.connect((server, port))
                s.sendall(struct.pack("!H", len(wire)) + wire)
                buf = b""
                while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                    chunk = s.recv(65535)
                    if not chunk:
                        return None
                    buf += chunk
                return buf[2:2 + struct.unpack("!H", buf[:2])[0]]
            except OSError:
                return None
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(wire, (server, port))
        deadline = time.monotonic() + timeout
        while True:
            try:
                data, _ = s.recvfrom(65535)
            except OSError:
                return None
            if data[:2] == wire[:2]:
                return data
            if time.monotonic() > deadline:
                return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--zone", action="append", required=True)
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--pace-odd", type=float, default=0.0,
                    help="seconds between queries that have no name to judge (keeps a run "
                         "inside dnswash's per-prefix odd-query limit)")
    ap.add_argument("--only", default="", help="comma-separated check names")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    qid = 0x1000
    last_odd = 0.0
    for zone in a.zone:
        zone = zone.rstrip(".") + "."
        checks = []
        for name, edns, hdr, op, qtype, tcp in genreport_checks():
            qs = [] if qtype is None else [("@", qtype, "IN")]
            checks.append((name, edns, hdr, op, qs, tcp))
        for name, edns, hdr, op, qs in odd_checks():
            checks.append((name, edns, hdr, op, qs, False))
        for name, edns, hdr, op, qs, tcp in checks:
            if only and name not in only:
                continue
            qid = (qid + 1) & 0xFFFF
            wire = build(zone, edns, hdr, op, qs, qid)
            odd = not tcp and (op not in (0, 4, 5) or len(qs) != 1 or qs[0][2] != "IN")
            if odd and a.pace_odd > 0:
                wait = last_odd + a.pace_odd - time.monotonic()
                if wait > 0:
                    time.sleep(wait)  # pacing a sender, not synchronising with anything
                last_odd = time.monotonic()
            resp = ask(a.server, a.port, wire, tcp, a.timeout)
            out = "TIMEOUT" if resp is None else normalise(resp, qid)
            print("%s\t%s\t%s" % (zone, name, out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
