"""Network exporter: golden files, real validators (named-checkzone, unbound-checkconf,
dnsmasq --test), the PAC evaluated by pacparser, and hostile text kept inert."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pacparser
import pytest
from golden_files import assert_golden
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mistral_sov.adapters.catalogfile import load_catalog
from mistral_sov.adapters.exporters.network import DEAD_PROXY, DOH_CANARY, EXPORTER, RPZ_ORIGIN
from mistral_sov.adapters.policyfile import load_policy
from mistral_sov.core.catalog import Catalog, Service
from mistral_sov.errors import InputError
from mistral_sov.ports import ExportOptions

TESTS = Path(__file__).resolve().parents[2]
DATA = TESTS / "data" / "policy-export.yaml"
FILES = ["dnsmasq.conf", "hosts", "proxy.pac", "rpz.zone", "unbound.conf"]


def _policy():
    return load_policy(DATA, load_catalog()).policy


def _render(policy=None, catalog=None) -> dict[str, bytes]:
    arts = EXPORTER.render(policy or _policy(), catalog or load_catalog(), ExportOptions())
    return {a.path.removeprefix("network/"): a.data for a in arts}


def _write(tmp_path: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def _named_checkzone(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["named-checkzone", "-k", "fail", "-i", "full", RPZ_ORIGIN, str(path)], capture_output=True, text=True
    )


def _pac(script: bytes, host: str) -> str:
    pacparser.init()
    try:
        pacparser.parse_pac_string(script.decode("utf-8"))
        return pacparser.find_proxy(f"https://{host}/", host)
    finally:
        pacparser.cleanup()


def _pac_many(script: bytes, hosts: list[str]) -> dict[str, str]:
    pacparser.init()
    try:
        pacparser.parse_pac_string(script.decode("utf-8"))
        return {h: pacparser.find_proxy(f"https://{h}/some/path?q=1", h) for h in hosts}
    finally:
        pacparser.cleanup()


@pytest.mark.parametrize("name", FILES)
def test_export_network_golden(name: str) -> None:
    data = _render()[name]
    assert_golden(f"network/{name}", data)


def test_export_network_encoding_and_determinism() -> None:
    first, second = _render(), _render()
    assert first == second
    for name, data in first.items():
        assert not data.startswith(b"\xef\xbb\xbf"), name
        assert b"\r" not in data, name
        assert data.endswith(b"\n"), name
        data.decode("ascii")  # punycode domains + ASCII-escaped comments


@pytest.mark.skipif(shutil.which("named-checkzone") is None, reason="needs bind9-utils")
def test_export_rpz_named_checkzone(tmp_path: Path) -> None:
    files = _render()
    zone = _write(tmp_path, files) / "rpz.zone"
    result = _named_checkzone(zone)
    assert result.returncode == 0, result.stdout + result.stderr
    text = files["rpz.zone"].decode()
    assert "chatgpt.com CNAME .\n*.chatgpt.com CNAME .\n" in text
    assert "api.mistral.ai CNAME rpz-passthru.\n*.api.mistral.ai CNAME rpz-passthru.\n" in text
    assert f"{DOH_CANARY} CNAME .\n" in text
    # approved hosts are never blocked
    assert not re.search(r"^(\*\.)?api\.mistral\.ai CNAME \.$", text, re.M)


@pytest.mark.skipif(shutil.which("unbound-checkconf") is None, reason="needs unbound")
def test_export_unbound_checkconf(tmp_path: Path) -> None:
    conf = _write(tmp_path, _render()) / "unbound.conf"
    result = subprocess.run(["unbound-checkconf", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = conf.read_text()
    assert 'local-zone: "chatgpt.com." always_nxdomain' in text
    assert 'local-zone: "api.mistral.ai." transparent' in text


@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="needs dnsmasq")
def test_export_dnsmasq_test(tmp_path: Path) -> None:
    conf = _write(tmp_path, _render()) / "dnsmasq.conf"
    result = subprocess.run(["dnsmasq", "--test", "-C", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = conf.read_text().splitlines()
    assert "address=/chatgpt.com/" in lines
    assert "server=/api.mistral.ai/#" in lines
    assert f"address=/{DOH_CANARY}/" in lines


def test_export_pac_pacparser() -> None:
    script = _render()["proxy.pac"]
    verdicts = _pac_many(
        script,
        [
            "chatgpt.com",
            "www.chatgpt.com",
            "CHATGPT.COM",
            "chatgpt.com.",
            "a.b.claude.ai",
            "chat.example-ai.com",
            "x.chat.example-ai.com",
            "api.mistral.ai",
            "llm.klinikum-beispiel.de",
            "notchatgpt.com",
            "evilchatgpt.com",
            "chatgpt.com.attacker.example",
            "example.org",
            "10.0.0.1",
            "localhost",
            "chat.mistral.ai",
        ],
    )
    blocked = {
        "chatgpt.com",
        "www.chatgpt.com",
        "CHATGPT.COM",
        "chatgpt.com.",
        "a.b.claude.ai",
        "chat.example-ai.com",
        "x.chat.example-ai.com",
        "chat.mistral.ai",
    }
    for host, verdict in verdicts.items():
        assert verdict == (DEAD_PROXY if host in blocked else "DIRECT"), (host, verdict)


def test_export_pac_most_specific_rule_wins(tmp_path: Path) -> None:
    text = (
        DATA.read_text(encoding="utf-8")
        .replace(
            "extra_domains: [chat.example-ai.com, assistant.example.net]",
            "extra_domains: [example-ai.com]",
        )
        .replace(
            "exceptions: [api.mistral.ai, llm.klinikum-beispiel.de]",
            "exceptions: [api.mistral.ai, llm.klinikum-beispiel.de, ok.example-ai.com]",
        )
    )
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    files = _render(load_policy(tmp_path / "p.yaml", load_catalog()).policy)
    verdicts = _pac_many(
        files["proxy.pac"],
        ["example-ai.com", "x.example-ai.com", "ok.example-ai.com", "deep.ok.example-ai.com", "notok.example-ai.com"],
    )
    assert verdicts == {
        "example-ai.com": DEAD_PROXY,
        "x.example-ai.com": DEAD_PROXY,
        "ok.example-ai.com": "DIRECT",
        "deep.ok.example-ai.com": "DIRECT",
        "notok.example-ai.com": DEAD_PROXY,
    }
    hosts = files["hosts"].decode()
    assert "0.0.0.0 example-ai.com\n" in hosts and "ok.example-ai.com" not in hosts.replace("# ", "")


def _hosts_entries(data: bytes) -> dict[str, set[str]]:
    """Parse like the resolver's hosts parser: address, names; '#' starts a comment."""
    entries: dict[str, set[str]] = {}
    for line in data.decode("ascii").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        address, *names = line.split()
        assert address in ("0.0.0.0", "::"), line
        for name in names:
            entries.setdefault(name, set()).add(address)
    return entries


