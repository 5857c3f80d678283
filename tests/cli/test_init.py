"""`mistral-sov init`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from clihelp import run_cli


def test_init_refuses_overwrite_and_writes_schema(policy: Path) -> None:
    again = run_cli("init", str(policy))
    assert again.code == 2 and "already exists" in again.err and "--force" in again.err
    schema = json.loads((policy.parent / "sovereignty.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    text = policy.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=sovereignty.schema.json")
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(text))
