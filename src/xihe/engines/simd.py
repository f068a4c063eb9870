"""Vector operations that numba's loops do not express, written as portable LLVM IR.

Three moves of 16 float32 lanes (one ``zmm`` register) that the register kernels of
:mod:`xihe.engines.lane_kernels` need around their products. Written as ``shufflevector`` with constant masks,
the x86 back end lowers each to one or two ``vpermt2ps``/``vshufps``/``vunpck`` where AVX-512 is present (and to
narrower shuffles elsewhere, so the code stays correct on any CPU). Numba's own loops would make them scalar
moves behind run-time alias checks (a slice of the state and a scratch buffer may overlap, as far as LLVM knows).

No bounds checks: the callers own the offsets.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

LANES = 16
# The lane bits (below this bit, an amplitude's index picks its lane within a vector of 16).
LANE_BITS = 4

_I32 = ir.IntType(32)


def _mask(values: list[int]) -> ir.Constant:
    return ir.Constant(ir.VectorType(_I32, len(values)), [ir.Constant(_I32, v) for v in values])


def _vec_ptr(builder: Any, data: Any, offset: Any, vec: ir.VectorType) -> Any:
    return builder.bitcast(builder.gep(data, [offset]), vec.as_pointer())


@intrinsic
def load_split(typingctx: Any, fs: Any, amp: Any, buf: Any, off_re: Any, off_im: Any) -> Any:
    """Amplitudes ``amp .. amp + 15`` of the interleaved state ``fs`` (float view, ``fs[2 a]`` real, ``fs[2 a + 1]``
    imaginary): real parts to ``buf[off_re:off_re + 16]``, imaginary parts to ``buf[off_im:off_im + 16]``."""
    sig = types.void(fs, amp, buf, off_re, off_im)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fs_arr, amp_v, buf_arr, ore, oim = args
        src = context.make_array(signature.args[0])(context, builder, fs_arr)
        dst = context.make_array(signature.args[2])(context, builder, buf_arr)
        vec = ir.VectorType(context.get_value_type(signature.args[0].dtype), LANES)
        start = builder.add(amp_v, amp_v)
        v0 = builder.load(_vec_ptr(builder, src.data, start, vec), align=4)
        v1 = builder.load(_vec_ptr(builder, src.data, builder.add(start, ir.Constant(start.type, LANES)), vec),
                          align=4)
        re = builder.shuffle_vector(v0, v1, _mask([2 * j for j in range(LANES)]))
        im = builder.shuffle_vector(v0, v1, _mask([2 * j + 1 for j in range(LANES)]))
        builder.store(re, _vec_ptr(builder, dst.data, ore, vec), align=4)
        builder.store(im, _vec_ptr(builder, dst.data, oim, vec), align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def store_merge(typingctx: Any, buf: Any, off_re: Any, off_im: Any, fs: Any, amp: Any) -> Any:
    """The inverse of :func:`load_split`: ``buf``'s 16 real and 16 imaginary parts back to amplitudes ``amp .. amp
    + 15`` of ``fs``, interleaved."""
    sig = types.void(buf, off_re, off_im, fs, amp)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        buf_arr, ore, oim, fs_arr, amp_v = args
        src = context.make_array(signature.args[0])(context, builder, buf_arr)
        dst = context.make_array(signature.args[3])(context, builder, fs_arr)
        vec = ir.VectorType(context.get_value_type(signature.args[0].dtype), LANES)
        re = builder.load(_vec_ptr(builder, src.data, ore, vec), align=4)
        im = builder.load(_vec_ptr(builder, src.data, oim, vec), align=4)
        half = LANES // 2
        v0 = builder.shuffle_vector(re, im, _mask([x for j in range(half) for x in (j, LANES + j)]))
        v1 = builder.shuffle_vector(re, im, _mask([x for j in range(half, LANES) for x in (j, LANES + j)]))
        start = builder.add(amp_v, amp_v)
        builder.store(v0, _vec_ptr(builder, dst.data, start, vec), align=4)
        builder.store(v1, _vec_ptr(builder, dst.data, builder.add(start, ir.Constant(start.type, LANES)), vec),
                      align=4)
        return context.get_dummy_value()

    return sig, codegen


def swap_masks(bit: int) -> tuple[list[int], list[int]]:
    """Shuffle masks (over the 32 lanes of ``a`` then ``b``) of :func:`swap_lane_bit` for lane bit ``bit``."""
    m = 1 << bit
    lo = [j if not j & m else LANES + (j ^ m) for j in range(LANES)]
    hi = [(j ^ m) if not j & m else LANES + j for j in range(LANES)]
    return lo, hi


@intrinsic
def swap_lane_bit(typingctx: Any, buf: Any, off_a: Any, off_b: Any, bit: Any) -> Any:
    """Exchange lane bit ``bit`` (< :data:`LANE_BITS`) with the bit that tells vector ``a`` (``buf[off_a:+16]``)
    from vector ``b`` (``buf[off_b:+16]``): afterwards ``a`` holds the lanes of both whose bit ``bit`` was 0
    (lane bit ``bit`` now saying which vector each came from) and ``b`` those whose bit was 1. Its own inverse.

    This is how a gate bit among the lowest four becomes a bit that picks whole vectors (qsim splits such runs
    by permutes too), so the products can broadcast one matrix entry to all lanes."""
    sig = types.void(buf, off_a, off_b, bit)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        buf_arr, oa, ob, bit_v = args
        arr = context.make_array(signature.args[0])(context, builder, buf_arr)
        vec = ir.VectorType(context.get_value_type(signature.args[0].dtype), LANES)
        pa = _vec_ptr(builder, arr.data, oa, vec)
        pb = _vec_ptr(builder, arr.data, ob, vec)
        va = builder.load(pa, align=4)
        vb = builder.load(pb, align=4)
        done = builder.append_basic_block("swap.done")
        switch = builder.switch(bit_v, done)
        for bit in range(LANE_BITS):
            block = builder.append_basic_block(f"swap.bit{bit}")
            switch.add_case(ir.Constant(bit_v.type, bit), block)
            with builder.goto_block(block):
                lo, hi = swap_masks(bit)
                builder.store(builder.shuffle_vector(va, vb, _mask(lo)), pa, align=4)
                builder.store(builder.shuffle_vector(va, vb, _mask(hi)), pb, align=4)
                builder.branch(done)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return sig, codegen
