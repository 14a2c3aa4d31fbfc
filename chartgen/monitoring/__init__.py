"""Monitoring built from the spec: PromQL, rule files, dashboards, their docs and helm tests."""
