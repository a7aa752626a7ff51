"""The openelb-ha Pulumi package: serves the ``OpenElbHa`` component to programs in any language.

The language host runs ``python provider <engine address>``; Pulumi's component provider host
infers the package schema from ``OpenElbHa`` and its ``OpenElbHaArgs`` annotations
(``tests/golden/openelb-ha.schema.json`` is that schema, kept current by a test).
"""

from importlib.metadata import version

from pulumi.provider.experimental import component_provider_host

from openelb_component.component.openelb_ha import OpenElbHa
from openelb_component.config.names import PROJECT

if __name__ == "__main__":
    # The package name is the first part of the component's type token, openelb-ha:index:OpenElbHa.
    component_provider_host([OpenElbHa], name=PROJECT, version=version("openelb-ha"))
