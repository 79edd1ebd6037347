"""The Genesys Cloud data actions that call us back, as they are defined in the org, and how they
render their requests.

A web services data action (Integrations > Actions) has a ``config.request`` (URL, method,
headers, a Velocity ``requestTemplate``) and a ``contract`` (JSON Schema draft-04 of its inputs
and outputs). Ours POST JSON to this service with a shared secret in a header, taken from the
integration's User Defined credential (``${credentials.callbackSecret}``; Genesys cannot sign a
body with an HMAC in a template). Strings go through ``$esc.jsonString`` so a text with quotes
stays valid JSON. The answer we give must match the action's success schema.

- ``KEYPRESS``: run by the outbound call flow after Collect Input (the digit, or empty when the
  input timed out), with the contact's columns ``alertId``, ``deliveryId``, ``callToken`` and the
  call's ``conversationId``.
- ``SMS_REPLY``: run by the inbound message flow with the text and the numbers
  (``Message.Message.body``, ``Message.Message.senderAddressInfo.addressNormalized``).

``render`` fills a template the way Genesys does for these simple forms; the simulator uses it,
so a test exercises the exact request the documented action sends. See docs/alerts.md.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

SECRET_HEADER = "x-callback-secret"
KEYPRESS_PATH = "/api/voice/keypress"
SMS_REPLY_PATH = "/api/sms/replies"


def _action(name: str, path: str, fields: tuple[str, ...]) -> dict[str, Any]:
    template = "{" + ", ".join(
        f'"{f}": "$esc.jsonString(${{input.{f}}})"' for f in fields) + "}"
    return {
        "name": name,
        "config": {
            "request": {
                "requestUrlTemplate": "https://<dispatch-host>" + path,
                "requestType": "POST",
                "headers": {"Content-Type": "application/json",
                            "X-Callback-Secret": "${credentials.callbackSecret}"},
                "requestTemplate": template,
            },
            "response": {"translationMap": {"accepted": "$.accepted", "say": "$.say"},
                         "translationMapDefaults": {"say": '""'},
                         "successTemplate": '{"accepted": ${accepted}, "say": ${say}}'},
            "timeoutSeconds": 10,
        },
        "contract": {
            "input": {"inputSchema": {
                "$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                "required": list(fields),
                "properties": {f: {"type": "string"} for f in fields}}},
            "output": {"successSchema": {
                "$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                "properties": {"accepted": {"type": "boolean"}, "say": {"type": "string"}}}},
        },
    }


KEYPRESS = _action("Dispatch board: alert call keypress", KEYPRESS_PATH,
                   ("alertId", "deliveryId", "callToken", "conversationId", "digit"))
SMS_REPLY = _action("Dispatch board: SMS reply", SMS_REPLY_PATH,
                    ("conversationId", "messageId", "from", "to", "text"))

_ESCAPED_INPUT = re.compile(r"\$esc\.jsonString\(\$\{input\.(\w+)\}\)")
_CREDENTIAL = re.compile(r"\$\{credentials\.(\w+)\}")


def render(action: dict[str, Any], inputs: dict[str, str],
           credentials: dict[str, str]) -> tuple[str, dict[str, str], bytes]:
    """The URL path, headers and body the action sends for these inputs."""
    request = action["config"]["request"]
    body = _ESCAPED_INPUT.sub(lambda m: json.dumps(str(inputs.get(m.group(1), "")))[1:-1],
                              request["requestTemplate"])
    headers = {k: _CREDENTIAL.sub(lambda m: credentials.get(m.group(1), ""), v)
               for k, v in request["headers"].items()}
    path = "/" + request["requestUrlTemplate"].split("://", 1)[-1].split("/", 1)[1]
    return path, headers, body.encode()


def secret_matches(expected: str, header: str | None) -> bool:
    """Constant-time; no secret configured, no match."""
    return bool(expected) and header is not None and hmac.compare_digest(
        expected.encode(), header.strip().encode())
