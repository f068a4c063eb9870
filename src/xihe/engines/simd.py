"""Vector operations that numba's loops do not express, written as portable LLVM IR.

A lane permute by a table (qsim's ``_mm512_permutexvar_ps``): LLVM's loop vectoriser turns ``b[j] = a[idx[j]]``
into a gather (or scalar loads), but the same permute written as a build of 16 extracted elements is lowered by
the x86 back end to one ``vpermps`` where AVX-512 is present (and to shuffles or scalar moves elsewhere, so the
code stays correct on any CPU).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

PERMUTE_LANES = 16


@intrinsic
def permute16(typingctx: Any, dst: Any, dst_off: Any, src: Any, src_off: Any, idx: Any, idx_off: Any) -> Any:
    """``dst[dst_off + j] = src[src_off + idx[idx_off + j]]`` for ``j < 16`` (``idx`` int32, entries < 16;
    the 16 source and destination elements must not overlap). No bounds checks: the caller owns the offsets."""
    sig = types.void(dst, dst_off, src, src_off, idx, idx_off)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        d_arr, doff, s_arr, soff, i_arr, ioff = args
        d = context.make_array(signature.args[0])(context, builder, d_arr)
        s = context.make_array(signature.args[2])(context, builder, s_arr)
        ix = context.make_array(signature.args[4])(context, builder, i_arr)
        vec = ir.VectorType(context.get_value_type(signature.args[2].dtype), PERMUTE_LANES)
        ivec = ir.VectorType(ir.IntType(32), PERMUTE_LANES)
        x = builder.load(builder.bitcast(builder.gep(s.data, [soff]), vec.as_pointer()), align=4)
        iv = builder.load(builder.bitcast(builder.gep(ix.data, [ioff]), ivec.as_pointer()), align=4)
        out = ir.Constant(vec, ir.Undefined)
        for j in range(PERMUTE_LANES):
            lane = ir.Constant(ir.IntType(32), j)
            out = builder.insert_element(out, builder.extract_element(x, builder.extract_element(iv, lane)), lane)
        builder.store(out, builder.bitcast(builder.gep(d.data, [doff]), vec.as_pointer()), align=4)
        return context.get_dummy_value()

    return sig, codegen
