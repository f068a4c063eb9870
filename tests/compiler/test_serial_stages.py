"""The compile's serial stages made cheaper without changing a result (issue 19, seventh pass): the passes before
routing decide most blocks from the block kernel's counts, which answer only where the NumPy product's rounding
cannot change them, so ``ConsolidateBlocks`` and ``ImplicitSwaps`` rewrite exactly what they rewrote without them;
``to_rows`` (gates looked up by their fields, a two-qubit gate's pieces converted once per conversion) gives the
arrays of the one-by-one conversion; the terminal measurements' scan, which stops once every qubit is busy, finds
those of the full scan.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xihe import devices
from xihe.circuit import Gate, Operation
from xihe.circuit.register import ClassicalRegister
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes import NativeOptimizeLoop, blocks, swaps
from xihe.compiler.passes.blocks import BlockCounts, ConsolidateBlocks, block_unitary
from xihe.compiler.passes.blocks_kernel import sure_counts, sure_cx_needed
from xihe.compiler.passes.optimize import native_pieces, to_rows
from xihe.compiler.passes.schedule import terminal_measurements
from xihe.compiler.passes.swaps import ImplicitSwaps, swapped_synthesis
from xihe.compiler.passes.translate import BasisTranslation
from xihe.compiler.two_qubit import canonical, cx_needed

angles = st.floats(-7.0, 7.0, allow_nan=False)
_SWAP = np.eye(4, dtype=complex)[[0, 2, 1, 3]]


@st.composite
def source_lists(draw: st.DrawFn) -> list[Operation]:
    """What the passes before routing see: cx, cz, swap and one-qubit gates (Clifford angles often, so blocks sit
    on the boundaries between CX counts), with a measurement now and then."""
    n = draw(st.integers(2, 4))
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    special = st.sampled_from([0.0, math.pi / 2, -math.pi / 2, math.pi, math.pi / 4])
    ops: list[Operation] = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["cx", "cx", "cz", "swap", "rz", "ry", "rx", "h", "s", "u3", "measure"]))
        if kind in ("cx", "cz", "swap"):
            ops.append(Operation(Gate(kind), draw(st.sampled_from(pairs[: draw(st.integers(1, len(pairs)))]))))
        elif kind == "measure":
            q = draw(st.integers(0, n - 1))
            ops.append(Operation(Gate("measure"), (q,), (q,)))
        else:
            count = {"u3": 3, "h": 0, "s": 0}.get(kind, 1)
            params = tuple(draw(st.one_of(special, angles)) for _ in range(count))
            ops.append(Operation(Gate(kind, params), (draw(st.integers(0, n - 1)),)))
    return ops


def _without_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The passes as before the kernel's counts: every block found by the Python walk and multiplied out in NumPy."""
    monkeypatch.setattr(blocks.BlockCounts, "kept", lambda self, block: False)
    monkeypatch.setattr(blocks.BlockCounts, "swap_gains_nothing", lambda self, block: False)
    monkeypatch.setattr(blocks.BlockCounts, "no_block_gains_a_swap", lambda self: False)
    monkeypatch.setattr(blocks.BlockCounts, "undecided_blocks", lambda self: None)


@settings(max_examples=150, deadline=None)
@given(source_lists())
def test_passes_rewrite_as_without_the_counts(ops: list[Operation]) -> None:
    dag = DAGCircuit(ops, 1 + max(q for op in ops for q in op.qubits), [])
    consolidated = ConsolidateBlocks().run(dag, {}).ops
    props: dict[str, object] = {}
    swapped = ImplicitSwaps().run(dag, props).ops
    with pytest.MonkeyPatch.context() as patch:
        _without_counts(patch)
        assert ConsolidateBlocks().run(dag, {}).ops == consolidated
        plain_props: dict[str, object] = {}
        assert ImplicitSwaps().run(dag, plain_props).ops == swapped
        assert plain_props == props


