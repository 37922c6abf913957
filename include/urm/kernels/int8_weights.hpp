// PackedInt8Weights — a weight W [n, k] quantized once to int8 with one
// float32 scale per output channel: the storage of a PackedInt8 Linear.
//
// Symmetric per-row quantization: for output o,
//   scale[o] = max_j |W[o, j]| / 127,   q[o, j] = round(W[o, j] / scale[o]) ∈ [−127, 127]
// (−128 is never used: the AVX2 kernel's sign trick needs |q| ≤ 127), so
// W[o, j] ≈ scale[o] · q[o, j] with an error of at most scale[o] / 2.
// A row of zeros has scale 0; a row holding a NaN or an infinity gets scale
// NaN, so its outputs are NaN and the forward pass's finiteness check names
// the weight (as in exact mode) instead of scoring garbage.
//
// Layout (the int8 kernels', matmul_int8.hpp): panels of 16 outputs; k padded
// with zeros to a multiple of 64; within a panel, group g (k values 4g … 4g+3)
// is 64 bytes, output o's four values at bytes 4o … 4o+3. One group is one
// 512-bit VPDPBUSD operand (16 int32 lanes, each the dot product of 4 bytes),
// two 256-bit ones, and 16 groups are one AMX-INT8 B tile (16 rows x 64 bytes).
//
// bias128[o] = −128 · Σ_j q[o, j]: the VNNI kernels read activations as
// unsigned bytes x + 128 (VPDPBUSD multiplies u8 by s8) and start their sums
// at bias128, so that they end at Σ_j x_j q[o, j] exactly.
//
// Int32 sums are exact while k · 255 · 127 < 2^31, i.e. k ≤ 66311 (the widest
// Llama projection, 8B's down_proj, has k = 14336); a wider weight is refused.
//
// Float channels (int8_float_channels.hpp: channels with massive
// activations). Input channels I: their columns are 0 in the int8 matrix,
// the row scales come from the other columns only, and the columns are kept
// in float32, transposed: input_weights()[i · n + o] = W[o, I[i]], so that
// y[m, :] += x[m, I[i]] · input_weights()[i · n …] runs along n. Output
// channels O: their rows are 0 in the int8 matrix (scale 0, and 0 in
// input_weights) and kept whole in float32: output_weights()[i · k + j] =
// W[O[i], j].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "urm/core/aligned_buffer.hpp"
#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/bf16_tiles.hpp"  // round_up
#include "urm/kernels/convert.hpp"
#include "urm/kernels/int8_float_channels.hpp"

namespace urm::detail {

inline constexpr std::size_t kInt8Panel = 16;   // outputs per panel (int32 lanes of a zmm register)
inline constexpr std::size_t kInt8KAlign = 64;  // k padding (one AMX-INT8 tile row)
inline constexpr std::size_t kInt8GroupBytes = 4 * kInt8Panel;  // one k group of a panel
// Largest k whose int32 sums cannot overflow: 255 · 127 · k < 2^31.
inline constexpr std::size_t kInt8MaxK = (std::size_t{1} << 31) / (255 * 127);

}  // namespace urm::detail

namespace urm::kernels {

class PackedInt8Weights {
 public:
  PackedInt8Weights() = default;

  const std::string& name() const { return name_; }
  std::size_t n() const { return n_; }
  std::size_t k() const { return k_; }
  std::size_t k_padded() const { return detail::round_up(k_, detail::kInt8KAlign); }
  std::size_t k_groups() const { return k_padded() / 4; }
  std::size_t n_panels() const { return detail::round_up(n_, detail::kInt8Panel) / detail::kInt8Panel; }
  std::size_t panel_bytes() const { return detail::kInt8Panel * k_padded(); }
  std::size_t bytes() const {
    return n_panels() * (panel_bytes() + detail::kInt8Panel * 8) + float_.inputs.size() * (4 + n_ * 4) +
           float_.outputs.size() * (4 + k_ * 4);
  }

  // Panel j (outputs 16 j … 16 j + 15); group g at + 64 g.
  const std::int8_t* panel(std::size_t j) const { return data_.data() + j * panel_bytes(); }
  // Per output, padded to whole panels (padding: scale 0, bias 0).
  const float* scales() const { return scales_.data(); }
  const std::int32_t* bias128() const { return bias128_.data(); }
  // The float channels and their weights: [|I|, n] and [|O|, k] (top of this file).
  const Int8FloatChannels& float_channels() const { return float_; }
  const float* input_weights() const { return input_weights_.data(); }
  const float* output_weights() const { return output_weights_.data(); }

