// PackedLlamaLayer — the seven projection weights of one Llama layer in the
// form fast mode multiplies them: bfloat16 in the matmul_bf16 panel layout,
// converted once at load (a float16 or float32 checkpoint is rounded straight
// to bfloat16; no float32 copy of a weight is ever made).
//
// Memory: a packed weight is a copy, so the mapped bytes it was made from are
// dropped from the resident set right after packing (release_resident_pages).
// They stay in the page cache, which the kernel reclaims as it needs, and are
// not counted in RSS; peak RSS while loading is the packed weights plus one
// mapped weight.
#pragma once

#include "urm/core/mapped_file.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/matmul_bf16.hpp"

namespace urm {

struct PackedLlamaLayer {
  kernels::PackedBf16Weights wq, wk, wv, wo;  // self_attn.{q,k,v,o}_proj
  kernels::PackedBf16Weights w_gate, w_up, w_down;  // mlp.{gate,up,down}_proj

  std::size_t bytes() const {
    return wq.bytes() + wk.bytes() + wv.bytes() + wo.bytes() + w_gate.bytes() + w_up.bytes() + w_down.bytes();
  }
};

// pack_bf16(w), then, if w lies in a file map, its pages leave the resident set.
inline kernels::PackedBf16Weights pack_projection(const TensorView& w, ThreadPool& pool, bool file_mapped) {
  kernels::PackedBf16Weights packed = kernels::pack_bf16(w, pool);
  if (file_mapped) release_resident_pages(w.data, w.nbytes);
  return packed;
}

}  // namespace urm
