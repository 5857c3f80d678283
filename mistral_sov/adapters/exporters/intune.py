"""``intune`` format: ADMX ingestion + OMA-URI custom profile, settings-catalog policies,
and a Remediations detection/remediation script pair.

- ``admx-ingestion.json``: Graph ``#microsoft.graph.windows10CustomConfiguration`` whose first
  OMA setting ingests MistralSov.admx (ADMXInstall) and whose others set each ADMX policy
  (``./Device/Vendor/MSFT/Policy/Config/MistralSov~Policy~Cat_MistralAI~Cat_Sovereignty/<Name>``),
  String payloads, lists as ONE ``<data>`` whose value joins name, value, … with ``&#xF000;``.
- ``settings-catalog-{chrome,edge,windows-ai}.json``: beta ``configurationPolicies`` bodies
  (``settings_catalog.py``) for the controls-table rows whose ID is in the shipped, snapshot-checked
  ``templates/intune/settings-catalog-ids.yaml``.
- ``detect.ps1`` / ``remediate.ps1``: exit 1 = not compliant; lists compared as sets.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from mistral_sov.adapters.exporters import _winreg as wr
from mistral_sov.adapters.exporters import gpo
from mistral_sov.core.intune_paths import intune_blocked
from mistral_sov.errors import InputError
from mistral_sov.ports import Artifact, ExportOptions

if TYPE_CHECKING:
    from mistral_sov.core.catalog import Catalog
    from mistral_sov.core.policy import Policy

LIST_SEPARATOR = "\uf000"
LIST_SEPARATOR_REF = "&#xF000;"
INGEST_URI = f"./Device/Vendor/MSFT/Policy/ConfigOperations/ADMXInstall/{gpo.BASENAME}/Policy/{gpo.BASENAME}Admx"
G = "#microsoft.graph."


def setting_uri(policy_name: str, scope: str = "Device") -> str:
    """OMA-URI of one ADMX policy: AppName~Policy~categories root to leaf / policy name."""
    area = "~".join([gpo.BASENAME, "Policy", *gpo.category_path()])
    return f"./{scope}/Vendor/MSFT/Policy/Config/{area}/{policy_name}"


def _data_element(element_id: str, value: str) -> str:
    """``<data id=… value=…/>`` built with lxml; the list separator U+F000 is then written
    as the character reference ``&#xF000;`` that the ADMX-backed policy CSP documents."""
    from lxml import etree

    try:
        node = etree.Element("data", id=element_id, value=value)
    except ValueError as exc:
        raise InputError(
            f"a value of '{element_id}' cannot be carried in an OMA-URI payload: {exc}",
            hint="remove control characters from the policy file",
        ) from exc
    text: str = etree.tostring(node, encoding="unicode")
    return text.replace(LIST_SEPARATOR, LIST_SEPARATOR_REF)


def oma_payload(p: gpo.AdmxPolicy, value: gpo.AdmxValue) -> str:
    """The String payload for one ADMX policy (``<enabled/>…`` or ``<disabled/>``)."""
    if p.kind == "flag":
        return "<enabled/>" if value else "<disabled/>"
    if p.kind == "text":
        if not isinstance(value, str) or not value:
            return "<disabled/>"
        return "<enabled/>" + _data_element(p.element_id, value)
    pairs = value if isinstance(value, tuple) else ()
    if not pairs:
        return "<disabled/>"
    flat: list[str] = []
    for name, item in pairs:
        for part in (name, item):
            if LIST_SEPARATOR in part:
                raise InputError(
                    f"'{part[:60]}' contains U+F000, the separator of ADMX list payloads",
                    hint="remove the private-use character U+F000 from the policy file",
                )
            flat.append(part)
    return "<enabled/>" + _data_element(p.element_id, LIST_SEPARATOR.join(flat))


def check_admx_paths() -> None:
    """Our ingested ADMX must write only where Intune allows (never Software\\Policies\\Microsoft)."""
    keys = [wr.OUR_KEY] + [p.list_key for p in gpo.POLICIES if p.list_key]
    bad = [k for k in keys if intune_blocked(k)]
    if bad:  # pragma: no cover - guards a future edit of gpo.POLICIES
        raise InputError(
            f"the ADMX writes under Intune-blocked paths: {', '.join(bad)}",
            hint="ADMX-backed policies must stay under Software\\Policies\\Mistral AI",
        )


