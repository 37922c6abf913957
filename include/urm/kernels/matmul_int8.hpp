// matmul_int8 — the int8 matmul of a PackedInt8 Linear:
//
//   y[m, n] = sw[n] · Σ_p s_p[m] · acc_p[m, n],   acc_p[m, n] = Σ_j q_p[m, j] · qw[n, j]  (int32, exact)
//
// with W quantized once per output channel (int8_weights.hpp: qw, sw) and x
// per row in 1 or 2 int8 parts (int8_activations.hpp: q_p, s_p), plus, for
// the weight's float channels (int8_float_channels.hpp), in float32:
//
//   y[m, n] += x[m, c] · W[n, c]   for input channels c ∈ I in ascending order (fma)
//   y[m, o] += Σ_j x[m, j] W[o, j]  for output channels o ∈ O (a dot product)
//
// (I's columns and O's rows are 0 in qw, I's channels 0 in q_p). The int32
// sums come from a block kernel chosen at run time (matmul_int8_amx.hpp:
// amx_int8; matmul_int8_blocks.hpp: avx512_vnni, avx_vnni, avx2, generic);
// the float epilogue is this file's,
// the same code for every kernel.
//
// Blocking: work items of 32 rows (64 virtual rows with two parts) x 64
// outputs (4 panels), ordered so that consecutive items share the outputs and
// their weights (64 · k bytes) stay in L2 while the rows go by; within an
// item, k blocks of 512 k values (the block kernel's B slice, 2 panels x 16 x
// 512 bytes = 16 KiB, and an 8-row A slice stay in L1) accumulate into a
// per-thread int32 area C [virtual rows][64].
//
// Order of operations (batch invariance): the int32 sums are exact, so they
// do not depend on the order of additions at all; the epilogue computes each
// y[i, j] by the same float operations on (sw[j], s_p[i], acc_p[i, j]),
// whatever the row's position, the number of rows, the thread or the kernel,
// and then adds the float channels' products in one fixed order. So a row gives the same bits alone, in any batch, for any number of
// threads, and on every int8 kernel.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "urm/core/cpu_features.hpp"
#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/int8_activations.hpp"
#include "urm/kernels/int8_weights.hpp"
#include "urm/kernels/matmul_int8_amx.hpp"
#include "urm/kernels/matmul_int8_blocks.hpp"
#include "urm/kernels/simd.hpp"

namespace urm::kernels {

enum class Int8Kernel : std::uint8_t { Generic, Avx2, AvxVnni, Avx512Vnni, AmxInt8 };

// Fastest first. amx_int8 is first by its throughput (16 x 16 x 64
// multiply-adds per TDPBUSD against 16 x 4 per VPDPBUSD zmm), not by a
// measurement: no AMX machine was available to run it.
inline constexpr Int8Kernel kInt8Kernels[] = {Int8Kernel::AmxInt8, Int8Kernel::Avx512Vnni, Int8Kernel::AvxVnni,
                                              Int8Kernel::Avx2, Int8Kernel::Generic};

constexpr std::string_view int8_kernel_name(Int8Kernel kernel) {
  switch (kernel) {
    case Int8Kernel::Generic: return "generic";
    case Int8Kernel::Avx2: return "avx2";
    case Int8Kernel::AvxVnni: return "avx_vnni";
    case Int8Kernel::Avx512Vnni: return "avx512_vnni";
    case Int8Kernel::AmxInt8: return "amx_int8";
  }
  return "?";
}

// Whether this build carries the kernel and the CPU and OS let it run.
inline bool int8_kernel_available(Int8Kernel kernel, const CpuFeatures& f) {
  switch (kernel) {
    case Int8Kernel::Generic: return true;
    case Int8Kernel::Avx2: return URM_HAVE_X86_KERNELS && f.can_avx2();
    case Int8Kernel::AvxVnni: return URM_HAVE_X86_KERNELS && f.can_avx_vnni();
    case Int8Kernel::Avx512Vnni: return URM_HAVE_X86_KERNELS && f.can_avx512_vnni();
    case Int8Kernel::AmxInt8: return URM_HAVE_X86_KERNELS && f.can_amx_int8();
  }
  return false;
}

inline Int8Kernel best_int8_kernel(const CpuFeatures& f = cpu_features()) {
  for (Int8Kernel k : kInt8Kernels)
    if (int8_kernel_available(k, f)) return k;
  return Int8Kernel::Generic;
}

}  // namespace urm::kernels

