"""The JSON Schema of a stack file, generated from the config models, for editors.

yaml-language-server (VS Code's YAML extension, Neovim, Helix...) then completes and checks
``stacks/Pulumi.<stack>.yaml`` as it is typed. The committed copy is kept current by a test;
``make schema`` regenerates it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openelb_component.config.models import StackConfig
from openelb_component.config.names import PROJECT
from openelb_component.config.secrets import PASSWORDS_KEY

SCHEMA_PATH = Path("schema/stack-config.schema.json")

# In a stack file a password is only ever Pulumi ciphertext (``pulumi config set --secret``
# writes ``{secure: v1:...}``; plaintext is refused by validate and the program), never a string.
SECURE_VALUE: dict[str, Any] = {
    "type": "object",
    "description": "Pulumi ciphertext, written by pulumi config set --secret --path "
    "'bgpPasswords.<leaf>' <password>; never edited by hand",
    "properties": {"secure": {"type": "string", "minLength": 1}},
    "required": ["secure"],
    "additionalProperties": False,
}


def stack_file_schema() -> dict[str, Any]:
    models = StackConfig.model_json_schema(by_alias=True)
    models["properties"][PASSWORDS_KEY]["additionalProperties"] = {"$ref": "#/$defs/SecureValue"}
    models.setdefault("$defs", {})["SecureValue"] = SECURE_VALUE
    keys = list(models["properties"])
    known = "|".join(re.escape(key) for key in keys)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "openelb-ha stack file (stacks/Pulumi.<stack>.yaml)",
        "description": "Generated from openelb_component.config by `make schema`; do not edit. "
        "Only the openelb-ha: keys are described; other providers' keys are left alone.",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": {
                    f"{PROJECT}:{key}": value for key, value in models["properties"].items()
                },
                "required": [f"{PROJECT}:{key}" for key in models.get("required", [])],
                # The program never reads a misspelt openelb-ha: key; the editor flags it.
                "patternProperties": {f"^{PROJECT}:(?!({known})$)": False},
            }
        },
        "$defs": models.get("$defs", {}),
    }


def schema_text() -> str:
    return json.dumps(stack_file_schema(), indent=2) + "\n"