 private:
  friend PackedInt8Weights pack_int8(const TensorView& w, ThreadPool& pool, const Int8FloatChannels& float_channels);
  std::string name_;
  std::size_t n_ = 0, k_ = 0;
  AlignedBuffer<std::int8_t> data_;
  AlignedBuffer<float> scales_;
  AlignedBuffer<std::int32_t> bias128_;
  Int8FloatChannels float_;
  AlignedBuffer<float> input_weights_, output_weights_;
};

// Quantizes a weight W [n, k] stored as F32, F16 or BF16 (see the top of
// this file), keeping the columns float_channels.inputs (strictly ascending,
// < k) and the rows float_channels.outputs (strictly ascending, < n) in
// float32. Parallel over panels.
inline PackedInt8Weights pack_int8(const TensorView& w, ThreadPool& pool, const Int8FloatChannels& float_channels = {}) {
  const auto [n, k] = detail::checked_weight_shape(w, "pack_int8");
  if (k > detail::kInt8MaxK)
    throw Error("pack_int8: weight " + w.name + " has shape " + shape_string(w.shape) + ": k = " +
                std::to_string(k) + " is more than " + std::to_string(detail::kInt8MaxK) +
                ", where int32 sums of int8 products could overflow");
  check_float_channels(float_channels.inputs, k, "pack_int8: weight " + w.name);
  check_float_channels(float_channels.outputs, n, "pack_int8: weight " + w.name, "float output", "n");

  PackedInt8Weights p;
  p.name_ = w.name;
  p.n_ = n;
  p.k_ = k;
  p.float_ = float_channels;
  const std::vector<std::uint32_t>& fin = p.float_.inputs;
  const std::vector<std::uint32_t>& fout = p.float_.outputs;
  p.input_weights_.reserve(std::max<std::size_t>(1, fin.size() * n));
  p.output_weights_.reserve(std::max<std::size_t>(1, fout.size() * k));
  float* iw = p.input_weights_.data();
  float* ow = p.output_weights_.data();
  const std::size_t kp = p.k_padded(), panels = p.n_panels(), outputs = panels * detail::kInt8Panel;
  p.data_.reserve(panels * p.panel_bytes());
  p.scales_.reserve(outputs);
  p.bias128_.reserve(outputs);
  std::int8_t* out = p.data_.data();
  float* scales = p.scales_.data();
  std::int32_t* bias = p.bias128_.data();

  pool.parallel_for(panels, [&](std::size_t j) {
    std::vector<float> row(k);
    std::vector<std::int8_t> q(kp);
    std::int8_t* panel = out + j * p.panel_bytes();
    for (std::size_t o = 0; o < detail::kInt8Panel; ++o) {
      const std::size_t r = j * detail::kInt8Panel + o;
      std::fill(q.begin(), q.end(), std::int8_t{0});
      float scale = 0.0f;
      if (r < n) {
        detail::dispatch_float_dtype(w.dtype, [&](auto d) { detail::convert_f32<decltype(d)::value>(w.data, r * k, k, row.data()); });
        const auto fo = std::lower_bound(fout.begin(), fout.end(), r);
        if (fo != fout.end() && *fo == r) {  // a float output: the whole row in float32, none in int8
          std::copy_n(row.data(), k, ow + static_cast<std::size_t>(fo - fout.begin()) * k);
          std::fill(row.begin(), row.end(), 0.0f);
        }
        for (std::size_t i = 0; i < fin.size(); ++i) {
          iw[i * n + r] = row[fin[i]];
          row[fin[i]] = 0.0f;
        }
        float amax = 0.0f;
        bool finite = true;
        for (float v : row) {
          finite = finite && std::isfinite(v);
          amax = std::max(amax, std::abs(v));
        }
        if (!finite) {
          scale = std::numeric_limits<float>::quiet_NaN();
        } else if (amax > 0.0f) {
          scale = amax / 127.0f;
          const float inv = 127.0f / amax;
          for (std::size_t i = 0; i < k; ++i)
            q[i] = static_cast<std::int8_t>(std::clamp(std::nearbyint(row[i] * inv), -127.0f, 127.0f));
        }
      }
      std::int32_t sum = 0;
      for (std::size_t i = 0; i < kp; ++i) sum += q[i];
      scales[r] = scale;
      bias[r] = -128 * sum;
      for (std::size_t g = 0; g < kp / 4; ++g)
        for (std::size_t i = 0; i < 4; ++i) panel[g * detail::kInt8GroupBytes + 4 * o + i] = q[4 * g + i];
    }
  });
  return p;
}

inline PackedInt8Weights pack_int8(const TensorView& w, const Int8FloatChannels& float_channels = {}) {
  ThreadPool caller_only(1);
  return pack_int8(w, caller_only, float_channels);
}

}  // namespace urm::kernels