namespace urm::detail {

inline constexpr std::size_t kInt8ItemRows = 32;       // real rows per work item
inline constexpr std::size_t kInt8KBlockGroups = 128;  // k groups (of 4) per k block: 512 k values
static_assert(kInt8KBlockGroups % kAmxInt8Groups == 0, "k blocks are whole AMX-INT8 tiles");

using Int8BlockFn = void (*)(const Int8Block&);

inline Int8BlockFn int8_block_fn(kernels::Int8Kernel kernel) {
#if URM_HAVE_X86_KERNELS
  switch (kernel) {
    case kernels::Int8Kernel::AmxInt8: return &amx_int8_block;
    case kernels::Int8Kernel::Avx512Vnni: return &avx512_vnni_int8_block;
    case kernels::Int8Kernel::AvxVnni: return &avx_vnni_int8_block;
    case kernels::Int8Kernel::Avx2: return &avx2_int8_block;
    case kernels::Int8Kernel::Generic: break;
  }
#else
  (void)kernel;
#endif
  return &generic_int8_block;
}

// y[r, col … col + count) from C rows of row r (its parts at c, c + 64, …).
inline void int8_epilogue(const std::int32_t* c, const float* row_scales, std::size_t parts, const float* w_scales,
                          float* y, std::size_t count) {
  if (parts == 1) {
    const float s0 = row_scales[0];
    for (std::size_t j = 0; j < count; ++j) y[j] = w_scales[j] * (s0 * static_cast<float>(c[j]));
  } else {
    const float s0 = row_scales[0], s1 = row_scales[1];
    const std::int32_t* c1 = c + kInt8COutputs;
    // An explicit fma: left to the compiler, a contraction could differ
    // between the vectorised loop and its tail.
    for (std::size_t j = 0; j < count; ++j)
      y[j] = w_scales[j] * std::fma(s1, static_cast<float>(c1[j]), s0 * static_cast<float>(c[j]));
  }
}

// Σ_j a[j] b[j], in simd_width lanes then a scalar tail: the same order for
// every call of one n.
inline float dot(const float* a, const float* b, std::size_t n) {
  const std::size_t nv = n - n % simd_width;
  fbatch acc(0.0f);
  for (std::size_t j = 0; j < nv; j += simd_width)
    acc = detail::fma(fbatch::load_unaligned(a + j), fbatch::load_unaligned(b + j), acc);
  float s = xsimd::hadd(acc);
  for (std::size_t j = nv; j < n; ++j) s = std::fma(a[j], b[j], s);
  return s;
}

// The float32 part of row x's outputs col … col + count − 1 (y: their int8
// part; int8_float_channels.hpp): y[j] += x[c] · W[j, c] for the input
// channels c = I[i] in order, then, for each output o ∈ O in the range,
// y[o] += Σ_j x[j] · W[o, j] (one dot product, the same order for every row).
inline void float_channel_epilogue(const float* x, std::size_t k, const kernels::PackedInt8Weights& w, std::size_t col,
                                   float* y, std::size_t count) {
  const kernels::Int8FloatChannels& f = w.float_channels();
  const std::size_t n = w.n();
  for (std::size_t i = 0; i < f.inputs.size(); ++i) {
    const float xc = x[f.inputs[i]];
    const float* wc = w.input_weights() + i * n + col;
    for (std::size_t j = 0; j < count; ++j) y[j] = std::fma(xc, wc[j], y[j]);
  }
  const auto first = std::lower_bound(f.outputs.begin(), f.outputs.end(), col);
  for (auto o = first; o != f.outputs.end() && *o < col + count; ++o) {
    const float* wo = w.output_weights() + static_cast<std::size_t>(o - f.outputs.begin()) * k;
    y[*o - col] += dot(x, wo, k);
  }
}

}  // namespace urm::detail

