"""Stack keys -> validated config: names, models, cross-key rules, loading, errors, JSON Schema.

Pure: imports neither the Pulumi SDK nor any layer above it.
"""
