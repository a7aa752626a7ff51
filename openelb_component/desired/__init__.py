"""Desired state: pure functions from a validated config to the objects to apply (no Pulumi).

``desired_state(config)`` (in ``state.py``) is the one entry point; the component and the
offline plan both render what it returns, so they cannot disagree.
"""

from openelb_component.desired.model import DesiredObject, DesiredState, Manifest
from openelb_component.desired.state import desired_state

__all__ = ["DesiredObject", "DesiredState", "Manifest", "desired_state"]
