#!/usr/bin/env python3
"""The lookups of tests/shield/shield_false_positives_lab.sh: a resolver's users browsing,
delivering mail and validating DNSSEC, and the check of what the resolver answered.

  resolver_mix.py zones DIR NS_ADDR LEGACY_ADDR # the zones' sources, DIR/<zone>.src (unsigned);
                                                # legacy.sig.example's server at LEGACY_ADDR
  resolver_mix.py gen SEED COUNT PLAN DIGFILE   # COUNT lookups: PLAN (name type rcode secure),
                                                # DIGFILE (dig -f batch lines)
  resolver_mix.py check PLAN DIGOUT             # dig's output against PLAN: one JSON line of
                                                # counts; exit 1 (reasons on stderr) on a mismatch

The zones, written here so their names and the lookups' expectations are kept in one place:
sig.example (signed, NSEC, the trust anchor), its signed child
shop.sig.example (NSEC3, DS in the parent), its unsigned child legacy.sig.example (an insecure
delegation: validators fetch a DS and get a signed NODATA), and plain.example (unsigned, not
under the anchor: a mail domain without DMARC, MTA-STS or DANE, the issue's three NXDOMAINs).
"""
import json
import random
import re
import sys

SIGNED = ("sig.example", "shop.sig.example")
HOSTS = 60  # hN.sig.example and pN.shop.sig.example: h1..h60, p1..p60

# A mail delivery to each domain: MX, the MX host's A/AAAA, SPF, DMARC, MTA-STS, DANE. What
# exists: (mx host, has _dmarc, has _mta-sts, has the TLSA record).
MAIL = {
    "sig.example": ("mail.sig.example", True, True, True),
    "shop.sig.example": ("mx.shop.sig.example", True, False, False),
    "legacy.sig.example": ("mail.legacy.sig.example", False, False, False),
    "plain.example": ("mail.plain.example", False, False, False),
}


def under(name, zone):
    return name == zone or name.endswith("." + zone)


def secure(name, rrtype):
    """Validated (AD) answer? The DS of legacy.sig.example is the signed parent's (NODATA)."""
    if under(name, "legacy.sig.example"):
        return name == "legacy.sig.example" and rrtype == "DS"
    return any(under(name, z) for z in SIGNED)


def mail_delivery(domain):
    mx, dmarc, sts, tlsa = MAIL[domain]
    ok = lambda b: "NOERROR" if b else "NXDOMAIN"
    return [
        (domain, "MX", "NOERROR"),
        (mx, "A", "NOERROR"),
        (mx, "AAAA", "NOERROR"),  # NODATA where the host has no AAAA
        (domain, "TXT", "NOERROR"),
        ("_dmarc." + domain, "TXT", ok(dmarc)),
        ("_mta-sts." + domain, "TXT", ok(sts)),
        ("_25._tcp." + mx, "TLSA", ok(tlsa)),
    ]


def browse(r):
    """One web lookup: a page's A, AAAA or HTTPS for www, a random host or a CNAME chain."""
    t = r.choice(("A", "A", "AAAA", "HTTPS"))
    k = r.random()
    if k < 0.35:
        name = "h%d.sig.example" % r.randint(1, HOSTS)
    elif k < 0.6:
        name = "p%d.shop.sig.example" % r.randint(1, HOSTS)
    elif k < 0.7:
        name = r.choice(("www.sig.example", "sig.example", "www.shop.sig.example"))
    elif k < 0.8:
        name = r.choice(("web.sig.example", "static.sig.example"))  # CNAME chains
    elif k < 0.9:
        name = r.choice(("www.legacy.sig.example", "www.plain.example", "cdn.plain.example"))
    else:  # what validators ask themselves, asked by a user (delv, a DANE checker)
        return r.choice((("sig.example", "DNSKEY"), ("shop.sig.example", "DNSKEY"),
                         ("shop.sig.example", "DS"), ("legacy.sig.example", "DS"))) + ("NOERROR",)
    return (name, t, "NOERROR")


def typo(r):
    """A name that does not exist: a mistyped host, in a signed or an unsigned zone."""
    zone = r.choice(("sig.example", "shop.sig.example", "plain.example", "legacy.sig.example"))
    return ("nohost%d.%s" % (r.randint(1, 99999), zone), r.choice(("A", "AAAA")), "NXDOMAIN")