def test_counts_decide_the_blocks_of_quantum_volume_layers() -> None:
    """Random SU(4) blocks (3 CX each, and with a swap folded in): all decided by the counts, none by NumPy."""
    rng = np.random.default_rng(7)
    ops: list[Operation] = []
    for layer in range(6):  # pairs (0, 1), (2, 3), (4, 5), then (1, 2), (3, 4), (5, 0): one block each
        for p in range(0, 6, 2):
            a, b = (p, p + 1) if layer % 2 == 0 else (p + 1, (p + 2) % 6)
            for _ in range(3):
                for q in (a, b):
                    ops.append(Operation(Gate("u3", tuple(float(x) for x in rng.uniform(-3, 3, 3))), (q,)))
                ops.append(Operation(Gate("cx"), (a, b)))
    counts = BlockCounts(ops)
    calls = {"consolidate": 0, "swap": 0}

    def count(name: str, f):  # type: ignore[no-untyped-def]
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls[name] += 1
            return f(*args, **kwargs)
        return wrapped

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ConsolidateBlocks, "_resynthesise", staticmethod(count("consolidate",
                                                                             ConsolidateBlocks._resynthesise)))
        patch.setattr(swaps, "swapped_synthesis", count("swap", swaps.swapped_synthesis))
        dag = DAGCircuit(ops, 6, [])
        assert ConsolidateBlocks().run(dag, {}).ops == ops
        assert ImplicitSwaps().run(dag, {}).ops == ops
    assert calls == {"consolidate": 0, "swap": 0}
    assert not counts.kept(list(range(0, 8)))  # not a block of the kernel's: the caller's way
    assert counts.no_block_gains_a_swap()  # ImplicitSwaps need not walk the circuit at all
    swap = [Operation(Gate("cx"), (0, 1)), Operation(Gate("cx"), (1, 0)), Operation(Gate("cx"), (0, 1))]
    assert not BlockCounts(ops + swap).no_block_gains_a_swap()
    assert ImplicitSwaps().run(DAGCircuit(ops + swap, 6, []), {}).ops == ops


def test_sure_cx_needed_agrees_where_it_answers() -> None:
    rng = np.random.default_rng(3)
    cases = [np.eye(4, dtype=complex), _SWAP, canonical(math.pi / 4, 0, 0), canonical(0.3, 0, 0.2),
             canonical(0.3, 0.2, 0.1), canonical(math.pi / 4, math.pi / 4, math.pi / 4), canonical(math.pi / 4, 0, 0.3)]
    for _ in range(40):
        z = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
        q, r = np.linalg.qr(z)
        cases.append(q * (np.diag(r) / abs(np.diag(r))))
    for u in cases:
        got = sure_cx_needed(np.ascontiguousarray(u))
        assert got == cx_needed(u)
        plain, swapped = sure_counts(np.array([u]), np.array([True]))
        assert (plain[0], swapped[0]) == (cx_needed(u), cx_needed(_SWAP @ u))


def test_sure_cx_needed_declines_at_a_tolerance() -> None:
    """N(a, b, c) with |Im tr gamma| about cx_needed's 1e-7: the kernel leaves it to NumPy."""
    def im_trace(c: float) -> float:
        u = canonical(0.3, 0.2, c)
        u = u / np.linalg.det(u) ** 0.25
        yy = np.kron([[0, -1j], [1j, 0]], [[0, -1j], [1j, 0]])
        return float(abs(np.trace(u @ yy @ u.T @ yy).imag))

    lo, hi = 0.0, 1e-6
    for _ in range(80):  # bisect c to where |Im t| crosses 1e-7
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if im_trace(mid) < 1e-7 else (lo, mid)
    assert sure_cx_needed(canonical(0.3, 0.2, lo)) == -1
    assert sure_cx_needed(canonical(0.3, 0.2, 0.0)) == 2
    assert sure_cx_needed(canonical(0.3, 0.2, 0.1)) == 3


