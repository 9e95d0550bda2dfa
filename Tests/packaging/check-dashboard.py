#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
"""Checks a Grafana dashboard against what a running t2u-server exports, so the dashboard cannot
rot: every t2u_* metric a query names must be a sample on the server's GET /metrics, every label
a query groups by, filters on or prints ({{label}}) must be a label of one of the metrics that
query names (or one Prometheus adds when it scrapes: instance, job), and the panels the operator
needs (REQUIRED) must be there. Metrics the server has and the dashboard does not show are listed.

Usage: check-dashboard.py DASHBOARD.json METRICS   (METRICS: a file, or http://HOST:PORT/metrics)
Exit 0 when the dashboard holds, 1 with one line per problem when it does not."""
import json
import re
import sys
import urllib.request

# What issue 14 asks the dashboard to show.
REQUIRED = {
    "t2u_server_devices_online": "devices online",
    "t2u_server_clients_online": "clients online",
    "t2u_server_registrations_total": "registrations",
    "t2u_server_rejected_packets_total": "rejections by reason",
    "t2u_server_relay_sessions": "relay sessions",
    "t2u_server_relay_bytes_total": "relay bytes",
    "t2u_server_punch_outcomes_total": "punch outcomes by NAT pair",
}
SCRAPE_LABELS = {"instance", "job"}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=~?\s*"')
METRIC = re.compile(r"\bt2u_[a-zA-Z0-9_:]*")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"\{([^{}]*)\}")
LEGEND = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def exported(text):
    """metric name -> label names, from the sample lines of a Prometheus text exposition."""
    metrics = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = metrics.setdefault(match.group(1), set())
            labels.update(LABEL.findall(match.group(2) or ""))
    return metrics


def queries(dashboard):
    """(where, expression, legend) for every target and every query variable."""
    def walk(panels):
        for panel in panels:
            yield from walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield panel.get("title", "?"), target["expr"], target.get("legendFormat", "")
    yield from walk(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and query:
            yield "variable $" + variable["name"], query, ""


def check(dashboard, metrics):
    problems, used = [], set()
    for where, expr, legend in queries(dashboard):
        names = set(METRIC.findall(expr))
        if not names:
            problems.append("%s: %r names no t2u_ metric" % (where, expr))
        used |= names
        for name in sorted(names - metrics.keys()):
            problems.append("%s: %s is not on the server's /metrics" % (where, name))
        labels = set(SCRAPE_LABELS)
        for name in names & metrics.keys():
            labels |= metrics[name]
        # label_values(metric, label) names its label as the second argument.
        asked = set(re.findall(r"label_values\([^,]*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)", expr))
        for group in GROUPING.findall(expr):
            asked |= {label.strip() for label in group.split(",") if label.strip()}
        for selector in SELECTOR.findall(expr):
            asked |= set(LABEL.findall(selector))
        asked |= set(LEGEND.findall(legend))
        for label in sorted(asked - labels):
            problems.append("%s: label %r is on none of %s" % (where, label, ", ".join(sorted(names)) or "its metrics"))
    for name, what in REQUIRED.items():
        if name not in used:
            problems.append("the dashboard does not show %s (%s)" % (what, name))
    return problems, used


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1]) as file:
        dashboard = json.load(file)
    if argv[2].startswith("http://"):
        text = urllib.request.urlopen(argv[2], timeout=10).read().decode()
    else:
        with open(argv[2]) as file:
            text = file.read()
    metrics = exported(text)
    if not metrics:
        print("%s: no samples (is it a Prometheus /metrics page?)" % argv[2], file=sys.stderr)
        return 1
    problems, used = check(dashboard, metrics)
    for problem in problems:
        print("dashboard: " + problem, file=sys.stderr)
    unused = sorted(name for name in metrics if name.startswith("t2u_") and name not in used)
    if problems:
        return 1
    print("%d metrics queried, all on /metrics with their labels%s" % (
        len(used), "; not on the dashboard: " + ", ".join(unused) if unused else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
