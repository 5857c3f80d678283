"""``mistral-sov sbom``: the toolkit SBOM and the AI-BOM of the real SmolLM2 GGUF, validated
against the CycloneDX 1.6 JSON Schema shipped by cyclonedx-python-lib (strict) and by
``jsonschema`` directly; a refused model in the store exits 5 and writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clihelp import run_cli
from gguf_models import smollm2, smollm2_sha256

from mistral_sov.adapters import sbom


@pytest.fixture(scope="module")
def model_sha() -> str:
    return smollm2_sha256()


def write_policy(path: Path, models: str, endpoints: str = "") -> Path:
    path.write_text(
        "version: 1\norganization: Example Hospital\n"
        + (endpoints or "endpoints:\n  - name: mistral-eu\n    url: https://mistral.example.eu\n")
        + "local_inference:\n  models:\n"
        + models,
        encoding="utf-8",
    )
    return path


def import_model(store: Path, name: str, source: Path) -> None:
    result = run_cli("local", "models", "import", str(source), "--name", name, "--store", str(store))
    assert result.code == 0, result.err


def schema_validate(doc: dict) -> None:
    """Second judge: the CycloneDX 1.6 schema file itself, through jsonschema (with its SPDX and
    JSF companions from the same folder)."""
    import cyclonedx.schema._res
    import jsonschema
    import referencing
    import referencing.jsonschema

    folder = Path(cyclonedx.schema._res.__file__).parent
    schema = json.loads((folder / "bom-1.6.SNAPSHOT.schema.json").read_text(encoding="utf-8"))
    resources = []
    base = schema["$id"].rsplit("/", 1)[0]
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        contents = json.loads((folder / name).read_text(encoding="utf-8"))
        resource = referencing.Resource.from_contents(contents, default_specification=referencing.jsonschema.DRAFT7)
        resources.append((f"{base}/{name}", resource))
    registry = referencing.Registry().with_resources(resources)
    jsonschema.Draft7Validator(schema, registry=registry).validate(doc)


def test_toolkit_sbom_validates() -> None:
    doc = sbom.to_json(sbom.toolkit_bom())
    assert sbom.validate(doc) == []
    assert doc["specVersion"] == "1.6"
    names = {c["name"].lower() for c in doc["components"]}
    assert {"pydantic", "typer", "cryptography", "httpx"} <= names
    assert doc["metadata"]["component"]["name"] == "mistral-sov"
    assert doc["metadata"]["component"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert all(c["purl"].startswith("pkg:pypi/") for c in doc["components"])
    schema_validate(doc)


def test_validator_catches_an_invalid_document() -> None:
    doc = sbom.to_json(sbom.toolkit_bom())
    doc["components"][0]["modelCard"] = {"bogus": 1}
    assert sbom.validate(doc)
    doc = sbom.to_json(sbom.toolkit_bom())
    doc["components"][0]["hashes"] = [{"alg": "SHA-256", "content": "not hex"}]
    assert sbom.validate(doc)
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        schema_validate(doc)


def test_sbom_command_real_model(tmp_path: Path, model_sha: str) -> None:
    store = tmp_path / "store"
    import_model(store, "smollm2", smollm2())
    policy = write_policy(
        tmp_path / "sovereignty.yaml",
        f"    - name: smollm2\n      sha256: {model_sha}\n      license: apache-2.0\n"
        f"    - name: absent-model\n      sha256: {'ab' * 32}\n      license: mit\n",
    )
    out = tmp_path / "out"
    result = run_cli("sbom", "--out", str(out), "--policy", str(policy), "--store", str(store))
    assert result.code == 0, result.err
    assert "valid against the CycloneDX JSON Schema" in result.out
    toolkit = json.loads((out / "mistral-sov.cdx.json").read_text(encoding="utf-8"))
    ai = json.loads((out / "ai-bom.cdx.json").read_text(encoding="utf-8"))
    assert sbom.validate(toolkit) == [] and sbom.validate(ai) == []
    schema_validate(ai)
    models = {c["name"]: c for c in ai["components"]}
    assert set(models) == {"smollm2", "absent-model"}
    small = models["smollm2"]
    assert small["type"] == "machine-learning-model"
    assert small["hashes"] == [{"alg": "SHA-256", "content": model_sha}]
    assert {"license": {"acknowledgement": "concluded", "id": "Apache-2.0"}} in small["licenses"]
    assert {"license": {"acknowledgement": "declared", "id": "Apache-2.0"}} in small["licenses"]
    card = small["modelCard"]
    assert card["modelParameters"]["architectureFamily"] == "llama"
    facts = {p["name"]: p["value"] for p in card["properties"]}
    assert facts["mistral-sov:gguf:quantization"] == "Q4_1"
    assert facts["mistral-sov:gguf:parameter_count"] == "134515008"
    props = {p["name"]: p["value"] for p in small["properties"]}
    assert props["mistral-sov:present"] == "true"
    absent = models["absent-model"]
    assert {p["name"]: p["value"] for p in absent["properties"]}["mistral-sov:present"] == "false"
    assert "modelCard" not in absent  # nothing invented for a file that is not here


def test_refused_model_in_store_exits_5_and_writes_nothing(tmp_path: Path, model_sha: str) -> None:
    store = tmp_path / "store"
    import_model(store, "smollm2", smollm2())
    policy = write_policy(tmp_path / "p.yaml", f"    - name: other\n      sha256: {'cd' * 32}\n      license: mit\n")
    out = tmp_path / "out"
    result = run_cli("sbom", "--out", str(out), "--policy", str(policy), "--store", str(store))
    assert result.code == 5, result.err
    assert "refused by the policy" in result.err and "smollm2" in result.err
    assert "local models remove" in result.err
    assert not out.exists() or not any(out.iterdir())


def test_altered_blob_is_refused(tmp_path: Path, model_sha: str) -> None:
    store = tmp_path / "store"
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(smollm2(), copy)
    import_model(store, "smollm2", copy)
    blob = next((store / "blobs").glob("*.gguf"))
    with blob.open("r+b") as handle:  # flip one byte of the weights, header intact
        handle.seek(-10, 2)
        byte = handle.read(1)
        handle.seek(-10, 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    policy = write_policy(tmp_path / "p.yaml", f"    - name: smollm2\n      sha256: {model_sha}\n      license: mit\n")
    result = run_cli("sbom", "--out", str(tmp_path / "o"), "--policy", str(policy), "--store", str(store))
    assert result.code == 5, result.err


def test_toolkit_only_needs_no_policy(tmp_path: Path) -> None:
    result = run_cli("sbom", "--toolkit-only", "--out", str(tmp_path), "--policy", str(tmp_path / "absent.yaml"))
    assert result.code == 0, result.err
    assert (tmp_path / "mistral-sov.cdx.json").is_file()
    assert not (tmp_path / "ai-bom.cdx.json").exists()


def test_missing_policy_is_exit_2(tmp_path: Path) -> None:
    result = run_cli("sbom", "--out", str(tmp_path / "o"), "--policy", str(tmp_path / "absent.yaml"))
    assert result.code == 2
    assert "Traceback" not in result.err


def test_model_approved_by_file_path_outside_the_store(tmp_path: Path, model_sha: str) -> None:
    policy = write_policy(
        tmp_path / "p.yaml",
        f"    - name: smollm2\n      sha256: {model_sha}\n      license: apache-2.0\n      file: {smollm2()}\n",
    )
    out = tmp_path / "out"
    result = run_cli("sbom", "--out", str(out), "--policy", str(policy), "--store", str(tmp_path / "empty-store"))
    assert result.code == 0, result.err
    ai = json.loads((out / "ai-bom.cdx.json").read_text(encoding="utf-8"))
    props = {p["name"]: p["value"] for p in ai["components"][0]["properties"]}
    assert props["mistral-sov:present"] == "true" and props["mistral-sov:file:location"] == str(smollm2().resolve())
    assert ai["components"][0]["modelCard"]["modelParameters"]["architectureFamily"] == "llama"
