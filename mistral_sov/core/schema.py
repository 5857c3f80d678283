"""The JSON Schema of the policy file, for editors (yaml-language-server) and docs."""

from __future__ import annotations

from typing import Any

from mistral_sov.core.catalog import CATEGORIES
from mistral_sov.core.policy import Policy

SCHEMA_ID = "https://mistral-sov.eu/schemas/sovereignty-v1.json"


def policy_json_schema() -> dict[str, Any]:
    schema: dict[str, Any] = Policy.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "mistral-sov policy (sovereignty.yaml)"
    blocking = schema.get("$defs", {}).get("Blocking", {}).get("properties", {}).get("catalog")
    if blocking is not None:
        blocking["description"] = "'all', 'none', or a list of categories: " + ", ".join(CATEGORIES)
    return schema
