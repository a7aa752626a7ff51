"""The openelb-ha Pulumi package: serves the ``OpenElbHa`` component to programs in any language.

The language host runs ``python provider <engine address>``; Pulumi's component provider infers
the package schema from ``OpenElbHa`` and its ``OpenElbHaArgs`` annotations
(``tests/golden/openelb-ha.schema.json`` is that schema, kept current by a test). It is served as
``component_provider_host`` serves it (pulumi/provider/experimental/host.py, pulumi 3.272.0), with
``OpenElbHaProvider``, whose refusal of bad inputs reaches the caller without a Python traceback.
"""

import sys
from importlib.metadata import version

from pulumi.provider import main

from openelb_component.component.openelb_ha import OpenElbHa
from openelb_component.component.provider import OpenElbHaProvider
from openelb_component.config.names import PROJECT

if __name__ == "__main__":
    # The package name is the first part of the component's type token, openelb-ha:index:OpenElbHa.
    # The language host passes the engine address (and flags) after the plugin folder.
    main(OpenElbHaProvider([OpenElbHa], PROJECT, None, version("openelb-ha")), sys.argv[1:])
