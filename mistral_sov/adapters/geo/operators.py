"""The shipped operator table: ASN -> organisation -> parent company -> jurisdiction.

Read from ``templates/residency/operators.yaml`` through ``mistral_sov.resources``. The
jurisdiction is the parent company's home country (the CLOUD Act reaches US-parented
operators wherever their servers are); ``zones.operator_jurisdictions`` decides what to do.
"""

from __future__ import annotations

from mistral_sov import resources
from mistral_sov.core.attribution import Operator, SourceInfo
from mistral_sov.errors import InputError, Location

RELATIVE = "residency/operators.yaml"


class OperatorTable:
    name = "operators"

    def __init__(self, operators: dict[int, Operator], version: str) -> None:
        self._by_asn = operators
        self.version = version

    @classmethod
    def load(cls) -> OperatorTable:
        path = resources.path(RELATIVE)
        doc = resources.load_yaml_data(RELATIVE)
        table: dict[int, Operator] = {}
        try:
            for row in doc["operators"]:
                op = Operator(
                    int(row["asn"]),
                    str(row["organisation"]),
                    str(row["parent"]),
                    str(row["jurisdiction"]),
                    str(row["source"]),
                )
                table[op.asn] = op
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"shipped '{RELATIVE}' has a malformed entry ({exc})",
                location=Location(str(path)),
                hint="each entry needs asn, organisation, parent, jurisdiction, source",
            ) from None
        return cls(table, str(doc.get("version", "")))

    def operator(self, asn: int) -> Operator | None:
        return self._by_asn.get(asn)

    def __len__(self) -> int:
        return len(self._by_asn)

    def all(self) -> list[Operator]:
        return list(self._by_asn.values())

    def info(self) -> SourceInfo:
        published = self.version if len(self.version) == 10 and self.version[4] == "-" else ""
        import hashlib

        sha = hashlib.sha256(resources.path(RELATIVE).read_bytes()).hexdigest()
        return SourceInfo(
            "operators",
            self.version,
            "operators",
            {"file": RELATIVE, "entries": str(len(self)), "sha256": sha},
            published,
        )