def gen(seed, count, plan_path, dig_path):
    r = random.Random(seed)
    out = []
    domains = list(MAIL)
    n = 0
    while len(out) < count:
        n += 1
        if n % 90 == 0:  # a mail delivery among every ~100 lookups, each domain in turn
            out.extend(mail_delivery(domains[(n // 90) % len(domains)]))
        elif r.random() < 0.012:
            out.append(typo(r))
        else:
            out.append(browse(r))
    out = out[:count]
    with open(plan_path, "w") as p, open(dig_path, "w") as d:
        for name, t, rc in out:
            p.write("%s %s %s %d\n" % (name, t, rc, secure(name, t)))
            d.write("%s %s\n" % (name, t))


TLSA = "3 1 1 " + "5c" * 32
ZONES = {
    # zone: (negative TTL / host TTL, records below the SOA and NS)
    "sig.example": (5, """
@ A 192.0.2.80
@ AAAA 2001:db8::80
@ HTTPS 1 . alpn="h2"
@ MX 10 mail
@ TXT "v=spf1 mx -all"
www A 192.0.2.80
www AAAA 2001:db8::80
www HTTPS 1 . alpn="h2,h3"
mail A 192.0.2.25
mail AAAA 2001:db8::25
_dmarc TXT "v=DMARC1; p=reject"
_mta-sts TXT "v=STSv1; id=20261206"
_25._tcp.mail TLSA %s
web CNAME www.shop.sig.example.
static CNAME cdn
cdn CNAME edge
edge A 192.0.2.81
shop NS ns.shop
ns.shop A {ns}
legacy NS ns.legacy
ns.legacy A {legacy}
%s""" % (TLSA, "".join("h%d 5 A 192.0.2.%d\n%s" % (i, 100 + i, "h%d 5 AAAA 2001:db8::%x\n" % (i, i) if i % 2 == 0 else "")
                           for i in range(1, HOSTS + 1)))),
    "shop.sig.example": (3, """
@ MX 10 mx
@ TXT "v=spf1 mx -all"
mx A 192.0.2.26
_dmarc TXT "v=DMARC1; p=none"
www CNAME front
front A 192.0.2.82
front AAAA 2001:db8::82
%s""" % "".join("p%d 3 A 198.51.100.%d\n" % (i, 100 + i) for i in range(1, HOSTS + 1))),
    "legacy.sig.example": (5, """
@ MX 10 mail
@ TXT "v=spf1 mx -all"
mail A 192.0.2.27
www A 192.0.2.83
"""),
    "plain.example": (2, """
@ MX 10 mail
@ TXT "v=spf1 mx -all"
mail A 192.0.2.28
mail AAAA 2001:db8::28
www A 192.0.2.84
cdn CNAME www
"""),
}


def zones(directory, ns_addr, legacy_addr):
    for zone, (neg, body) in ZONES.items():
        with open("%s/%s.src" % (directory, zone), "w") as f:
            f.write("$TTL 60\n@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 %d\n" % (zone, zone, neg))
            f.write("@ NS ns\nns A %s\n" % (legacy_addr if zone.startswith("legacy.") else ns_addr))
            f.write(body.replace("{ns}", ns_addr).replace("{legacy}", legacy_addr))


def check(plan_path, digout_path):
    plan = {}
    for line in open(plan_path):
        name, t, rc, sec = line.split()
        plan[(name.lower(), t)] = (rc, sec == "1")
    sent = sum(1 for _ in open(plan_path))
    counts = {"lookups": sent, "answered": 0, "nxdomain": 0, "ad": 0, "signed": 0, "bad": 0}
    status = flags = None
    bad = []
    for line in open(digout_path):
        m = re.search(r"status: ([A-Z]+)", line)
        if m:
            status = m.group(1)
            continue
        m = re.match(r";; flags: ([a-z ]*);", line)
        if m:
            flags = m.group(1).split()
            continue
        m = re.match(r";(\S+)\.\s+IN\s+(\S+)", line)  # the question closes a reply
        if not m or status is None:
            continue
        key = (m.group(1).lower(), m.group(2))
        want, sec = plan.get(key, (None, False))
        ad = "ad" in flags
        counts["answered"] += 1
        counts["nxdomain"] += status == "NXDOMAIN"
        counts["ad"] += ad
        counts["signed"] += sec
        if status != want or ad != sec:
            counts["bad"] += 1
            bad.append("%s %s: %s%s, want %s%s" % (key + (status, " AD" if ad else "", want, " AD" if sec else "")))
        status = flags = None
    counts["nx_pct"] = round(100.0 * counts["nxdomain"] / max(sent, 1), 2)
    print(json.dumps(counts, separators=(",", ":")))
    for b in bad[:20]:
        print("  " + b, file=sys.stderr)
    return 0 if counts["bad"] == 0 and counts["answered"] == sent else 1


if __name__ == "__main__":
    if sys.argv[1] == "zones":
        zones(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        sys.exit("usage: resolver_mix.py zones DIR NS_ADDR LEGACY_ADDR | gen SEED COUNT PLAN DIGFILE | check PLAN DIGOUT")
