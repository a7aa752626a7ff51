"""Entry point of the `openelb-ha` Pulumi program; everything lives in openelb_component."""

from openelb_component.program import main

main()
