// Linear — one projection y = x · Wᵀ, whatever storage W has.
//
//   x : [m, k] float32, a LinearInput
//   W : [n, k], a Linear (PyTorch Linear layout: one row per output)
//   y : [m, n] float32
//
// A Linear holds W in the storage of its path (LinearPath):
//   Stored      the checkpoint's F32/F16/BF16 bytes, used in place; float32
//               FMA with the weights widened in registers (matmul.hpp)
//   PackedBf16  bfloat16 panels packed once (bf16_weights.hpp); x rounded to
//               `parts` bfloat16 parts, products exact, sums in float32
//               (matmul_bf16.hpp, on the block kernel the path names); with
//               weight_parts = 2, float16 panels split into hi + lo bfloat16
//               as they are multiplied (W is not rounded)
//   PackedInt8  int8 with one scale per output channel (int8_weights.hpp);
//               x quantized per row into `parts` int8 parts, int32 sums
//               (matmul_int8.hpp, on the block kernel the path names)
// and linear(input, W, y, pool) runs the kernel of that path. Code that
// multiplies (the forward pass) never asks which: one line per projection.
//
// A LinearInput is one x, prepared once for every weight that reads it (q, k
// and v share one, gate and up another). The form a kind needs (bfloat16
// tiles of `parts` parts for PackedBf16, int8 rows of `parts` parts for
// PackedInt8) is made on first use and kept until
// set() gives the next x, so a forward pass never names the form either.
//
// pack_linear maps a Linear to the Linear of another path (fast mode packs
// the projections once at load); which path fast mode takes on this CPU is
// linear_dispatch.hpp's table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "urm/core/cpu_features.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/matmul.hpp"
#include "urm/kernels/matmul_bf16.hpp"
#include "urm/kernels/matmul_int8.hpp"

namespace urm::kernels {

// How W is stored and multiplied. A new kind (int8 with per-channel scales,
// ...) adds an enumerator here, its storage to Linear, its input form to
// LinearInput and a case to linear() and pack_linear(): the switches over
// LinearKind have no default, so the compiler (-Wswitch) lists every place.
enum class LinearKind : std::uint8_t {
  Stored,      // the stored F32/F16/BF16 weights in place, float32 arithmetic (exact)
  PackedBf16,  // bfloat16 panels, x split into `parts` bfloat16 parts, float32 sums
  PackedInt8,  // int8 panels with per-output scales, x per row in `parts` int8 parts, int32 sums
};

// A way to compute a Linear: its kind and, for packed kinds, the kernel and
// the number of parts x is split into (PackedBf16: x ≈ Σ_p part_p, part_p = bf16(x − Σ_{q<p} part_q):
// each part adds about 8 significant bits of x and one more product per weight;
// PackedInt8: 1 or 2 int8 parts per row, about 8 or 16 bits of the row's largest value).
struct LinearPath {
  LinearKind kind = LinearKind::Stored;
  Bf16Kernel bf16_kernel = Bf16Kernel::Generic;  // PackedBf16: the block kernel
  std::size_t parts = 1;                         // packed kinds: parts of x, >= 1
  Int8Kernel int8_kernel = Int8Kernel::Generic;  // PackedInt8: the block kernel
  // PackedBf16: bfloat16 parts of each weight. 1: W rounded to bfloat16 (as
  // it is, for BF16 weights); 2: float16 W = hi + lo exactly, hi times all
  // parts of x and lo times all but the last (needs parts >= 2).
  std::size_t weight_parts = 1;

  friend bool operator==(const LinearPath&, const LinearPath&) = default;
};

inline constexpr LinearPath kStoredPath{};  // exact mode

// "float32", "bf16x2-amx" (bf16 x <parts> parts on the amx kernel),
// "bf16x3w2-amx" (3 parts of x, float16 weights in 2 parts), ...
inline std::string linear_path_name(const LinearPath& p) {
  switch (p.kind) {
    case LinearKind::Stored: return "float32";
    case LinearKind::PackedBf16:
      return "bf16x" + std::to_string(p.parts) + (p.weight_parts == 1 ? "" : "w" + std::to_string(p.weight_parts)) +
             "-" + std::string(bf16_kernel_name(p.bf16_kernel));
    case LinearKind::PackedInt8:
      return "int8x" + std::to_string(p.parts) + "-" + std::string(int8_kernel_name(p.int8_kernel));
  }
  return "?";
}

// Whether this build and this CPU can run the path.
inline bool linear_path_available(const LinearPath& p, const CpuFeatures& f = cpu_features()) {
  switch (p.kind) {
    case LinearKind::Stored: return true;
    case LinearKind::PackedBf16:
      return p.parts >= 1 && p.parts <= kMaxBf16Parts &&
             (p.weight_parts == 1 || (p.weight_parts == 2 && p.parts >= 2)) &&
             bf16_kernel_available(p.bf16_kernel, f);
    case LinearKind::PackedInt8:
      return p.parts >= 1 && p.parts <= kMaxInt8Parts && int8_kernel_available(p.int8_kernel, f);
  }
  return false;
}

class LinearInput;

class Linear {
 public:
  Linear() = default;
  // A stored weight is a Linear of the Stored path (implicit: a checkpoint's
  // tensors load straight into Linear fields).
  Linear(TensorView stored) : stored_(std::move(stored)) {}  // NOLINT(google-explicit-constructor)

