"""The blocking and asyncio clients are one API: the same methods, signatures and documentation, one definition.

Both clients' methods are made from :mod:`xihe.client.calls`; these checks would catch a method added to one
client only, or a signature or docstring that drifted (the asyncio client's once had no documentation at all).
"""

from __future__ import annotations

import inspect

from xihe.client import AsyncClient, Client
from xihe.client import calls as calls_module

HANDLES = {"Job": "AsyncJob", "EstimateJob": "AsyncEstimateJob", "SampleJob": "AsyncSampleJob"}


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_") and name not in ("close", "aclose")}


def test_both_clients_offer_the_same_calls_with_the_same_signatures_and_documentation() -> None:
    sync, aio = public_methods(Client), public_methods(AsyncClient)
    assert sync.keys() == aio.keys()
    for name, signature in sync.items():
        other = aio[name]
        assert list(signature.parameters)[1:] == list(other.parameters)[1:], name
        for parameter in list(signature.parameters.values())[1:]:
            assert other.parameters[parameter.name].default == parameter.default, (name, parameter.name)
        returns = str(signature.return_annotation)
        assert str(other.return_annotation) == HANDLES.get(returns, returns), name
        assert getattr(Client, name).__doc__ == getattr(AsyncClient, name).__doc__, name
        assert getattr(Client, name).__doc__, f"Client.{name} has no documentation"


def test_a_bound_method_shows_the_calls_own_arguments() -> None:
    client = Client("http://127.0.0.1:9", token="qf_unused")
    try:
        assert list(inspect.signature(client.run).parameters)[:3] == ["circuits", "backend", "shots"]
        assert inspect.signature(client.backend).return_annotation == "BackendInfo"
    finally:
        client.close()


def test_a_submit_call_carries_a_fresh_idempotency_key_and_the_job_fields() -> None:
    first, second = calls_module.run("OPENQASM 2.0;", "sim", shots=7), calls_module.run("OPENQASM 2.0;", "sim")
    assert (first.method, first.path, first.json["shots"], first.json["backend"]) == ("POST", "jobs", 7, "sim")
    assert first.headers is not None and second.headers is not None
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]
    long_poll = calls_module.job("abc", wait=5)
    assert long_poll.params == {"wait": 5.0} and long_poll.timeout is not None
