"""``router-config``: print the leaf routers' BGP configuration for a stack file, offline.

Node addresses come from ``--nodes`` (``kubectl get nodes -o json``), placeholders otherwise. A
password written as ``{secure: ...}`` is never decrypted here: it prints as a placeholder, unless
the user consents with ``--show-secrets`` and supplies the value in the same environment
variable the kubectl runbook reads (``OPENELB_HA_BGPPASSWORDS_<LEAF>``). Everything the user must
act on goes to stderr, so stdout stays the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from openelb_component.desired import desired_state
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.nodesfile import load_nodes
from openelb_component.plan.runbook import secret_variables
from openelb_component.plan.stackfile import StackFile
from openelb_component.routers import configs, openelb


@dataclass(frozen=True)
class RouterConfigOutput:
    text: str
    notes: tuple[str, ...]


def read_nodes(path: Path) -> dict[str, str]:
    """Node -> InternalIP from a ``kubectl get nodes -o json`` file; ``ValueError`` if unusable."""
    document = load_nodes(path)
    try:
        return openelb.internal_ips(document)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def router_config(
    stack: StackFile,
    dialect: str,
    leaf: str | None = None,
    addresses: Mapping[str, str] | None = None,
    show_secrets: bool = False,
    environ: Mapping[str, str] | None = None,
) -> RouterConfigOutput:
    """The configuration text and the notes for stderr; ``ConfigError`` for an invalid stack,
    ``ValueError`` for an unknown leaf."""
    config = load_stack_config(stack)
    state = desired_state(config)
    routers = configs.leaf_routers(config, state, addresses or {})
    if leaf is not None:
        known = [router.leaf for router in routers]
        routers = [router for router in routers if router.leaf == leaf]
        if not routers:
            raise ValueError(
                f"no leaf {leaf!r} with a peer in stack {stack.name!r}; leaves with a peer: "
                f"{', '.join(known) or 'none'}"
            )
    if not routers:
        return RouterConfigOutput(
            "",
            (
                f"stack {stack.name!r} has no leaf with a peer, so it manages no BGP session and "
                "there is no router to configure",
            ),
        )
    notes = configs.notes(config, routers, state)
    if addresses is not None:
        missing = sorted({n.node for r in routers for n in r.neighbors if n.address is None})
        if missing:
            notes.insert(0, f"no InternalIP in the --nodes file for: {', '.join(missing)}")
    secrets = sorted({r.password_secret for r in routers if r.password_secret is not None})
    variables = secret_variables(secrets)
    env = environ or {}
    passwords: dict[str, str] = {}
    for secret in secrets:
        value = env.get(variables[secret]) if show_secrets else None
        if value:
            passwords[secret] = value
            continue
        passwords[secret] = configs.placeholder_password(secret)
        how = (
            f"export {variables[secret]} (e.g. from `pulumi config get --path '{secret}'`) "
            "and rerun with --show-secrets"
        )
        notes.append(
            f"the password {secret} is printed as the placeholder "
            f"{configs.placeholder_password(secret)} (a secure: value is never decrypted here): "
            f"substitute it, or {how}"
        )
    rendered = configs.render(routers, dialect, passwords)
    return RouterConfigOutput("\n".join(leaf.text for leaf in rendered), tuple(notes))
