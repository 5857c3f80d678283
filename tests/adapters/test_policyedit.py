"""adapters/policyedit.py: every valid layout can be edited, the edit is proven by re-parsing,
the file's own line breaks are kept, and an impossible edit never blames the user's file."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mistral_sov.adapters.policyedit import EditError, edit_list, line_style, normalize_breaks
from mistral_sov.yamlsrc import load_yaml

BASE = "version: 1\norganization: T\n"
EP = "  - name: a\n    url: https://a.example.eu\n"
LAYOUTS = {
    "block": BASE + "endpoints:\n" + EP + "blocking:\n  catalog: none\n",
    "block_scalar_last_item": BASE
    + "endpoints:\n"
    + EP
    + "    description: |\n      multi\n      line\nblocking:\n  catalog: none\n",
    "block_scalar_at_eof": BASE
    + "blocking:\n  catalog: none\nendpoints:\n"
    + EP
    + "    description: >-\n      folded\n      text\n",
    "flow_trailing_comment": BASE
    + "endpoints: [{name: a, url: 'https://a.example.eu'}]  # approved\nblocking: {catalog: none}\n",
    "flow_multiline_comment": BASE
    + "endpoints: [\n  {name: a, url: 'https://a.example.eu'},  # first\n]\nblocking: {catalog: none}\n",
    "flow_empty": BASE + "endpoints: []  # none yet\n",
    "no_trailing_newline": BASE + "blocking:\n  catalog: none\nendpoints:\n" + EP.rstrip("\n"),
    "comment_after_list": BASE + "endpoints:\n" + EP + "  # - name: old\nblocking:\n  catalog: none\n",
    "indentless": BASE + "endpoints:\n- name: a\n  url: https://a.example.eu\nblocking:\n  catalog: none\n",
    "anchor_item": BASE + "endpoints:\n  - &ep {name: a, url: 'https://a.example.eu'}\nblocking:\n  catalog: none\n",
    "document_end": BASE + "endpoints:\n" + EP + "...\n",
    "no_endpoints_key": BASE + "blocking:\n  catalog: none\n",
}
BREAKS = {"lf": "\n", "crlf": "\r\n", "cr": "\r", "u2028": "\u2028", "u2029": "\u2029", "nel": "\x85"}
NEW = {"name": "b", "url": "https://b.example.eu", "region": None}


def _data(text: str) -> dict:
    return load_yaml(normalize_breaks(text), "t.yaml").data


@pytest.mark.parametrize("brk", sorted(BREAKS))
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_add_then_remove_on_every_layout(layout: str, brk: str) -> None:
    text = LAYOUTS[layout].replace("\n", BREAKS[brk])
    before = _data(text)
    added, _ = edit_list(text, "t.yaml", "endpoints", add=NEW)
    after = _data(added)
    assert after["endpoints"] == [*(before.get("endpoints") or []), {"name": "b", "url": "https://b.example.eu"}]
    assert {k: v for k, v in after.items() if k != "endpoints"} == {k: v for k, v in before.items() if k != "endpoints"}
    assert line_style(added) == BREAKS[brk]  # written back in the file's own line breaks
    if brk != "lf":
        assert "\n" not in added.replace("\r\n", "") if brk == "crlf" else "\n" not in added
    removed, _ = edit_list(added, "t.yaml", "endpoints", remove=len(after["endpoints"]) - 1)
    assert _data(removed)["endpoints"] == (before.get("endpoints") or [])


def test_splice_keeps_comments_and_layout() -> None:
    text = BASE + "# header\nendpoints:\n" + EP + "  # after a\nblocking:\n  catalog: none  # keep\n"
    added, note = edit_list(text, "t.yaml", "endpoints", add=NEW)
    assert note == "" and "# header" in added and "# after a" in added and "catalog: none  # keep" in added
    assert added.startswith(text.split("  # after a")[0])


def test_unprovable_edit_does_not_blame_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import mistral_sov.adapters.policyedit as pe

    monkeypatch.setattr(pe, "add_list_item", lambda *a: "endpoints: [broken")
    monkeypatch.setattr(pe, "_rewrite_list", lambda *a: "endpoints: {}")
    with pytest.raises(EditError) as info:
        edit_list(LAYOUTS["block"], "t.yaml", "endpoints", add=NEW)
    assert "not a problem in your file" in info.value.message and info.value.exit_status == 2
    assert "name: b" in info.value.hint


names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(name=names, description=st.one_of(st.none(), st.text(max_size=40)), layout=st.sampled_from(sorted(LAYOUTS)))
def test_any_value_round_trips(name: str, description: str | None, layout: str) -> None:
    entry = {"name": name, "url": "https://x.example.eu", "description": description}
    try:
        added, _ = edit_list(LAYOUTS[layout], "t.yaml", "endpoints", add=entry)
    except EditError:
        pytest.fail(f"could not add {entry!r} to {layout}")
    want = {k: v for k, v in entry.items() if v is not None}
    assert _data(added)["endpoints"][-1] == want


@pytest.mark.parametrize(
    "value", ["0E0", "1e3", "0o17", "0x1F", "NO", "yes", "~", "null", "True", "1:30", "2026-01-01", ".inf", "a: b"]
)
def test_scalars_read_back_as_text_under_yaml_1_2_and_1_1(value: str) -> None:
    import yaml

    from mistral_sov.adapters.policyedit import yaml_scalar

    spelled = yaml_scalar(value)
    assert _data(f"v: {spelled}\n") == {"v": value}  # our YAML 1.2 loader
    assert yaml.safe_load(f"v: {spelled}\n") == {"v": value}  # YAML 1.1 tools
