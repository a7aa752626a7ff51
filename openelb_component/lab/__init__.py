"""The BGP lab: the stack's fabric built from real GoBGP speakers and FRR routers in network
namespaces on this machine, and scenarios measured as a router sees them.

``layout`` is pure (addresses, namespaces, configurations); ``fabric`` creates and removes the
namespaces and processes; ``scenarios`` runs and measures; ``report`` prints the result.
"""