def render_ingestion(policy: Policy, admx: bytes) -> dict[str, Any]:
    check_admx_paths()
    values = gpo.admx_values(policy)
    settings: list[dict[str, Any]] = [
        {
            "@odata.type": G + "omaSettingString",
            "displayName": f"Ingest {gpo.BASENAME}.admx",
            "description": f"ADMX ingestion (namespace {gpo.TARGET_NAMESPACE}, revision {gpo.REVISION})",
            "omaUri": INGEST_URI,
            "value": admx.decode("utf-8"),
        }
    ]
    for p in gpo.POLICIES:
        settings.append(
            {
                "@odata.type": G + "omaSettingString",
                "displayName": p.name,
                "description": "",
                "omaUri": setting_uri(p.name),
                "value": oma_payload(p, values[p.name]),
            }
        )
    return {
        "@odata.type": G + "windows10CustomConfiguration",
        "displayName": f"mistral-sov: {gpo.BASENAME} ({policy.organization})"[:1000],
        "description": "AI sovereignty settings generated by mistral-sov (ADMX-backed policies).",
        "omaSettings": settings,
    }


# --------------------------------------------------------------------------- PowerShell

_PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def ps_string(text: str) -> str:
    """A PowerShell expression for ``text``: a single-quoted literal (every quote character
    PowerShell accepts is doubled), or a base64 decode when it holds control characters."""
    if any(ord(c) < 0x20 or c in "\u0085\u2028\u2029" for c in text):
        b64 = base64.b64encode(text.encode("utf-8")).decode("ascii")
        return f"([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('{b64}')))"
    out = "".join(c + c if c in _PS_QUOTES else c for c in text)
    return f"'{out}'"


def _ps_tables(settings: list[wr.Setting]) -> str:
    values: list[str] = []
    lists: list[str] = []
    for s in settings:
        if isinstance(s, wr.RegValue):
            kind = "DWord" if isinstance(s.data, int) else "String"
            data = str(s.data) if isinstance(s.data, int) else ps_string(s.data)
            values.append(
                f"    @{{ Scope = '{s.scope}'; Key = {ps_string(s.key)}; Name = {ps_string(s.name)}; "
                f"Kind = '{kind}'; Data = {data} }}"
            )
        else:
            entries = "\r\n".join(f"        @{{ N = {ps_string(n)}; D = {ps_string(d)} }}" for n, d in s.values)
            named = "$true" if s.named else "$false"
            body = f"\r\n{entries}\r\n    " if entries else ""
            lists.append(
                f"    @{{ Scope = '{s.scope}'; Key = {ps_string(s.key)}; Named = {named}; Entries = @({body}) }}"
            )
    return "$Values = @(\r\n" + ",\r\n".join(values) + "\r\n)\r\n$Lists = @(\r\n" + ",\r\n".join(lists) + "\r\n)\r\n"


_PS_COMMON = r"""$ErrorActionPreference = 'Stop'
# Running as SYSTEM (the Intune default) checks HKLM only; run the script "using the logged-on
# credentials" as well to cover the User-scope values (HKCU).
$IsSystem = [Security.Principal.WindowsIdentity]::GetCurrent().IsSystem

function Get-RegPath([string]$Scope, [string]$Key) {
    if ($Scope -eq 'User') { return 'HKCU:\' + $Key }
    return 'HKLM:\' + $Key
}

function Test-Skip([string]$Scope) {
    return ($Scope -eq 'User' -and $IsSystem)
}
"""

