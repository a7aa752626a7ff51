"""CrossGuard rules for openelb-ha stacks.

``rules`` holds the checks as plain functions over plain data, so they are unit-tested without
the Pulumi CLI; ``pack`` wraps them as CrossGuard policies. Only the pack's ``__main__.py``
constructs the ``PolicyPack``, because constructing one starts a gRPC server and blocks.
"""