@pytest.mark.parametrize("device", ["dongling", "grid36"])
def test_to_rows_reuses_pieces_as_one_by_one(device: str) -> None:
    """Repeated two-qubit gates (equal, as distinct objects) share their pieces and rows; the arrays are those of the
    pieces converted one by one."""
    target = devices.get(device).target
    translate = BasisTranslation(target)
    a, b = sorted(target.edges)[0]
    c, d = sorted(target.edges)[-1]
    ops = [Operation(Gate("cx"), (a, b)), Operation(Gate("u3", (0.1, 0.2, 0.3)), (a,)), Operation(Gate("cx"), (a, b)),
           Operation(Gate("swap"), (c, d)), Operation(Gate("cz"), (b, a)), Operation(Gate("swap"), (c, d)),
           Operation(Gate("measure"), (a,), (0,)), Operation(Gate("rz", (0.5,)), (b,), (), ("c", 1)),
           Operation(Gate("cx"), (b, a))]
    memo: dict[object, list[Operation]] = {}
    rows, sources = to_rows(ops, frozenset({"rz", "rx", "ry"}), translate, memo)
    assert len(memo) == 4  # cx (a, b), swap, cz, cx (b, a)
    assert native_pieces(Operation(Gate("cx"), (a, b)), translate, memo) is memo[("cx", (), (a, b))]
    expected_sources = [piece for op in ops for piece in native_pieces(op, translate, {})]
    assert sources == expected_sources
    plain, plain_sources = to_rows(expected_sources, frozenset({"rz", "rx", "ry"}))
    assert plain_sources == sources
    for got, want in zip(rows, plain, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert block_unitary is not None and swapped_synthesis is not None


def reference_terminal(dag: DAGCircuit) -> set[int]:
    """The terminal measurements by the full backward scan (the oracle)."""
    clbit_reg = {i: "c" for i in range(dag.num_clbits)}
    busy: set[int] = set()
    used_bits: set[int] = set()
    conditioned: set[str] = set()
    out: set[int] = set()
    for i in range(len(dag.ops) - 1, -1, -1):
        op = dag.ops[i]
        if (op.gate.name == "measure" and op.condition is None and op.qubits[0] not in busy
                and op.clbits[0] not in used_bits and clbit_reg.get(op.clbits[0]) not in conditioned):
            out.add(i)
        if op.condition is not None:
            conditioned.add(op.condition[0])
        if op.gate.name != "barrier":
            busy.update(op.qubits)
        if op.clbits:
            used_bits.update(op.clbits)
    return out


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_terminal_measurements_as_the_full_scan(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 4))
    ops: list[Operation] = []
    for _ in range(data.draw(st.integers(0, 25))):
        kind = data.draw(st.sampled_from(["measure", "measure", "cx", "rz", "barrier", "if_rz"]))
        q = data.draw(st.integers(0, n - 1))
        if kind == "measure":
            ops.append(Operation(Gate("measure"), (q,), (data.draw(st.integers(0, n - 1)),)))
        elif kind == "cx" and n > 1:
            ops.append(Operation(Gate("cx"), (q, (q + 1) % n)))
        elif kind == "barrier":
            ops.append(Operation(Gate("barrier", (), n), tuple(range(n))))
        else:
            ops.append(Operation(Gate("rz", (0.5,)), (q,), (), ("c", 1) if kind == "if_rz" else None))
    dag = DAGCircuit(ops, n + data.draw(st.integers(0, 2)), [ClassicalRegister("c", n)])
    assert terminal_measurements(dag) == reference_terminal(dag)


def test_block_resynthesis_with_a_template_added_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another candidate's thread may add a cx template between a run's snapshot of the templates' arrays and its use
    of them (seen in seed sweeps as a ValueError in the broadcast): the run keeps to its snapshot."""
    target = devices.get("grid36").target
    a, b = sorted(target.edges)[0]
    rng = np.random.default_rng(5)
    ops = [Operation(Gate("cx"), (a, b)), Operation(Gate("u3", tuple(float(x) for x in rng.uniform(-3, 3, 3))), (a,)),
           Operation(Gate("cx"), (a, b)), Operation(Gate("cx"), (a, b)), Operation(Gate("ry", (0.4,)), (b,))]
    dag = DAGCircuit(ops, target.num_qubits, [])
    expected = NativeOptimizeLoop(target).run(dag, {}).ops  # the block (3 CZ) needs 1: KAK's cx uses a template
    loop = NativeOptimizeLoop(target)
    templates = loop.blocks.templates
    snapshot_of = type(templates).arrays
    others = [edge for edge in sorted(target.edges) if edge != (a, b)]

    def arrays(self):  # type: ignore[no-untyped-def]
        snapshot = snapshot_of(self)
        self.get(*others[len(self.ops) % len(others)])  # another thread's template, after the snapshot
        return snapshot

    monkeypatch.setattr(type(templates), "arrays", arrays)
    assert loop.run(dag, {}).ops == expected
    assert len(templates.ops) >= 2
