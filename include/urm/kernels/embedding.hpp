// embedding — gather rows of the token-embedding table.
//   table : [vocab, dim] F32/F16/BF16;  ids : [n];  out : [n, dim] float32
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"

namespace urm::kernels {

inline void embedding(const TensorView& table, const std::int32_t* ids, std::size_t n, float* out) {
  const std::int64_t vocab = table.dim(0), dim = table.dim(1);
  for (std::size_t t = 0; t < n; ++t) {
    if (ids[t] < 0 || ids[t] >= vocab)
      throw Error("token id " + std::to_string(ids[t]) + " at position " + std::to_string(t) +
                  " is out of range [0, " + std::to_string(vocab) + ")");
    const std::size_t row = static_cast<std::size_t>(ids[t]) * static_cast<std::size_t>(dim);
    for (std::int64_t i = 0; i < dim; ++i) out[t * dim + i] = table.get_f32(row + i);
  }
}

}  // namespace urm::kernels
