// Test helpers for the kernels: random data, weights stored in any dtype, and
// the straightforward scalar references (double accumulation) each kernel is
// checked against.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "urm/core/cpu_features.hpp"
#include "urm/core/dtype.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/linear.hpp"

namespace urm::test {

inline std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& e : v) e = d(rng);
  return v;
}

// A weight tensor of the given shape and dtype holding `values` rounded to the
// dtype; `bytes` owns the storage (with `offset` bytes of padding in front, to
// test unaligned data as it occurs in safetensors files).
struct StoredTensor {
  std::vector<std::byte> bytes;
  urm::TensorView view;
};

inline StoredTensor store(const std::vector<float>& values, urm::DType dtype, std::vector<std::int64_t> shape,
                          std::size_t offset = 0, std::string name = "w") {
  StoredTensor t;
  const std::size_t es = urm::dtype_size(dtype);
  t.bytes.resize(offset + values.size() * es);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::byte* p = t.bytes.data() + offset + i * es;
    if (dtype == urm::DType::F32) {
      std::memcpy(p, &values[i], 4);
    } else {
      const std::uint16_t h = dtype == urm::DType::F16 ? urm::f32_to_f16(values[i]) : urm::f32_to_bf16(values[i]);
      std::memcpy(p, &h, 2);
    }
  }
  t.view.name = std::move(name);
  t.view.dtype = dtype;
  t.view.shape = std::move(shape);
  t.view.data = t.bytes.data() + offset;
  t.view.nbytes = values.size() * es;
  return t;
}

// q[o, j] of a packed int8 weight, read back from the panel layout (int8_weights.hpp).
inline std::int8_t int8_weight_q(const urm::kernels::PackedInt8Weights& w, std::size_t o, std::size_t j) {
  return w.panel(o / 16)[(j / 4) * 64 + 4 * (o % 16) + j % 4];
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

inline const urm::DType float_dtypes[] = {urm::DType::F32, urm::DType::F16, urm::DType::BF16};

// Every bf16 block kernel this machine can run, best first.
inline std::vector<urm::kernels::Bf16Kernel> runnable_bf16_kernels() {
  using urm::kernels::Bf16Kernel;
  std::vector<Bf16Kernel> ks;
  for (Bf16Kernel k : urm::kernels::kBf16Kernels)
    if (urm::kernels::bf16_kernel_available(k, urm::cpu_features())) ks.push_back(k);
  return ks;
}

// The bf16 paths with split activations (2 parts) on those kernels, best first.
inline std::vector<urm::kernels::LinearPath> bf16_paths(std::size_t parts = 2) {
  std::vector<urm::kernels::LinearPath> paths;
  for (urm::kernels::Bf16Kernel k : runnable_bf16_kernels())
    paths.push_back({urm::kernels::LinearKind::PackedBf16, k, parts});
  return paths;
}

// Every int8 block kernel this machine can run, best first.
inline std::vector<urm::kernels::Int8Kernel> runnable_int8_kernels() {
  std::vector<urm::kernels::Int8Kernel> ks;
  for (urm::kernels::Int8Kernel k : urm::kernels::kInt8Kernels)
    if (urm::kernels::int8_kernel_available(k, urm::cpu_features())) ks.push_back(k);
  return ks;
}

// C [rows][kInt8COutputs] of an int8 block kernel run over the k blocks
// [chain[i], chain[i + 1]) (the first one starting C), on `rows` virtual rows
// of `a` from row0 and the first `panels` panels of `w`. C starts as
// 0x5a5a5a5a, so what a kernel does not write shows.
inline std::vector<std::int32_t> run_int8_block_chain(urm::kernels::Int8Kernel kernel,
                                                      const urm::kernels::Int8Activations& a,
                                                      const urm::kernels::PackedInt8Weights& w, std::size_t row0,
                                                      std::size_t rows, std::size_t panels,
                                                      const std::vector<std::size_t>& chain) {
  std::vector<std::int32_t> c(rows * urm::detail::kInt8COutputs, 0x5a5a5a5a);
  for (std::size_t i = 0; i + 1 < chain.size(); ++i)
    urm::detail::int8_block_fn(kernel)({.a = a.row(row0),
                                        .a_stride = a.k_padded(),
                                        .rows = rows,
                                        .b = w.panel(0),
                                        .b_stride = w.panel_bytes(),
                                        .panels = panels,
                                        .bias = w.bias128(),
                                        .g0 = chain[i],
                                        .g1 = chain[i + 1],
                                        .c = c.data(),
                                        .first = i == 0});
  return c;
}

// The edges of the AMX-INT8 block kernel (16-row tiles, 2-panel steps,
// 16-group tiles): calls check(a, w, row0, rows, panels, chain), with those
// captured for doctest, for rows 8 … 64 (8-row remainders among them) from
// virtual row 8, 1 … 4 panels, and chains of k blocks over all 288 groups of
// a k = 1100 weight (the VNNI and AMX kernels start C at bias128, −128 Σ w
// over the whole k): the driver's 128-group blocks, one block, and ranges
// that are not whole tiles, a first block of fewer than 16 groups among
// them.
template <class Check>
void for_each_int8_block_edge(Check&& check) {
  std::mt19937 rng(11);
  urm::ThreadPool pool(1);
  const std::size_t n = 64, k = 1100, m = 80;
  const urm::kernels::PackedInt8Weights w =
      urm::kernels::pack_int8(store(random_floats(n * k, rng, 0.05f), urm::DType::BF16, {64, 1100}).view, pool);
  urm::kernels::Int8Activations a;
  const auto x = random_floats(m * k, rng);
  urm::kernels::quantize_activations(a, x.data(), m, k, pool, 1);
  REQUIRE(w.k_groups() == 288);
  const std::vector<std::vector<std::size_t>> chains = {
      {0, 128, 256, 288}, {0, 288}, {0, 5, 37, 288}, {0, 16, 19, 288}, {0, 3, 288}};
  for (std::size_t rows : {8u, 16u, 24u, 32u, 40u, 56u, 64u})
    for (std::size_t panels = 1; panels <= urm::detail::kInt8BlockPanels; ++panels)
      for (const auto& chain : chains) {
        CAPTURE(rows);
        CAPTURE(panels);
        CAPTURE(chain.size());
        CAPTURE(chain[1]);
        check(a, w, std::size_t{8}, rows, panels, chain);
      }
}

// Int8 mode's paths (its parts) on every int8 kernel this machine can run, best first.
inline std::vector<urm::kernels::LinearPath> int8_paths() {
  std::vector<urm::kernels::LinearPath> paths;
  for (urm::kernels::Int8Kernel k : runnable_int8_kernels())
    paths.push_back({.kind = urm::kernels::LinearKind::PackedInt8, .parts = 2, .int8_kernel = k});
  return paths;
}

}  // namespace urm::test
