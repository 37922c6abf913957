// TensorView — a typed, shaped, non-owning view of bytes (usually a region
// of a memory-mapped safetensors file). Views are cheap values; the owner of
// the bytes (a SafetensorsFile / Checkpoint) must outlive them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"

namespace urm {

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // row-major, outermost first
  const std::byte* data = nullptr;
  std::size_t nbytes = 0;

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  std::size_t rank() const { return shape.size(); }
  std::int64_t dim(std::size_t i) const { return shape.at(i); }

  // Element i as float32 (reference path; kernels read the bytes directly).
  float get_f32(std::size_t i) const {
    switch (dtype) {
      case DType::F32: {
        float v;
        std::memcpy(&v, data + 4 * i, 4);
        return v;
      }
      case DType::F16: {
        std::uint16_t h;
        std::memcpy(&h, data + 2 * i, 2);
        return f16_to_f32(h);
      }
      case DType::BF16: {
        std::uint16_t h;
        std::memcpy(&h, data + 2 * i, 2);
        return bf16_to_f32(h);
      }
      case DType::I8: return static_cast<float>(static_cast<std::int8_t>(data[i]));
      case DType::U8: return static_cast<float>(static_cast<std::uint8_t>(data[i]));
    }
    return 0.0f;
  }
};

// "[a, b, c]" — used in error messages and by urm-inspect.
inline std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// Throws urm::Error(dtype_mismatch(subject, …)) unless t is stored as one of `allowed`.
inline void require_dtype(const TensorView& t, DTypeSet allowed, const std::string& subject) {
  if (!allowed.contains(t.dtype)) throw Error(dtype_mismatch(subject, t.dtype, allowed));
}

// The checks a model makes of one of its weights, before any kernel reads it:
// the shape it expects and the dtypes it reads. Messages: `<where>tensor
// "<name>" has shape [a, b], expected [c, d]` and `<where>tensor "<name>" has
// dtype I8, expected F32, F16 or BF16`.
inline void check_tensor(const TensorView& t, const std::vector<std::int64_t>& shape, DTypeSet allowed,
                         const std::string& where) {
  if (t.shape != shape)
    throw Error(where + "tensor \"" + t.name + "\" has shape " + shape_string(t.shape) + ", expected " +
                shape_string(shape));
  require_dtype(t, allowed, where + "tensor \"" + t.name + "\"");
}

}  // namespace urm
