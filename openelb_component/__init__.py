"""OpenELB high availability as a Pulumi component.

Other Pulumi programs can use the component directly::

    from openelb_component import OpenElbHa, load_config

    OpenElbHa("openelb-ha", load_config({"topology": {"kind": "single-router",
                                                       "nodes": ["master1", "worker-p002"]}}))
"""

from openelb_component.component import OpenElbHa
from openelb_component.config import StackConfig
from openelb_component.errors import ConfigError, Problem
from openelb_component.loading import load_config

__all__ = ["ConfigError", "OpenElbHa", "Problem", "StackConfig", "load_config"]