namespace urm::kernels {

// y [a.m, w.n()] = x · Wᵀ on the given kernel (default: the best this
// machine runs). Throws if the kernel cannot run here or k differs.
inline void matmul_int8(Int8Activations& a, const PackedInt8Weights& w, float* y, ThreadPool& pool,
                        Int8Kernel kernel = best_int8_kernel()) {
  using namespace urm::detail;
  if (a.k != w.k())
    throw Error("matmul_int8: activations have k = " + std::to_string(a.k) + " but weight " + w.name() +
                " was packed with k = " + std::to_string(w.k()));
  if (a.float_channels != w.float_channels().inputs)
    throw Error("matmul_int8: activations were quantized with " + std::to_string(a.float_channels.size()) +
                " float channels, not with the " + std::to_string(w.float_channels().inputs.size()) + " of weight " +
                w.name());
  if (!int8_kernel_available(kernel, cpu_features()))
    throw Error("matmul_int8: kernel " + std::string(int8_kernel_name(kernel)) + " is not available on this machine (" +
                cpu_features().brand + ")");
  if (a.m == 0) return;
  const Int8BlockFn block = int8_block_fn(kernel);
  const std::size_t m = a.m, n = w.n(), parts = a.parts, groups = w.k_groups();
  const std::size_t m_items = (a.m_padded() + kInt8ItemRows - 1) / kInt8ItemRows;
  const std::size_t n_items = (w.n_panels() + kInt8BlockPanels - 1) / kInt8BlockPanels;
  const std::size_t items = m_items * n_items, slots = std::min(pool.size(), items);
  const std::size_t slot_ints = kInt8ItemRows * parts * kInt8COutputs;
  a.accumulators.reserve(slots * slot_ints);
  std::atomic<std::size_t> next_item{0};
  pool.parallel_for(slots, [&](std::size_t slot) {
    std::int32_t* c = a.accumulators.data() + slot * slot_ints;
    for (std::size_t item; (item = next_item.fetch_add(1, std::memory_order_relaxed)) < items;) {
      const std::size_t row0 = (item % m_items) * kInt8ItemRows;
      const std::size_t rows = std::min(kInt8ItemRows, a.m_padded() - row0);
      const std::size_t panel0 = (item / m_items) * kInt8BlockPanels;
      const std::size_t panels = std::min(kInt8BlockPanels, w.n_panels() - panel0);
      for (std::size_t g0 = 0; g0 < groups; g0 += kInt8KBlockGroups)
        block({.a = a.row(row0 * parts),
               .a_stride = a.k_padded(),
               .rows = rows * parts,
               .b = w.panel(panel0),
               .b_stride = w.panel_bytes(),
               .panels = panels,
               .bias = w.bias128() + panel0 * kInt8Panel,
               .g0 = g0,
               .g1 = std::min(groups, g0 + kInt8KBlockGroups),
               .c = c,
               .first = g0 == 0});
      const std::size_t col0 = panel0 * kInt8Panel, cols = std::min(n, col0 + panels * kInt8Panel) - col0;
      for (std::size_t r = 0; r < rows && row0 + r < m; ++r) {
        float* yr = y + (row0 + r) * n + col0;
        int8_epilogue(c + r * parts * kInt8COutputs, a.scales.data() + (row0 + r) * parts, parts, w.scales() + col0,
                      yr, cols);
        if (!w.float_channels().empty()) float_channel_epilogue(a.x + (row0 + r) * a.k, a.k, w, col0, yr, cols);
      }
    }
  });
}

// One-shot form: quantizes x [m, k] into a (with w's float channels), then multiplies.
inline void matmul_int8(const float* x, std::size_t m, std::size_t k, const PackedInt8Weights& w, float* y,
                        ThreadPool& pool, Int8Activations& a, std::size_t parts,
                        Int8Kernel kernel = best_int8_kernel()) {
  quantize_activations(a, x, m, k, pool, parts, w.float_channels().inputs);
  matmul_int8(a, w, y, pool, kernel);
}

}  // namespace urm::kernels
