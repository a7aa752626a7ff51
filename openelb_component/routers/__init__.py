"""Leaf routers and OpenELB's speakers: the model of what OpenELB does with the applied objects
(``openelb``) and the router configurations that match it (``configs``). Pure: no Pulumi."""
