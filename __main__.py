"""Entry point of the `openelb-ha` Pulumi program; everything lives in openelb_component."""

from openelb_component.component.program import main

main()
