"""Dump what Xihe's compiler makes of the larger set and QASMBench, to check that a speed change changes no result.

Every circuit of ``compiler.py --large`` and every QASMBench source of at most ``--max-qubits`` qubits is compiled
for each device at level 3 with seed 11 (as ``compiler.py`` does); the compiled QASM and the initial and final
layouts are written to a JSON file. Run it from two trees and diff the files:

    PYTHONPATH=<old tree>/src:<old tree>/benchmarks python benchmarks/compile_outputs.py dump old.json
    PYTHONPATH=src:benchmarks python benchmarks/compile_outputs.py dump new.json
    python benchmarks/compile_outputs.py diff old.json new.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _qasmbench import repair

from compiler import _fits, large_circuits, source_files
from xihe import devices, qasm


def dump(out: Path, device_names: list[str], max_qubits: int, seed: int) -> None:
    rows: dict[str, dict[str, object]] = {}
    started = time.perf_counter()
    for name in device_names:
        device = devices.get(name)
        width = len(device.target.components[0])
        items = [("large:" + n, t) for n, t in large_circuits(seed, width)]
        items += [("qasmbench:" + p.stem, repair(p.read_text())) for p in source_files(max_qubits)]
        for stem, text in items:
            if not _fits(text, device.target):
                continue
            compiled = device.compile(qasm.loads(text), optimization_level=3, seed=seed)
            rows[f"{name}/{stem}"] = {"qasm": qasm.dumps(compiled.circuit), "initial": list(compiled.initial_layout),
                                      "final": list(compiled.final_layout)}
    out.write_text(json.dumps(rows))
    print(f"{len(rows)} compiles in {time.perf_counter() - started:.0f} s")


def diff(a: Path, b: Path) -> int:
    old, new = json.loads(a.read_text()), json.loads(b.read_text())
    if old.keys() != new.keys():
        print("different circuits:", sorted(set(old) ^ set(new)))
        return 1
    changed = [k for k in old if old[k] != new[k]]
    print(f"{len(old)} compiles, {len(changed)} differ" + (f": {', '.join(changed)}" if changed else ""))
    return 1 if changed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="compile and write the outputs")
    d.add_argument("out", type=Path)
    d.add_argument("--devices", nargs="+", default=["dongling", "grid36"])
    d.add_argument("--max-qubits", type=int, default=27)
    d.add_argument("--seed", type=int, default=11)
    c = sub.add_parser("diff", help="compare two dumps")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.devices, args.max_qubits, args.seed)
    else:
        sys.exit(diff(args.old, args.new))


if __name__ == "__main__":
    main()
