"""Reading a program is bounded: no file reads from loads() but the standard includes, width checked at the
declaration, expanded operations and definition nesting counted as they are read (issue 18)."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from xihe import qasm
from xihe.qasm import ParseLimits, QasmError, QasmLimitError

H = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
MIB = 1 << 20

_opened: list[str] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _opened is not None and event == "open" and not str(args[0]).endswith((".py", ".pyc")):
        _opened.append(str(args[0]))  # Python's own source files (imports, tracebacks) are not the program's


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one records only while a test asks it to


@pytest.fixture
def opened() -> Iterator[list[str]]:
    """The data files the interpreter opens while the test runs."""
    global _opened
    _opened = []
    try:
        yield _opened
    finally:
        _opened = None


def peak_bytes(action: Callable[[], object]) -> int:
    """The most memory Python held while ``action`` ran (it may raise)."""
    tracemalloc.start()
    try:
        action()
    except QasmError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def nested_bomb(levels: int) -> str:
    """Gate ``g{levels}`` expands to 2**levels ``x`` gates: 2^40 from about a kilobyte of text."""
    lines = [H, "qreg q[1];\ncreg c[1];\ngate g0 a { x a; x a; }\n"]
    lines += [f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}\n" for i in range(1, levels + 1)]
    lines.append(f"g{levels} q[0];\nmeasure q -> c;\n")
    return "".join(lines)


# --- includes ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["/etc/passwd", "/proc/self/environ", "../../etc/passwd", "lib.inc", "missing.inc"])
def test_loads_opens_no_file_for_an_include(name: str, opened: list[str]) -> None:
    with pytest.raises(QasmError) as info:
        qasm.loads(H + f'include "{name}";\nqreg q[1];\n')
    assert opened == []
    assert info.value.message.startswith(f"cannot include '{name}': loads() reads no files")


def test_an_existing_and_a_missing_file_give_the_same_answer(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2 is the password\n")
    answers = []
    for path in (secret, tmp_path / "absent.txt"):
        with pytest.raises(QasmError) as info:
            qasm.loads(H + f'include "{path}";\n')
        message = info.value.message.replace(str(path), "<name>")
        assert "hunter2" not in str(info.value)
        answers.append(message)
    assert answers[0] == answers[1]
    assert str(tmp_path) not in answers[0]


def test_standard_includes_are_built_in(opened: list[str]) -> None:
    for name in ("qelib1.inc", "stdgates.inc"):
        circuit = qasm.loads(f'OPENQASM 2.0;\ninclude "{name}";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\n')
        assert circuit.count_ops() == {"h": 1, "cx": 1}
    assert opened == []


def test_include_path_reads_only_names_inside_it(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "mine.inc").write_text("gate twice a { x a; x a; }\n")
    (tmp_path / "outside.inc").write_text("gate leak a { x a; }\n")
    assert qasm.loads(H + 'include "mine.inc";\nqreg q[1];\ntwice q[0];\n', include_path=[lib]).count_ops() == {
        "twice": 1}
    for name in ("../outside.inc", str(tmp_path / "outside.inc")):
        with pytest.raises(QasmError, match="inside the include path") as info:
            qasm.loads(H + f'include "{name}";\n', include_path=[lib])
        assert str(lib) not in str(info.value)


def test_an_error_inside_an_included_file_names_it_as_written_not_by_its_path(tmp_path: Path) -> None:
    (tmp_path / "bad.inc").write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(QasmError) as info:
        qasm.loads(H + 'include "bad.inc";\n', include_path=[tmp_path])
    assert info.value.filename == "bad.inc" and str(tmp_path) not in str(info.value)


# --- width before work -------------------------------------------------------------------------------------------

def test_a_register_wider_than_max_qubits_is_refused_at_its_declaration() -> None:
    program = H + "qreg q[1048576];\ncreg c[1];\n" + "h q;\n" * 6
    with pytest.raises(QasmLimitError) as info:
        qasm.loads(program, limits=ParseLimits(max_qubits=30))
    error = info.value
    assert (error.limit, error.allowed, error.found, error.line) == ("max_qubits", 30, 1048576, 3)
    assert "limit of 30 qubits" in error.message


def test_max_qubits_counts_every_register() -> None:
    assert qasm.loads(H + "qreg a[20];\nqreg b[10];\n", limits=ParseLimits(max_qubits=30)).num_qubits == 30
    with pytest.raises(QasmLimitError, match="brings the program to 31 qubits"):
        qasm.loads(H + "qreg a[20];\nqreg b[11];\n", limits=ParseLimits(max_qubits=30))


def test_a_wide_register_bomb_allocates_nothing_when_refused() -> None:
    program = H + "qreg q[1048576];\n" + "h q;\n" * 6
    peak = peak_bytes(lambda: qasm.loads(program, limits=ParseLimits(max_qubits=30)))
    assert peak < 2 * MIB, f"{peak / MIB:.1f} MiB"


def test_a_broadcast_over_the_operation_limit_is_refused_before_it_is_built() -> None:
    program = H + "qreg q[1048576];\nh q;\n"
    with pytest.raises(QasmLimitError) as info:
        qasm.loads(program, limits=ParseLimits(max_operations=100_000))
    assert (info.value.limit, info.value.allowed, info.value.found) == ("max_operations", 100_000, 1048576)
    peak = peak_bytes(lambda: qasm.loads(program, limits=ParseLimits(max_operations=100_000)))
    assert peak < 12 * MIB, f"{peak / MIB:.1f} MiB"  # the register's index table, not 2^20 operations


# --- expansion bound ---------------------------------------------------------------------------------------------

def test_nested_definitions_expanding_to_2_to_the_40_are_refused_by_default() -> None:
    program = nested_bomb(39)
    assert len(program) < 1500
    with pytest.raises(QasmLimitError) as info:
        qasm.loads(program)
    error = info.value
    assert error.limit == "max_operations" and error.found == 2**40 and error.line == program.count("\n") - 1
    assert f"limit of {error.allowed} operations per circuit (max_operations)" in error.message


def test_the_expanded_count_is_exact_on_both_parser_paths() -> None:
    # 2^4 x gates per g3 call, called by the fast path (g3 q[0];) and by broadcast (g3 q;), plus one measure.
    program = nested_bomb(3).replace("g3 q[0];", "g3 q[0];\ng3 q;")
    assert qasm.loads(program, limits=ParseLimits(max_operations=33)).count_ops() == {"g3": 2, "measure": 1}
    with pytest.raises(QasmLimitError):
        qasm.loads(program, limits=ParseLimits(max_operations=32))
    with pytest.raises(QasmLimitError):
        qasm.loads(program.replace("g3 q;\n", ""), limits=ParseLimits(max_operations=16))


def test_written_statements_count_one_each() -> None:
    program = H + "qreg q[2];\ncreg c[2];\n" + "h q[0];\ncx q[0],q[1];\n" * 50 + "measure q -> c;\nreset q;\n"
    assert len(qasm.loads(program, limits=ParseLimits(max_operations=104))) == 104
    with pytest.raises(QasmLimitError, match="more than 103 operations"):
        qasm.loads(program, limits=ParseLimits(max_operations=103))


def test_definition_nesting_is_bounded() -> None:
    with pytest.raises(QasmLimitError) as info:
        qasm.loads(nested_bomb(10), limits=ParseLimits(max_definition_depth=8))
    assert (info.value.limit, info.value.allowed, info.value.found) == ("max_definition_depth", 8, 9)


def test_unbounded_lifts_the_limits() -> None:
    assert qasm.loads(nested_bomb(39), limits=qasm.UNBOUNDED).count_ops() == {"g39": 1, "measure": 1}


def test_concurrent_parses_leave_the_garbage_collector_as_they_found_it() -> None:
    """The collector pause is counted across threads: however parses interleave, it ends enabled."""
    import gc
    import threading

    from xihe import qasm

    program = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[4];\n' + "h q;\ncx q[0],q[1];\n" * 2000
    assert gc.isenabled()
    start = threading.Barrier(8)

    def parse_some() -> None:
        start.wait()
        for _ in range(5):
            qasm.loads(program)

    threads = [threading.Thread(target=parse_some) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gc.isenabled()


@pytest.mark.parametrize("tail", ["", "(", " ", "[0]"])
def test_a_two_megabyte_name_that_is_no_statement_is_read_in_linear_time(tail: str) -> None:
    # A request body's worth of one name with no ';': the statement fast path once tried every split between a
    # gate's name and its first argument's, each rescanning the rest (8,000 x 'qubit' took 10-50 s; this size
    # would take hours). Linear now: this answers like any other undefined gate.
    program = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n' + "qubit" * 400_000 + tail
    with pytest.raises(QasmError, match=r"line 4, column 1: a name of 2000000 characters") as error:
        qasm.loads(program)
    assert len(str(error.value)) < 200  # the answer does not echo the name


def test_long_digit_and_blank_runs_are_read_in_linear_time() -> None:
    head = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n'
    with pytest.raises(QasmError, match="line 4"):
        qasm.loads(head + "u1(" + "1" * 1_000_000 + "x) q[0];\n")
    with pytest.raises(QasmError, match="line 4"):
        qasm.loads(head + "h" + " " * 1_000_000 + "x")
