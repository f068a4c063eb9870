"""Fill numba's on-disk cache with every kernel the platform runs, once, in one low-priority background process.

Why: numba compiles a kernel on its first call in a process and keeps it in its on-disk cache (``cache=True``:
the ``__pycache__`` folders next to the kernels' modules, or ``NUMBA_CACHE_DIR``), which every later process of the
same install loads in milliseconds. On a fresh install the first job compiled for a chip twin used to pay for the
chip compiler's kernels (SABRE routing, the optimisation and KAK kernels) and the noisy engines' kernels inside the
worker: about a minute of wall time on a loaded machine, and because a twin runs one job at a time, the next job on
that chip waited too. A worker's own warm-up (:func:`xihe.service.worker.warm_up`) covers only the ``sim`` path,
so that the quickstart's first jobs are not delayed; this process does the rest in the background.

``xihe serve`` and ``xihe worker`` start it once (see :class:`~xihe.service.supervisor.WorkerSupervisor`), at the
lowest CPU priority (``supervisor.WARMER_NICENESS``), while their workers already claim jobs. A kernel that is
cached already costs it only the load; a failure is logged and ignored (warming is an optimisation; a real job
reports real errors).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from functools import partial

from xihe.circuit import Circuit
from xihe.devices.device import Device
from xihe.devices.plan import PlanOptions
from xihe.engines.base import SINGLE_PRECISION_ENGINES
from xihe.engines.kernels import SERIAL_MAX
from xihe.engines.simulate import simulate
from xihe.engines.small_state import SMALL_STATE_QUBITS
from xihe.errors import XiheError
from xihe.service.catalog import DeviceCatalog
from xihe.service.worker import set_parent_death_signal

log = logging.getLogger("xihe.warmer")
SHOTS = 8
# The engines with numba kernels that take a twin's full noise (the statevector engine runs ideal circuits, warmed on
# the simulators; the stabilizer engine is stim, nothing to compile).
NOISY_NUMBA_ENGINES = ("density_matrix", "trajectories", "mps")


def warm_circuits() -> list[Circuit]:
    """Small circuits that reach every compiler pass and engine kernel: a non-adjacent CX (routing), rotations to
    merge (one-qubit optimisation), a two-qubit block to resynthesise (KAK), a mid-circuit measurement and a reset
    (collapse and reset kernels)."""
    bell = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    plain = (Circuit(3, 3).h(0).t(0).cx(0, 2).rz(0.3, 2).rx(0.2, 1).cx(1, 2).cx(2, 1).cx(1, 2).ry(0.4, 1)
             .measure([0, 1, 2], [0, 1, 2]))
    dynamic = Circuit(2, 2).h(0).cx(0, 1).measure(0, 0).reset(0).h(0).measure([0, 1], [0, 1])
    return [bell, plain, dynamic]


def statevector_circuits() -> list[Circuit]:
    """GHZ chains with a T for the statevector engine's three paths: the small-state loop
    (:mod:`xihe.engines.small_state`), the fused kernels' serial variants just above it, and their parallel
    variants above :data:`~xihe.engines.kernels.SERIAL_MAX` amplitudes."""
    return [ghz_circuit(width) for width in (2, SMALL_STATE_QUBITS + 1, SERIAL_MAX.bit_length())]


def ghz_circuit(width: int) -> Circuit:
    """A GHZ chain of ``width`` qubits, a T on the last, every qubit measured."""
    circuit = Circuit(width, width).h(0)
    for qubit in range(width - 1):
        circuit.cx(qubit, qubit + 1)
    return circuit.t(width - 1).measure(list(range(width)), list(range(width)))


def _steps(catalog: DeviceCatalog) -> Iterator[tuple[str, Callable[[], object]]]:
    """Each warming step as (what, thunk); the twins first (their jobs wait longest for a cold kernel)."""
    twins = [catalog.get(name) for name in sorted(catalog.exclusive_names())]
    simulators = [catalog.get(name) for name in catalog.names() if name not in catalog.exclusive_names()]
    for device in [*twins, *simulators]:
        for index, circuit in enumerate(warm_circuits()):
            yield f"{device.name} circuit {index}", partial(_run_on_device, device, circuit)
    if twins:  # every engine on a twin's compact circuit under its noise, in each precision the engine offers
        planned = twins[0].plan(warm_circuits()[1], SHOTS).circuits[0]
        for name in NOISY_NUMBA_ENGINES:
            for precision in ("double", "single") if name in SINGLE_PRECISION_ENGINES else ("double",):
                yield f"{name} ({precision})", partial(simulate, planned.compact, SHOTS, seed=1, noise=planned.noise,
                                                       engine=name, precision=precision)
    for precision in ("double", "single"):
        for circuit in statevector_circuits():
            yield (f"statevector {circuit.num_qubits} qubits ({precision})",
                   partial(simulate, circuit, SHOTS, seed=1, engine="statevector", precision=precision))


def _run_on_device(device: Device, circuit: Circuit) -> None:
    """As a worker runs a job: plan (compile, choose the engine), then execute."""
    device.execute(device.plan(circuit, SHOTS, PlanOptions(seeds=(1,))))


def warm_all(catalog: DeviceCatalog | None = None) -> int:
    """Run every warming step; return how many failed (each is logged)."""
    failed = 0
    for what, step in _steps(catalog or DeviceCatalog()):
        try:
            step()
        except XiheError as refusal:  # a backend that takes no such circuit (Clifford-only): nothing to warm there
            log.debug("warming %s: %s", what, refusal)
        except Exception:
            failed += 1
            log.warning("warming %s failed", what, exc_info=True)
    return failed


def main() -> None:
    """Entry point of the background warmer (``python -m xihe.service.warmer``)."""
    logging.basicConfig(level=os.environ.get("XIHE_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s warmer %(process)d %(levelname)s %(message)s")
    set_parent_death_signal()  # a kill -9 of ``xihe serve`` ends the warmer too
    failed = warm_all()
    log.info("numba kernels warmed (%d step(s) failed)", failed)


if __name__ == "__main__":
    main()
