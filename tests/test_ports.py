"""``ports.py`` is the one home of the interfaces services take: services define no Protocol of
their own and import every port they name from ``mistral_sov.ports``."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Protocol

from sharedpaths import REPO

import mistral_sov.ports as ports

SERVICES = sorted((REPO / "mistral_sov" / "services").glob("*.py"))


def _is_protocol(obj: object) -> bool:
    return inspect.isclass(obj) and Protocol in getattr(obj, "__mro__", ()) and obj is not Protocol


def test_services_define_no_protocols() -> None:
    offenders = []
    for path in SERVICES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                (isinstance(b, ast.Name) and b.id == "Protocol")
                or (isinstance(b, ast.Attribute) and b.attr == "Protocol")
                for b in node.bases
            ):
                offenders.append(f"{path.name}:{node.lineno} {node.name}")
    assert SERVICES, "no service modules found"
    assert offenders == [], f"define these in mistral_sov/ports.py: {offenders}"


def test_services_import_ports_only_from_ports() -> None:
    """A Protocol a service imports comes from ``mistral_sov.ports``, never from another module."""
    protocol_names = {name for name in ports.__all__ if _is_protocol(getattr(ports, name))}
    assert {"Exporter", "Tracer", "GeoProvider", "LoadedPolicyLike", "DriftLike"} <= protocol_names
    offenders = []
    for path in SERVICES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "mistral_sov.ports":
                offenders += [
                    f"{path.name}: {a.name} from {node.module}" for a in node.names if a.name in protocol_names
                ]
    assert offenders == []


def test_every_exported_name_exists() -> None:
    for name in ports.__all__:
        assert hasattr(ports, name), name
    assert Path(ports.__file__).name == "ports.py"
