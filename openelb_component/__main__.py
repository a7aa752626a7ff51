"""``python -m openelb_component``: the offline tools (plan, validate, schema)."""

from openelb_component.cli import main

raise SystemExit(main())