_PS_DETECT = r"""
function Get-ListSet($Key, [bool]$Named) {
    $set = New-Object 'System.Collections.Generic.HashSet[string]' ([StringComparer]::Ordinal)
    if ($null -eq $Key) { return ,$set }
    foreach ($n in $Key.GetValueNames()) {
        # '**delvals.', '**del.X', '**soft.X' … are Group Policy directives, not values.
        if ($n -eq '' -or $n.StartsWith('**')) { continue }
        $d = [string]$Key.GetValue($n, $null, 'DoNotExpandEnvironmentNames')
        if ($Named) { [void]$set.Add($n.ToLowerInvariant() + [char]0 + $d) } else { [void]$set.Add($d) }
    }
    return ,$set
}

$Problems = New-Object 'System.Collections.Generic.List[string]'
try {
    foreach ($v in $Values) {
        if (Test-Skip $v.Scope) { continue }
        $path = Get-RegPath $v.Scope $v.Key
        $key = Get-Item -LiteralPath $path -ErrorAction SilentlyContinue
        if ($null -eq $key -or ($key.GetValueNames() -notcontains $v.Name)) {
            $Problems.Add("missing $path\$($v.Name)")
            continue
        }
        $kind = $key.GetValueKind($v.Name).ToString()
        $actual = [string]$key.GetValue($v.Name, $null, 'DoNotExpandEnvironmentNames')
        if ($kind -ne $v.Kind -or $actual -cne [string]$v.Data) {
            $Problems.Add("wrong $path\$($v.Name)")
        }
    }
    foreach ($l in $Lists) {
        if (Test-Skip $l.Scope) { continue }
        $path = Get-RegPath $l.Scope $l.Key
        $key = Get-Item -LiteralPath $path -ErrorAction SilentlyContinue
        $actual = Get-ListSet $key $l.Named
        $expected = New-Object 'System.Collections.Generic.HashSet[string]' ([StringComparer]::Ordinal)
        foreach ($e in $l.Entries) {
            if ($l.Named) { [void]$expected.Add(([string]$e.N).ToLowerInvariant() + [char]0 + $e.D) }
            else { [void]$expected.Add([string]$e.D) }
        }
        if (-not $expected.SetEquals($actual)) {
            $Problems.Add("list differs $path")
        }
    }
} catch {
    Write-Output "mistral-sov: detection failed: $($_.Exception.Message)"
    exit 1
}

if ($Problems.Count -gt 0) {
    foreach ($p in $Problems) { Write-Output $p }
    Write-Output "mistral-sov: NOT compliant ($($Problems.Count) setting(s) differ)"
    exit 1
}
Write-Output 'mistral-sov: compliant'
exit 0
"""

_PS_REMEDIATE = r"""
try {
    foreach ($v in $Values) {
        if (Test-Skip $v.Scope) { continue }
        $path = Get-RegPath $v.Scope $v.Key
        if (-not (Test-Path -LiteralPath $path)) { New-Item -Path $path -Force | Out-Null }
        New-ItemProperty -LiteralPath $path -Name $v.Name -PropertyType $v.Kind -Value $v.Data -Force | Out-Null
    }
    foreach ($l in $Lists) {
        if (Test-Skip $l.Scope) { continue }
        $path = Get-RegPath $l.Scope $l.Key
        # Replace the whole list, as Group Policy does with **delvals.
        if (Test-Path -LiteralPath $path) { Remove-Item -LiteralPath $path -Recurse -Force }
        New-Item -Path $path -Force | Out-Null
        foreach ($e in $l.Entries) {
            New-ItemProperty -LiteralPath $path -Name $e.N -PropertyType String -Value $e.D -Force | Out-Null
        }
    }
} catch {
    Write-Output "mistral-sov: remediation failed: $($_.Exception.Message)"
    exit 1
}
Write-Output 'mistral-sov: settings written'
exit 0
"""


def render_script(policy: Policy, settings: list[wr.Setting], which: str) -> bytes:
    org = policy.organization.replace("\r", " ").replace("\n", " ")
    header = (
        f"# mistral-sov {which} script for Intune Remediations, generated for {org}.\r\n"
        + (
            "# Exit 0 = compliant, exit 1 = not compliant (Intune then runs remediate.ps1).\r\n"
            if which == "detection"
            else "# Writes the expected values (run as SYSTEM for HKLM; values under Policies tattoo).\r\n"
        )
        + "# Do not edit: regenerate with `mistral-sov policy export --format intune`.\r\n"
    )
    body = _PS_COMMON + "\r\n" + (_PS_DETECT if which == "detection" else _PS_REMEDIATE)
    text = header + _ps_tables(settings) + body.replace("\r\n", "\n").replace("\n", "\r\n")
    return b"\xef\xbb\xbf" + text.encode("utf-8")


# --------------------------------------------------------------------------- exporter


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class IntuneExporter:
    name = "intune"
    description = "Microsoft Intune: ADMX ingestion + OMA-URI profile, settings catalog, Remediations scripts"

    def render(self, policy: Policy, catalog: Catalog, options: ExportOptions) -> list[Artifact]:
        from mistral_sov.adapters.exporters import settings_catalog

        settings = wr.registry_settings(policy, catalog)
        artifacts = [Artifact("intune/admx-ingestion.json", _json(render_ingestion(policy, gpo.render_admx())))]
        for name, body in settings_catalog.render_catalogs(policy, catalog):
            artifacts.append(Artifact(f"intune/settings-catalog-{name}.json", _json(body)))
        artifacts.append(Artifact("intune/detect.ps1", render_script(policy, settings, "detection")))
        artifacts.append(Artifact("intune/remediate.ps1", render_script(policy, settings, "remediation")))
        return artifacts


EXPORTER = IntuneExporter()
