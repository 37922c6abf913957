// finite — whether float32 values are finite, and where a stored tensor
// first holds a value that is not (NaN or ±inf).
//
// The forward pass checks one row per layer (all_finite: cheap) and, only
// when that fails, looks through the weights for the cause
// (first_non_finite: a scan of whole tensors, on the error path only).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "urm/core/dtype.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/kernels/convert.hpp"

namespace urm::kernels {

// A float is finite unless its exponent bits are all ones. (A bit test
// rather than std::isfinite, so the loop vectorises without -ffast-math
// assumptions and sees NaN whatever the floating-point flags say.)
inline bool all_finite(const float* x, std::size_t n) {
  std::uint32_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= (std::bit_cast<std::uint32_t>(x[i]) & 0x7f800000u) == 0x7f800000u;
  return bad == 0;
}

struct NonFinite {
  std::size_t index = 0;  // element index, row-major
  float value = 0.0f;     // NaN, inf or -inf
};

// The first element of t (F32, F16 or BF16) that is not finite, if any;
// rows (the first dimension) in [row_begin, row_end) only when given.
inline std::optional<NonFinite> first_non_finite(const TensorView& t, std::size_t row_begin = 0,
                                                 std::size_t row_end = SIZE_MAX) {
  if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16) return std::nullopt;
  const std::size_t numel = static_cast<std::size_t>(t.numel());
  const std::size_t rows = t.rank() == 0 ? 1 : static_cast<std::size_t>(t.dim(0));
  const std::size_t row_elems = rows == 0 ? 0 : numel / rows;
  const std::size_t begin = std::min(row_begin, rows) * row_elems, end = std::min(row_end, rows) * row_elems;
  return detail::dispatch_float_dtype(t.dtype, [&](auto d) -> std::optional<NonFinite> {
    constexpr DType D = decltype(d)::value;
    std::vector<float> chunk(4096);
    for (std::size_t i0 = begin; i0 < end; i0 += chunk.size()) {
      const std::size_t len = std::min(chunk.size(), end - i0);
      detail::convert_f32<D>(t.data, i0, len, chunk.data());
      if (all_finite(chunk.data(), len)) continue;
      for (std::size_t i = 0; i < len; ++i)
        if (!std::isfinite(chunk[i])) return NonFinite{i0 + i, chunk[i]};
    }
    return std::nullopt;
  });
}

// "model.layers.3.mlp.up_proj.weight holds nan at [5, 17]".
inline std::string describe_non_finite(const TensorView& t, const NonFinite& at) {
  std::string index;
  std::size_t rest = at.index;
  for (std::size_t d = t.rank(); d-- > 0;) {
    const std::size_t extent = static_cast<std::size_t>(t.dim(d));
    index = std::to_string(rest % extent) + (index.empty() ? "" : ", ") + index;
    rest /= extent;
  }
  const std::string value = std::isnan(at.value) ? "nan" : (at.value > 0 ? "inf" : "-inf");
  return t.name + " holds " + value + " at [" + index + "]";
}

}  // namespace urm::kernels
