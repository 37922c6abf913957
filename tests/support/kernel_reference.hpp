// Test helpers for the kernels: random data, weights stored in any dtype, and
// the straightforward scalar references (double accumulation) each kernel is
// checked against.
#pragma once

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

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

inline const urm::DType float_dtypes[] = {urm::DType::F32, urm::DType::F16, urm::DType::BF16};

// Every bf16 block kernel this machine can run, best first.
inline std::vector<urm::kernels::Bf16Kernel> runnable_bf16_kernels() {
  using urm::kernels::Bf16Kernel;
  std::vector<Bf16Kernel> ks;
  for (Bf16Kernel k : {Bf16Kernel::Amx, Bf16Kernel::Avx512Bf16, Bf16Kernel::Generic})
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

// Int8 mode's paths (its parts) on every int8 kernel this machine can run, best first.
inline std::vector<urm::kernels::LinearPath> int8_paths() {
  std::vector<urm::kernels::LinearPath> paths;
  for (urm::kernels::Int8Kernel k : runnable_int8_kernels())
    paths.push_back({.kind = urm::kernels::LinearKind::PackedInt8, .parts = 2, .int8_kernel = k});
  return paths;
}

}  // namespace urm::test