  // The tensor as stored: name, dtype and shape, and the bytes the Stored
  // path reads (a packed Linear keeps the view for its name and shape only).
  const TensorView& stored() const { return stored_; }
  const std::string& name() const { return stored_.name; }
  const LinearPath& path() const { return path_; }
  // Bytes of memory of its own (packed copies; 0 for a stored weight, which
  // lives in the checkpoint's map).
  // PackedInt8: the channels kept in float32 (none otherwise).
  Int8FloatChannels float_channels() const { return int8_ ? int8_->float_channels() : Int8FloatChannels{}; }
  std::size_t own_bytes() const { return (bf16_ ? bf16_->bytes() : 0) + (int8_ ? int8_->bytes() : 0); }

 private:
  friend Linear pack_linear(const Linear& w, const LinearPath& path, ThreadPool& pool,
                            const Int8FloatChannels& float_channels);
  friend void linear(LinearInput& in, const Linear& w, float* y, ThreadPool& pool);

  TensorView stored_;
  LinearPath path_;
  std::shared_ptr<const PackedBf16Weights> bf16_;  // PackedBf16 (shared: a Linear is a cheap value)
  std::shared_ptr<const PackedInt8Weights> int8_;  // PackedInt8
};

class LinearInput {
 public:
  // x [m, k] float32. x must stay valid and unchanged while this input is
  // multiplied (the forms made from it are kept until the next set()).
  void set(const float* x, std::size_t m, std::size_t k) {
    x_ = x;
    m_ = m;
    k_ = k;
    bf16_parts_ = 0;
    int8_parts_ = 0;
  }
  const float* data() const { return x_; }
  std::size_t rows() const { return m_; }
  std::size_t cols() const { return k_; }

 private:
  friend void linear(LinearInput& in, const Linear& w, float* y, ThreadPool& pool);

  // x as bfloat16 tiles in `parts` parts, converted on first use.
  Bf16Workspace& bf16(std::size_t parts, ThreadPool& pool) {
    if (bf16_parts_ != parts) {
      set_activations_bf16(bf16_, x_, m_, k_, pool, parts);
      bf16_parts_ = parts;
    }
    return bf16_;
  }

  // x quantized to int8 rows of `parts` parts with the float channels f, on
  // first use (weights that read one input have one channel set: they were
  // calibrated on that input).
  Int8Activations& int8(std::size_t parts, const std::vector<std::uint32_t>& f, ThreadPool& pool) {
    if (int8_parts_ != parts || int8_.float_channels != f) {
      quantize_activations(int8_, x_, m_, k_, pool, parts, f);
      int8_parts_ = parts;
    }
    return int8_;
  }

  const float* x_ = nullptr;
  std::size_t m_ = 0, k_ = 0;
  Bf16Workspace bf16_;
  std::size_t bf16_parts_ = 0;  // parts bf16_ holds for the current x; 0: not converted
  Int8Activations int8_;
  std::size_t int8_parts_ = 0;  // parts int8_ holds for the current x; 0: not quantized
};

// y [in.rows(), n] = x · Wᵀ on the path of w. Errors (a weight of another k,
// a kernel this CPU cannot run) are the kernels' own, naming the weight.
inline void linear(LinearInput& in, const Linear& w, float* y, ThreadPool& pool) {
  switch (w.path_.kind) {
    case LinearKind::Stored: matmul(in.x_, in.m_, in.k_, w.stored_, y, pool); return;
    case LinearKind::PackedBf16:
      matmul_bf16(in.bf16(w.path_.parts, pool), *w.bf16_, y, pool, w.path_.bf16_kernel);
      return;
    case LinearKind::PackedInt8:
      matmul_int8(in.int8(w.path_.parts, w.int8_->float_channels().inputs, pool), *w.int8_, y, pool,
                  w.path_.int8_kernel);
      return;
  }
}

// The Linear of `path` for w's stored tensor: w itself when it already has
// that path (and float channels), the stored view for kStoredPath, else a
// packed copy. float_channels: PackedInt8's channels kept in float32
// (int8_float_channels.hpp); other kinds take none. Throws if this CPU
// cannot run the path.
inline Linear pack_linear(const Linear& w, const LinearPath& path, ThreadPool& pool,
                          const Int8FloatChannels& float_channels = {}) {
  if (!float_channels.empty() && path.kind != LinearKind::PackedInt8)
    throw Error("pack_linear: path " + linear_path_name(path) + " for " + w.name() +
                " takes no float channels (only int8 paths do)");
  if (w.path_ == path && w.float_channels() == float_channels) return w;
  if (!linear_path_available(path))
    throw Error("pack_linear: path " + linear_path_name(path) + " for " + w.name() +
                " is not available on this machine (" + cpu_features().brand + ")");
  Linear out(w.stored_);
  out.path_ = path;
  switch (path.kind) {
    case LinearKind::Stored: break;
    case LinearKind::PackedBf16:
      out.bf16_ = std::make_shared<const PackedBf16Weights>(pack_bf16(w.stored_, pool, path.weight_parts));
      break;
    case LinearKind::PackedInt8:
      out.int8_ = std::make_shared<const PackedInt8Weights>(pack_int8(w.stored_, pool, float_channels));
      break;
  }
  return out;
}

}  // namespace urm::kernels
