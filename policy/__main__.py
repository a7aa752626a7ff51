"""Entry point of the openelb-ha policy pack: the only place that constructs the PolicyPack,
because constructing one starts CrossGuard's gRPC server and blocks (docs/design.md §4)."""

from pulumi_policy import PolicyPack

from openelb_policy.pack import PACK_NAME, keep_secrets_visible, policies

keep_secrets_visible()
PolicyPack(name=PACK_NAME, policies=policies())
