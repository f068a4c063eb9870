"""Gates and operations keep their hash: the compiler's caches and memos hash the same values many times (issue 19)."""

from __future__ import annotations

import pickle

from xihe.circuit import Gate, Operation


class CountingAngle(float):
    """A float angle that counts how often it is hashed."""

    calls = 0

    def __hash__(self) -> int:
        CountingAngle.calls += 1
        return float.__hash__(self)


def test_gate_hash_is_computed_once() -> None:
    CountingAngle.calls = 0
    gate = Gate._trusted("rz", (CountingAngle(0.25),), 1)
    first = hash(gate)
    assert all(hash(gate) == first for _ in range(5))
    assert CountingAngle.calls == 1


def test_operation_hash_is_computed_once() -> None:
    CountingAngle.calls = 0
    op = Operation(Gate._trusted("rx", (CountingAngle(0.5),), 1), (3,))
    first = hash(op)
    assert all(hash(op) == first for _ in range(5))
    assert CountingAngle.calls == 1


def test_equal_values_hash_equal_and_the_cache_is_not_compared() -> None:
    a, b = Gate("rz", (0.5,)), Gate("rz", (0.5,))
    hash(a)  # only a has its hash cached
    assert a == b and hash(a) == hash(b)
    assert Gate("rz", (0.5,)) != Gate("rz", (0.25,))
    x, y = Operation(a, (0,)), Operation(b, (0,))
    hash(x)
    assert x == y and hash(x) == hash(y) and len({x, y}) == 1
    assert Operation(a, (0,)) != Operation(a, (1,))


def test_pickled_values_equal_and_hash_as_the_original() -> None:
    gate = Gate("cx")
    op = Operation(gate, (0, 1))
    hash(op)
    copy = pickle.loads(pickle.dumps(op))
    assert copy == op and hash(copy) == hash(op)
