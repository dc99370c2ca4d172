"""Spec -> rendered server -> validation report -> package; every run of generated code is sandboxed here."""
