"""The component as a Pulumi package for every language (served by ``provider/__main__.py``).

Pulumi's ``ComponentProvider`` wraps any exception of a component's ``__init__`` in
``ComponentInitError``, which the provider server reports as the message followed by a Python
traceback (``ProviderServicer.Construct``, pulumi/provider/server.py, pulumi 3.272.0). Invalid
args are the caller's mistake, not a crash: ``OpenElbHaProvider`` turns the component's refusal
into ``InputPropertiesError``, which the server sends as an INVALID_ARGUMENT status holding the
message alone, and the engine prints that message as the resource's problem
(``errorToMessage``, pkg/resource/deploy/source_eval.go:2189-2213, 2797-2804@v3.259.0). It sends
no property paths: the engine would print each path's value beside it with Go's ``%v``, which
shows a secret's plaintext (``PropertyValue.String``, sdk/go/common/resource/properties.go
:644-657@v3.259.0); the message already names every key path, passwords redacted.

An input that depends on another resource arrives as one Output (``_select_value``,
pulumi/provider/server.py), which the SDK's own mapping of inputs would report as "Missing
required input 'topology.kind'". It is reported as what it is: an Output where a plain value is
needed, the message a Python program gets for the same mistake.
"""

import pulumi
from pulumi.errors import InputPropertiesError
from pulumi.output import Inputs
from pulumi.provider.experimental.analyzer import ComponentDefinition
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ComponentInitError

from openelb_component.component.args import output_problems
from openelb_component.config.errors import ConfigError


class OpenElbHaProvider(ComponentProvider):
    """``ComponentProvider`` whose refusals of bad inputs reach every language as Pulumi's
    invalid-input error, without a Python traceback."""

    def map_inputs(self, inputs: Inputs, component_def: ComponentDefinition) -> Inputs:
        # The passwords may be Outputs (secrets from config arrive as one); nothing else may.
        # The inputs carry the schema's names, which are the stack keys.
        problems = output_problems(inputs)
        if problems:
            raise InputPropertiesError(ConfigError(problems).render())
        return super().map_inputs(inputs, component_def)

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        try:
            return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as error:
            if isinstance(error.inner, pulumi.RunError):  # the component's refusal of its args
                raise InputPropertiesError(str(error.inner)) from None
            raise
