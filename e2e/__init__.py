"""``make e2e``: the project through the real Pulumi engine against a real Kubernetes control
plane, both built from Go modules (``e2e/tools/``). See docs/verification.md."""
