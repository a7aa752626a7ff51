"""The API server's REST interface, for what kubectl cannot send: a Server-Side Apply ``PATCH``
with ``force`` and ``dryRun`` chosen per request, answered with the server's own ``Status``
(a conflict's ``details.causes``: each field and its manager)."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Any

TIMEOUT = 30.0
APPLY = "application/apply-patch+yaml"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True)
class Api:
    port: int
    tls: ssl.SSLContext

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> Answer:
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=TIMEOUT, context=self.tls
        )
        try:
            payload = None if body is None else json.dumps(body)
            headers = {"Content-Type": content_type, "Accept": "application/json"}
            connection.request(method, target, payload, headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        return Answer(response.status, json.loads(text) if text else None)

    def apply(self, path: str, manifest: Any, manager: str, force: bool, dry_run: bool) -> Answer:
        """Server-Side Apply of ``manifest`` at ``path`` (the object's URL) as ``manager``."""
        query = {"fieldManager": manager, "force": str(force).lower()}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PATCH", path, manifest, APPLY, query)


def object_path(api_version: str, kind: str, name: str, namespace: str | None) -> str:
    """The URL of an object of the kinds this project writes (plural: lower-case kind + s)."""
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"{prefix}{scope}/{kind.lower()}s/{name}"
