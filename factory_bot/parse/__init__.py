"""Requests (issue forms, YAML blocks, free text via Claude) → spec."""
