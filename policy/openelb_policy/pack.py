"""The rules as CrossGuard stack validation policies.

Stack validation, not per-resource validation, because most rules compare resources: a
workload's replicas against the nodes labelled for it, BgpPeers against the node racks.
Constructing these ``Policy`` objects is side-effect free; only ``PolicyPack`` starts a server,
so the pack's ``__main__.py`` is the one place that builds it.
"""

from __future__ import annotations

from typing import Any

import pulumi_policy.policy as sdk_policy
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    StackValidation,
    StackValidationArgs,
    StackValidationPolicy,
)

from openelb_policy.model import Resource
from openelb_policy.registry import RULES, Rule

PACK_NAME = "openelb-ha"

_LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


def keep_secret_markers(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    """Stand-in for the SDK's ``deserialize_properties`` that keeps the engine's secret markers.

    pulumi-policy 1.21 unwraps every secret before a stack validation sees it (``AnalyzeStack``
    calls ``deserialize_properties`` without ``proxy_secrets``), so no rule could tell a secret
    password from plain text. The wire form is plain JSON already; Kubernetes resources carry no
    assets or archives, the only other thing the SDK would convert.
    """
    return props


def keep_secrets_visible() -> None:
    """Make the SDK hand rules the properties with their secret markers (see above)."""
    sdk_policy.deserialize_properties = keep_secret_markers  # type: ignore[attr-defined]


def _validate(rule: Rule) -> StackValidation:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [Resource(r.resource_type, r.name, r.props, r.urn) for r in args.resources]
        for violation in rule.check(resources, args.get_config()):
            report_violation(violation.message, violation.urn)

    return validate


def policies() -> list[Policy]:
    return [
        StackValidationPolicy(
            name=rule.name,
            description=rule.description,
            enforcement_level=_LEVELS[rule.enforcement],
            validate=_validate(rule),
            config_schema=(
                PolicyConfigSchema({key: dict(schema) for key, schema in rule.config.items()})
                if rule.config
                else None
            ),
        )
        for rule in RULES
    ]
