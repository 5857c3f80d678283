"""`catalog list/show`."""

from __future__ import annotations

import json

import yaml
from clihelp import run_cli


def test_catalog_list_and_show() -> None:
    res = run_cli("catalog", "list", "--category", "translation", "-o", "json")
    services = json.loads(res.out)
    assert services and all("translation" in s["categories"] for s in services)
    assert any(s["id"] == "deepl" for s in services)
    yml = yaml.safe_load(run_cli("catalog", "show", "openai-chatgpt", "-o", "yaml").out)
    assert "chatgpt.com" in yml["domains"]
    table = run_cli("catalog", "list")
    assert table.code == 0 and "ChatGPT" in table.out
    unknown = run_cli("catalog", "show", "chatgtp")
    assert unknown.code == 2 and "did you mean" in unknown.err
    assert run_cli("catalog", "list", "--category", "imagez").code == 2