def test_export_hosts_file() -> None:
    import ipaddress

    entries = _hosts_entries(_render()["hosts"])
    assert entries["chatgpt.com"] == {"0.0.0.0", "::"}
    assert entries["www.chatgpt.com"] == {"0.0.0.0", "::"}
    assert "api.mistral.ai" not in entries and "llm.klinikum-beispiel.de" not in entries
    for name, addresses in entries.items():
        for address in addresses:
            ipaddress.ip_address(address)
        assert re.fullmatch(r"[a-z0-9.-]+", name), name


def test_export_network_enforce_local_only(tmp_path: Path) -> None:
    policy = _policy()
    policy.local_inference.enforce_local_only = True
    files = _render(policy)
    verdicts = _pac_many(files["proxy.pac"], ["api.mistral.ai", "llm.klinikum-beispiel.de", "example.org"])
    assert verdicts == {"api.mistral.ai": DEAD_PROXY, "llm.klinikum-beispiel.de": DEAD_PROXY, "example.org": "DIRECT"}
    rpz = files["rpz.zone"].decode()
    assert "rpz-passthru" not in rpz.split("$TTL")[1]
    assert "llm.klinikum-beispiel.de CNAME .\n" in rpz
    assert "enforce_local_only" in rpz
    if shutil.which("named-checkzone"):
        result = _named_checkzone(_write(tmp_path, files) / "rpz.zone")
        assert result.returncode == 0, result.stdout + result.stderr


