"""Checks: on the spec (across objects), on the rendered output (limits), on values files."""
