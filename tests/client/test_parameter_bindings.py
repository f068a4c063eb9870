"""Parameter bindings given in the shapes a Qiskit user tries first are refused with the shape Xihe expects.

``client.estimate(..., parameter_values=[[0.3], [1.2]])`` (values by position, as Qiskit's PUBs take them) used to
fail with ``AttributeError: 'list' object has no attribute 'items'`` from deep inside the body builder; a numpy
array or a single mapping without its list failed the same way. The bodies are built without a server.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from xihe import Circuit, Parameter
from xihe.client.estimate import estimate_body
from xihe.client.payloads import submit_body
from xihe.client.sample import SamplerPub, sample_pubs_body

THETA = Parameter("theta")
CIRCUIT = Circuit(1, 1).ry(THETA, 0).measure(0, 0)


def estimate(values: Any) -> dict[str, Any]:
    return estimate_body(Circuit(1).ry(THETA, 0), "sim", {"Z": 1.0}, values, precision=0.01)


def sample(values: Any) -> dict[str, Any]:
    return sample_pubs_body([SamplerPub(CIRCUIT, values)], "sim", shots=10)


def sweep(values: Any) -> dict[str, Any]:
    return submit_body(CIRCUIT, "sim", shots=10, compile=True, seed=None, name=None, tags=(), optimization_level=2,
                       parameters=values, priority=0, memory=False)


@pytest.mark.parametrize("build", [estimate, sample, sweep])
@pytest.mark.parametrize("values", [[[0.3], [1.2]], np.array([[0.3], [1.2]]), [0.3, 1.2]])
def test_values_by_position_are_refused_with_the_expected_shape(build: Any, values: Any) -> None:
    with pytest.raises(TypeError, match=r"must be a \{name: value\} mapping .*by name, not by position"):
        build(values)


@pytest.mark.parametrize("build", [estimate, sample, sweep])
def test_one_mapping_without_its_list_is_refused_with_the_expected_shape(build: Any) -> None:
    with pytest.raises(TypeError, match=r"must be a list of bindings.*\[\{'theta': 0\.5\}"):
        build({"theta": 0.3})


@pytest.mark.parametrize("build", [estimate, sample, sweep])
def test_a_list_of_mappings_still_builds_the_same_body(build: Any) -> None:
    body = build([{THETA: np.float64(0.3)}, {"theta": 1}])
    sent = body.get("parameters") or body.get("pubs", [body])[0].get("parameter_values")
    assert sent == [{"theta": 0.3}, {"theta": 1.0}]
