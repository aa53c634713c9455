#!/usr/bin/python3
"""Reads a Prometheus text exposition on stdin, parses it with the reference parser
(python3-prometheus-client's text_string_to_metric_families), checks dnswash's rules, and
prints the samples as one JSON object {"name{label=value,...}": value} for the test to query.
Exit 1 with a message when the text does not parse or breaks a rule."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

ALLOWED_LABELS = {"reason", "cap", "mode", "version", "why"}  # never per CPU, zone or source
# why: the fixed set of reasons the control socket and the metrics endpoint close a connection
REQUIRED = {"dnswash_packets", "dnswash_bans", "dnswash_zones", "dnswash_sync_errors",
            "dnswash_dry_run", "dnswash_samples_lost"}


def main():
    text = sys.stdin.read()
    out = {}
    families = set()
    try:
        for fam in text_string_to_metric_families(text):
            families.add(fam.name)
            if not fam.name.startswith("dnswash_"):
                sys.exit(f"metric {fam.name} is not in the dnswash_ namespace")
            if fam.type not in ("counter", "gauge"):
                sys.exit(f"metric {fam.name} has type {fam.type}")
            for s in fam.samples:
                extra = set(s.labels) - ALLOWED_LABELS
                if extra:
                    sys.exit(f"{s.name} has labels {sorted(extra)}")
                key = s.name + "".join(
                    "{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}"
                    for _ in [0] if s.labels)
                if key in out:
                    sys.exit(f"duplicate sample {key}")
                out[key] = s.value
    except ValueError as e:
        sys.exit(f"not a valid exposition: {e}")
    missing = REQUIRED - families
    if missing:
        sys.exit(f"missing metrics: {sorted(missing)}")
    print(json.dumps(out, sort_keys=True))


main()
