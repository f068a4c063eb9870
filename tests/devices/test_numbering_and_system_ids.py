"""Physical qubit numbering is pyquafu's (issue 14, item 4); system_ids are unique and stable (item 5)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from xihe import devices
from xihe.devices.quafu import labels
from xihe.devices.registry import _chip_data, system_ids
from xihe.errors import ValidationError


def pyquafu_mapping(data: dict) -> list[str]:
    """What pyquafu 0.4.5's ``Backend.get_chip_info`` computes (backends.py), copied as the oracle."""
    names = {q for pair in data["topological_structure"] for q in pair.split("_")}
    return sorted(names, key=lambda x: int(re.findall(r"\d+", x)[0]))


@pytest.mark.parametrize("chip", ["line10.json", "dongling.json", "grid36.json"])
def test_physical_numbering_starts_with_pyquafus_mapping(chip: str) -> None:
    data = _chip_data(chip)
    mapping = pyquafu_mapping(data)
    order = labels(data)
    assert order[: len(mapping)] == mapping
    assert sorted(order) == sorted(data["all_qubits_info"])


def test_line10_verbatim_cx_0_1_is_on_a_coupled_pair() -> None:
    device = devices.get("line10")
    assert device.target.labels[:2] == ["Q0102", "Q0103"]
    assert (0, 1) in device.coupling_map
    assert device.target.labels[9] == "Q0101"  # the qubit with no working coupler comes last


def write_chip(folder: Path, name: str, system_id: int | None) -> None:
    data = _chip_data("line10.json")
    data.pop("system_id")
    if system_id is not None:
        data["system_id"] = system_id
    (folder / f"{name}.json").write_text(json.dumps(data))


def test_shipped_system_ids_are_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XIHE_DEVICES_DIR", raising=False)
    ids = system_ids()
    assert len(set(ids.values())) == len(ids) == len(devices.names())


def test_chip_file_without_system_id_gets_a_stable_unique_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_chip(tmp_path, "lab5", None)
    monkeypatch.setenv("XIHE_DEVICES_DIR", str(tmp_path))
    first = system_ids()["lab5"]
    assert first not in {sid for name, sid in system_ids().items() if name != "lab5"}
    write_chip(tmp_path, "another", 4242)  # adding a file does not move the first one's id
    other = tmp_path / "copy"
    other.mkdir()
    write_chip(other, "lab5", None)
    monkeypatch.setenv("XIHE_DEVICES_DIR", str(other))
    assert system_ids()["lab5"] == first
    assert devices.get("lab5").system_id == first


def test_clashing_system_id_is_refused_when_devices_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_chip(tmp_path, "copy_of_line10", 0)  # line10's id
    monkeypatch.setenv("XIHE_DEVICES_DIR", str(tmp_path))
    with pytest.raises(ValidationError, match=r"system_id 0 .*line10"):
        devices.names()