def test_export_network_rejects_unnormalised_domains() -> None:
    policy = _policy()
    policy.blocking.extra_domains.append('evil.com"\n*.example CNAME .')
    with pytest.raises(InputError, match="cannot be exported"):
        _render(policy)


# ------------------------------------------------------------------ hostile text (hypothesis)

HOSTILE = (
    st.lists(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
        | st.sampled_from(
            ["\n", "\r", "\u2028", "\u2029", "*/", "//", ";", "#", '"', "'", "\\", "<", "&", "\x00", "$TTL", "}"]
        ),
        min_size=1,
        max_size=12,
    )
    .map("".join)
    .filter(lambda s: 0 < len(s) <= 200)
)


def _structure(data: bytes) -> list[str]:
    """Every line that is not a comment, in order (comments may carry the hostile text)."""
    return [line for line in data.decode("ascii").splitlines() if not line.lstrip().startswith((";", "#", "//"))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(org=HOSTILE, service_name=HOSTILE, service_id=st.from_regex(r"[a-z0-9]+(-[a-z0-9]+){0,3}", fullmatch=True))
def test_export_network_hostile_text_is_inert(org: str, service_name: str, service_id: str) -> None:
    catalog = Catalog(
        version=1,
        services=(
            Service(
                id=service_id,
                name=service_name,
                vendor=service_name,
                country="US",
                categories=("chat",),
                domains=("hostile-ai.example", "xn--bcher-kva.example"),
                source="https://example.org",
            ),
        ),
    )
    policy = _policy()
    base = _render(policy, catalog)
    policy.organization = org
    files = _render(policy, catalog)
    for name, data in files.items():
        assert _structure(data) == _structure(base[name]), name  # no line injected or lost
        assert len(data.splitlines()) == len(base[name].splitlines()), name
    verdicts = _pac_many(files["proxy.pac"], ["hostile-ai.example", "www.xn--bcher-kva.example", "api.mistral.ai"])
    assert verdicts == {
        "hostile-ai.example": DEAD_PROXY,
        "www.xn--bcher-kva.example": DEAD_PROXY,
        "api.mistral.ai": "DIRECT",
    }


@pytest.mark.skipif(
    shutil.which("named-checkzone") is None
    or shutil.which("unbound-checkconf") is None
    or shutil.which("dnsmasq") is None,
    reason="needs bind9-utils, unbound, dnsmasq",
)
@pytest.mark.parametrize(
    "org", ["Ä\"';#$TTL 0\n@ IN NS evil.\r\u2028*/ </script>\\", "x" * 200, "日本語の組織 \U0001f600"]
)
def test_export_network_hostile_text_validators(tmp_path: Path, org: str) -> None:
    policy = _policy()
    policy.organization = org
    files = _write(tmp_path, _render(policy))
    assert _named_checkzone(files / "rpz.zone").returncode == 0
    assert subprocess.run(["unbound-checkconf", str(files / "unbound.conf")], capture_output=True).returncode == 0
    assert subprocess.run(["dnsmasq", "--test", "-C", str(files / "dnsmasq.conf")], capture_output=True).returncode == 0
    assert _pac((files / "proxy.pac").read_bytes(), "chatgpt.com") == DEAD_PROXY


@settings(max_examples=40, deadline=None)
@given(label=st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Lo", "Nd")), min_size=1, max_size=20))
def test_export_network_unicode_domains_become_punycode(label: str) -> None:
    from mistral_sov.core.domains import DomainError, normalize_domain

    try:
        domain = normalize_domain(f"{label}.example")
    except DomainError:
        return  # rejected by the loader with a clear message; never reaches an exporter
    policy = _policy()
    policy.blocking.extra_domains = [domain]
    files = _render(policy)
    assert f"address=/{domain}/" in files["dnsmasq.conf"].decode("ascii")
    assert _pac(files["proxy.pac"], f"www.{domain}") == DEAD_PROXY
