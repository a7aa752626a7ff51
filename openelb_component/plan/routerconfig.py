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

from openelb_component.config.secrets import password_problem
from openelb_component.desired import desired_state
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.nodesfile import load_nodes
from openelb_component.plan.runbook import secret_variables
from openelb_component.plan.stackfile import StackFile
from openelb_component.routers import configs, openelb


@dataclass(frozen=True)
class RouterConfigOutput:
    rendered: tuple[configs.RenderedLeaf, ...]
    notes: tuple[str, ...]
    dialect: str = "frr"

    @property
    def text(self) -> str:
        """Every router's configuration, one after the other (FRR), or the one router's; BIRD
        reads one file per router, so several BIRD routers are refused here (``ValueError``):
        ``--leaf`` or ``--output-dir`` gives one file per router."""
        if self.dialect == "bird" and len(self.rendered) > 1:
            leaves = ", ".join(leaf.leaf for leaf in self.rendered)
            raise ValueError(
                f"BIRD reads one configuration file per router and this stack has "
                f"{len(self.rendered)} leaf routers ({leaves}): give --leaf NAME for one of "
                "them, or --output-dir DIR for one file per router"
            )
        return "\n".join(leaf.text for leaf in self.rendered)

    def file_name(self, leaf: str) -> str:
        """``--output-dir``'s file for a leaf (a label value: no ``/``, never ``..``)."""
        return f"{leaf}.{self.dialect}.conf"


def read_nodes(path: Path) -> dict[str, str]:
    """Node -> InternalIP from a ``kubectl get nodes -o json`` file; ``ValueError`` if unusable."""
    document = load_nodes(path)
    try:
        return openelb.internal_ips(document)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _password_from(variable: str, environ: Mapping[str, str]) -> str | None:
    """A password given in the environment, checked like one in the stack; ``ValueError``
    naming the variable, never the value."""
    value = environ.get(variable)
    if not value:
        return None
    problem = password_problem(value)
    if problem is not None:
        raise ValueError(f"{variable}: the value {problem}")
    return value


def router_config(
    stack: StackFile,
    dialect: str,
    leaf: str | None = None,
    addresses: Mapping[str, str] | None = None,
    show_secrets: bool = False,
    environ: Mapping[str, str] | None = None,
    whole: bool = False,
) -> RouterConfigOutput:
    """The configurations and the notes for stderr; ``ConfigError`` for an invalid stack,
    ``ValueError`` for an unknown leaf or a password variable that cannot be a password."""
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
            (),
            (
                f"stack {stack.name!r} has no leaf with a peer, so it manages no BGP session and "
                "there is no router to configure",
            ),
            dialect,
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
        value = _password_from(variables[secret], env) if show_secrets else None
        if value is not None:
            passwords[secret] = value
            continue
        how = (
            f"export {variables[secret]} (e.g. from `pulumi config get --path '{secret}'`) "
            "and rerun with --show-secrets"
        )
        notes.append(
            f"the password {secret} is printed as a placeholder (<BGP password of leaf ...>, "
            f"which no router parser accepts; a secure: value is never decrypted here): "
            f"substitute it, or {how}"
        )
    if not whole:
        notes.append(
            "made to be merged into the router's own configuration: no router ID"
            + (", no device or kernel protocol" if dialect == "bird" else "")
            + "; --whole prints a standalone file"
        )
    rendered = configs.render(routers, dialect, passwords, whole)
    return RouterConfigOutput(tuple(rendered), tuple(notes), dialect)
