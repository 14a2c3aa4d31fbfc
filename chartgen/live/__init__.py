"""The live side: reading a running Prometheus, and checking a release against the spec."""
