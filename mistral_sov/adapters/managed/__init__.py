"""Where the managed policy lives on each operating system, and reading it.

- Windows: ``HKLM\\Software\\Policies\\Mistral AI\\Sovereign`` (Group Policy, Intune ADMX
  ingestion), then ``HKCU`` for User-class settings;
- macOS: ``/Library/Managed Preferences/ai.mistral.sovereign.plist`` (configuration profile),
  then ``/etc/mistral-sov/managed.json``;
- Linux: ``/etc/mistral-sov/managed.json``.

No environment variable or flag can switch these off: a managed policy is the administrator's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mistral_sov.errors import InputError, Location
from mistral_sov.services.effective import ManagedSource

POLICY_KEY = r"Software\Policies\Mistral AI\Sovereign"
MANAGED_JSON = Path("/etc/mistral-sov/managed.json")
MACOS_PLIST = Path("/Library/Managed Preferences/ai.mistral.sovereign.plist")


def system_sources(platform: str | None = None) -> list[ManagedSource]:
    """The managed sources present on this machine, in precedence order (first wins)."""
    platform = platform or sys.platform
    out: list[ManagedSource] = []
    if platform == "win32":
        import winreg  # type: ignore[import-not-found,unused-ignore]

        from mistral_sov.adapters.managed.winreg_reader import read_hive

        for hive in ("HKLM", "HKCU"):
            state = read_hive(winreg, hive)
            if state is not None:
                out.append(ManagedSource(f"{hive}\\{POLICY_KEY}", state, "registry"))
        return out
    from mistral_sov.adapters.managed import files

    if platform == "darwin" and MACOS_PLIST.exists():
        files.check_owner(MACOS_PLIST)
        out.append(ManagedSource(str(MACOS_PLIST), files.read_plist(MACOS_PLIST), "plist"))
    if MANAGED_JSON.exists() or MANAGED_JSON.is_symlink():
        files.check_owner(MANAGED_JSON)
        out.append(ManagedSource(str(MANAGED_JSON), files.read_json(MANAGED_JSON), "json"))
    return out


def read_file(path: Path) -> ManagedSource:
    """A managed source from a file, by its kind: ``Registry.pol``, ``.json``, ``.plist`` or
    ``.mobileconfig`` (for ``policy effective --managed FILE``: preview a GPO or profile)."""
    from mistral_sov.adapters.managed import files

    if not path.is_file():
        raise InputError(f"managed policy file '{path}' not found", location=Location(str(path)))
    suffix = path.suffix.lower()
    if suffix == ".pol":
        from mistral_sov.adapters.managed.registry_pol import read_pol

        return ManagedSource(str(path), read_pol(path, POLICY_KEY), "registry.pol")
    if suffix in (".plist", ".mobileconfig"):
        return ManagedSource(str(path), files.read_plist(path), "plist")
    if suffix == ".json":
        return ManagedSource(str(path), files.read_json(path), "json")
    raise InputError(
        f"'{path}': unknown managed policy file type",
        hint="give a Registry.pol, managed.json, .plist or .mobileconfig file",
        location=Location(str(path)),
    )
