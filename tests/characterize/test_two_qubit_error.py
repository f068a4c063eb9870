"""The two-qubit error per gate comes from interleaved RB and recovers a known injected error (issue 16).

The model: CNOT with depolarizing noise of average gate infidelity 0.004, every u3 with 0.002. Standard two-qubit RB's
error per Clifford holds both (a two-qubit Clifford has about 1.5 CNOTs and 3.8 u3), so the old ``epg[0-1]``
(EPC / 1.5) read about 0.010; interleaved RB's ``gate_error`` isolates the CNOT and its 95% interval must contain
0.004 and exclude that old figure.
"""

from __future__ import annotations

from xihe import NoiseModel
from xihe.characterize.rb import InterleavedRB
from xihe.characterize.runners import simulator_runner
from xihe.engines.channels import depolarizing

CX_ERROR = 0.004
U3_ERROR = 0.002


def test_interleaved_rb_recovers_the_injected_cnot_error() -> None:
    noise = NoiseModel()
    # Average gate infidelity of depolarizing(p) on d = 2^n levels is p (d - 1) / d.
    noise.add_gate_error(depolarizing(CX_ERROR * 4 / 3, 2), "cx")
    noise.add_gate_error(depolarizing(U3_ERROR * 2, 1), "u3")
    result = InterleavedRB((0, 1), gate="cx", samples=6, seed=0).run(
        simulator_runner(noise, engine="density_matrix"), shots=1000, seed=0)
    error = result["gate_error[0-1]"]
    assert error.contains(CX_ERROR), error
    naive = result["epc[0-1]"].value / 1.5  # what epg[0-1] printed before
    assert naive > 2 * CX_ERROR and not error.contains(naive)
    assert "epg[0-1]" not in result.estimates  # standard 2q RB no longer charges 1q errors to the CNOT
