// embedding — gather rows of the token-embedding table.
//   table : [vocab, dim] F32/F16/BF16;  ids : [n];  out : [n, dim] float32
// Rows are widened in registers straight from the (mapped) table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/kernels/convert.hpp"

namespace urm::kernels {

// (first_position: where ids[0] stands in the whole input, for the message
// of an id out of range when the caller looks up an input in parts.)
inline void embedding(const TensorView& table, const std::int32_t* ids, std::size_t n, float* out,
                      std::size_t first_position = 0) {
  if (table.rank() != 2)
    throw Error("embedding: table " + table.name + " has shape " + shape_string(table.shape) +
                ", expected [vocab, dim]");
  detail::require_float_dtype(table, "embedding: table ");
  const std::int64_t vocab = table.dim(0);
  const std::size_t dim = static_cast<std::size_t>(table.dim(1));
  detail::dispatch_float_dtype(table.dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    for (std::size_t t = 0; t < n; ++t) {
      if (ids[t] < 0 || ids[t] >= vocab)
        throw Error("token id " + std::to_string(ids[t]) + " at position " + std::to_string(first_position + t) +
                    " is out of range [0, " + std::to_string(vocab) + ")");
      detail::convert_f32<D>(table.data, static_cast<std::size_t>(ids[t]) * dim, dim, out + t * dim);
    }
  });
}

}  // namespace urm::kernels
