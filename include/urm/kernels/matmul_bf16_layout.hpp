// The bfloat16 tile layouts shared by the fast-mode matmul kernels
// (AMX, AVX512-BF16 and the portable xsimd path), and the owning buffers that
// hold them: weights packed once at load, activations rounded once per call.
//
// Both operands are cut into tiles of 16 rows x 64 bytes = 512 bfloat16, the
// shape of one AMX tile register, each tile contiguous (1 KiB):
//
//   activations X [m, k]  ->  tiles A[m16][part][k32]   A tile: 16 rows x 32 k
//       A[mb][0][kb][r][c]  = hi = bf16(X[16 mb + r, 32 kb + c])
//       A[mb][p][kb][r][c]  = bf16(X − Σ_{q<p} A[mb][q])   (split activations, p < parts)
//
//   weights W [n, k]      ->  panels of 32 outputs, each two B tiles per k32:
//       B[nj][kb][h][p][c][e] = bf16(W[32 nj + 16 h + c, 32 kb + 2 p + e])
//       (p: k pair 0..15, c: output 0..15, e: 0/1 within the pair)
//
// B is the "VNNI" pair layout TDPBF16PS and VDPBF16PS both want: one 64-byte
// row holds, for 16 outputs, the two weights that meet one pair of x values,
// so a B tile row is exactly one zmm of VDPBF16PS operands too. A panel's
// tiles follow each other in k order, so streaming a panel through k reads
// memory sequentially.
//
// m is padded to 32, n to 32 and k to 32 with zeros: padded products are 0·0
// and padded outputs are never copied out, so kernels only see whole tiles.
//
// Split activations (parts > 1) keep about 8 more significant bits of x per
// part: with 2 parts, X = hi + lo exactly up to lo's own rounding (X − hi is
// exact in float32), 16 bits instead of 8, and the kernels accumulate
// hi · Wᵀ + lo · Wᵀ into the same float32 sums, each B tile loaded once for all
// parts. The part tiles of a row block are kt tiles apart, so a kernel reads
// part p of tile kb at + (p kt + kb) · 512.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "urm/core/cpu_features.hpp"
#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"

// Whether this compiler can build the x86 kernels (AMX, AVX512-BF16) with
// target attributes, whatever -march the program itself is compiled for.
#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 12 : (defined(__GNUC__) && __GNUC__ >= 11))
#define URM_HAVE_X86_BF16_KERNELS 1
#else
#define URM_HAVE_X86_BF16_KERNELS 0
#endif

#if URM_HAVE_X86_BF16_KERNELS
#include <immintrin.h>
#endif

namespace urm::detail {

inline constexpr std::size_t kTileRows = 16;        // rows of an A tile, outputs of a B tile
inline constexpr std::size_t kTileK = 32;           // k values per tile (64 bytes of bf16)
inline constexpr std::size_t kTileElems = 512;      // bf16 per tile
inline constexpr std::size_t kPanel = 32;           // outputs per weight panel (two B tiles)
inline constexpr std::size_t kMBlock = 32;          // activation rows per kernel block (two A tiles)

constexpr std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }

// An array that owns its memory, 64-byte aligned (cache lines, tile loads),
// and 2 MiB aligned on transparent huge pages when it is that large. Grows
// only when asked for more; contents are not preserved.
template <class T>
class AlignedArray {
 public:
  AlignedArray() = default;
  explicit AlignedArray(std::size_t n) { reserve(n); }

  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    const std::size_t bytes = n * sizeof(T);
    const std::size_t align = bytes >= kHugePage ? kHugePage : 64;
    data_ = std::unique_ptr<T, Free>(static_cast<T*>(::operator new[](bytes, std::align_val_t{align})), Free{align});
    capacity_ = n;
#if defined(__linux__)
    // Large buffers (packed weights, activations) on huge pages where the
    // system allows it: 512x fewer page faults when they are first written
    // (packing a weight took half the time) and fewer TLB misses when the
    // kernels stride through them. A hint only; failure does not matter.
    if (align == kHugePage) ::madvise(data_.get(), bytes, MADV_HUGEPAGE);
#endif
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t capacity() const { return capacity_; }

 private:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  struct Free {
    std::size_t align = 64;
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t{align}); }
  };
  std::unique_ptr<T, Free> data_;
  std::size_t capacity_ = 0;
};

// src[0, n) float32 -> dst[0, n) bfloat16, bit-identical to urm::f32_to_bf16
// (round to nearest even, NaN kept quiet, subnormals kept). Written without
// branches so the compiler vectorises it for whatever -march it is given.
// (VCVTNEPS2BF16 would be faster but flushes subnormal inputs to zero.)
inline void round_to_bf16(const float* src, std::uint16_t* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t u;
    std::memcpy(&u, src + i, 4);
    const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    const std::uint32_t quiet_nan = (u >> 16) | 0x40u;
    dst[i] = static_cast<std::uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
  }
}

// The split of src[0, n) into `count` bfloat16 parts: part 0 = bf16(x)
// exactly as round_to_bf16, part p = bf16(r_p) of the rest
// r_p = x − Σ_{q<p} f32(part q), computed exactly in float32 (r − bf16(r) is
// representable). Where a part is not finite (x is ±inf or NaN, or rounds
// past the largest bfloat16) the parts after it are 0, so their sum is what
// that part alone gives. n <= 32.
inline void split_to_bf16(const float* src, std::uint16_t* const* parts, std::size_t count, std::size_t n) {
  float rest[kTileK];
  std::memcpy(rest, src, 4 * n);
  for (std::size_t p = 0; p < count; ++p) {
    round_to_bf16(rest, parts[p], n);
    if (p + 1 == count) break;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t bits = std::uint32_t{parts[p][i]} << 16;
      float h;
      std::memcpy(&h, &bits, 4);
      rest[i] = (bits & 0x7f800000u) == 0x7f800000u ? 0.0f : rest[i] - h;
    }
  }
}

#if URM_HAVE_X86_BF16_KERNELS
// float16 -> float32 with F16C, 8 at a time (exact, like f16_to_f32:
// VCVTPH2PS widens subnormal halves to normal floats, whatever MXCSR says).
__attribute__((target("f16c,avx"))) inline void f16_to_f32_f16c(const std::byte* src, float* dst, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
  for (; i < n; ++i) {
    std::uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = f16_to_f32(h);
  }
}
#endif

// A row segment of a stored tensor (F32, F16 or BF16) -> bfloat16, n <= 256.
inline void row_to_bf16(const std::byte* src, DType dtype, std::uint16_t* dst, std::size_t n) {
  float tmp[256];
  switch (dtype) {
    case DType::BF16: std::memcpy(dst, src, 2 * n); return;
    case DType::F32:
      std::memcpy(tmp, src, 4 * n);
      round_to_bf16(tmp, dst, n);
      return;
    case DType::F16:
      // float16 -> float32 is exact, so rounding that to bf16 is the one
      // rounding a direct conversion would make.
#if URM_HAVE_X86_BF16_KERNELS
      if (cpu_features().can_f16c()) {
        f16_to_f32_f16c(src, tmp, n);
        round_to_bf16(tmp, dst, n);
        return;
      }
#endif
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        tmp[i] = f16_to_f32(h);
      }
      round_to_bf16(tmp, dst, n);
      return;
    case DType::I8:
    case DType::U8: break;
  }
}

}  // namespace urm::detail

namespace urm::kernels {

// W [n, k] converted once to bfloat16 in the panel layout above. Owns its
// aligned buffer; the model keeps these instead of the mapped
// weights in fast mode.
class PackedBf16Weights {
 public:
  PackedBf16Weights() = default;

  const std::string& name() const { return name_; }
  std::size_t n() const { return n_; }
  std::size_t k() const { return k_; }
  std::size_t n_panels() const { return detail::round_up(n_, detail::kPanel) / detail::kPanel; }
  std::size_t k_tiles() const { return detail::round_up(k_, detail::kTileK) / detail::kTileK; }
  std::size_t bytes() const { return 2 * n_panels() * k_tiles() * 2 * detail::kTileElems; }

  // First B tile of panel j (outputs 32 j .. 32 j + 31); tile (kb, h) is at
  // panel(j) + (2 kb + h) * 512.
  const std::uint16_t* panel(std::size_t j) const { return data_.data() + j * k_tiles() * 2 * detail::kTileElems; }

  // Weight [row, col] as stored in the packed layout (for tests and tools).
  std::uint16_t at(std::size_t row, std::size_t col) const {
    const std::size_t kb = col / detail::kTileK, c = col % detail::kTileK;
    const std::size_t h = (row % detail::kPanel) / detail::kTileRows;
    return panel(row / detail::kPanel)[(2 * kb + h) * detail::kTileElems + (c / 2) * 32 + (row % 16) * 2 + (c & 1)];
  }

 private:
  friend PackedBf16Weights pack_bf16(const TensorView& w, ThreadPool& pool);
  std::string name_;
  std::size_t n_ = 0, k_ = 0;
  detail::AlignedArray<std::uint16_t> data_;
};

// Converts a weight W [n, k] stored as F32, F16 or BF16 (round to nearest
// even; float16 goes to bfloat16 directly, never through a float32 copy).
// Parallel over panels of 32 rows.
inline PackedBf16Weights pack_bf16(const TensorView& w, ThreadPool& pool) {
  if (w.rank() != 2 || w.dim(0) <= 0 || w.dim(1) <= 0)
    throw Error("pack_bf16: weight " + w.name + " has shape " + shape_string(w.shape) +
                ", expected [n, k] with n, k > 0");
  if (w.dtype != DType::F32 && w.dtype != DType::F16 && w.dtype != DType::BF16)
    throw Error("pack_bf16: weight " + w.name + " has dtype " + std::string(dtype_name(w.dtype)) +
                ", expected F32, F16 or BF16");
  const std::size_t n = static_cast<std::size_t>(w.dim(0)), k = static_cast<std::size_t>(w.dim(1));
  if (k > SIZE_MAX / 4 / n)
    throw Error("pack_bf16: weight " + w.name + " has shape " + shape_string(w.shape) + ", too large to address");
  if (w.data == nullptr || w.nbytes != n * k * dtype_size(w.dtype))
    throw Error("pack_bf16: weight " + w.name + " holds " + std::to_string(w.nbytes) + " bytes, expected " +
                std::to_string(n * k * dtype_size(w.dtype)) + " for " + std::string(dtype_name(w.dtype)) + " " +
                shape_string(w.shape));

  PackedBf16Weights p;
  p.name_ = w.name;
  p.n_ = n;
  p.k_ = k;
  const std::size_t kt = p.k_tiles(), panel_elems = kt * 2 * detail::kTileElems;
  p.data_.reserve(p.n_panels() * panel_elems);
  std::uint16_t* out = p.data_.data();
  const std::size_t esize = dtype_size(w.dtype);

  // A panel 256 k at a time: convert its 32 rows into `rows`, then, per B
  // tile, transpose the 16 x 16 matrix of k pairs (32-bit words) so that each
  // tile row holds one pair of all 16 outputs.
  constexpr std::size_t kChunkTiles = 8;
  pool.parallel_for(p.n_panels(), [&](std::size_t j) {
    std::uint16_t rows[detail::kPanel][kChunkTiles * detail::kTileK];
    for (std::size_t kc = 0; kc < kt; kc += kChunkTiles) {
      const std::size_t tiles = std::min(kChunkTiles, kt - kc);
      const std::size_t len = std::min(k, detail::kTileK * (kc + tiles)) - detail::kTileK * kc;
      for (std::size_t o = 0; o < detail::kPanel; ++o) {
        const std::size_t r = detail::kPanel * j + o;
        std::fill(rows[o] + (r < n ? len : 0), rows[o] + tiles * detail::kTileK, std::uint16_t{0});
        if (r < n) detail::row_to_bf16(w.data + (r * k + detail::kTileK * kc) * esize, w.dtype, rows[o], len);
      }
      for (std::size_t t = 0; t < tiles; ++t)
        for (std::size_t h = 0; h < 2; ++h) {
          std::uint16_t* tile = out + j * panel_elems + (2 * (kc + t) + h) * detail::kTileElems;
          for (std::size_t q = 0; q < detail::kTileK / 2; ++q)
            for (std::size_t c = 0; c < detail::kTileRows; ++c)
              std::memcpy(tile + q * 32 + 2 * c, &rows[detail::kTileRows * h + c][t * detail::kTileK + 2 * q], 4);
        }
    }
  });
  return p;
}

inline PackedBf16Weights pack_bf16(const TensorView& w) {
  ThreadPool caller_only(1);
  return pack_bf16(w, caller_only);
}

// Reusable state of fast-mode matmuls: the current activations, rounded to
// bfloat16 in tile layout, whole (parts = 1) or split into `parts` parts
// (2: hi + lo), set once and multiplied by several weights (e.g. the q, k and v
// projections), and one float32 accumulator area per thread slot.
// Buffers only grow, so after the first call of a given size nothing is
// allocated. Not for concurrent use: one workspace per forward pass that can
// run at the same time as another.
struct Bf16Workspace {
  std::size_t m = 0, k = 0;                    // shape of the current activations
  std::size_t parts = 1;                       // 1: bf16(x); 2: hi = bf16(x), lo = bf16(x − hi); ...
  detail::AlignedArray<std::uint16_t> x;       // A tiles [m32 / 16][parts][k32 / 32][16][32]
  detail::AlignedArray<float> accumulators;    // per slot: C tiles of one work item
  detail::AlignedArray<float> x_f32;           // x widened to float32, same layout (generic kernel only)
  bool x_f32_current = false;                  // x_f32 holds the current activations

  std::size_t m_tiles() const { return detail::round_up(m, detail::kMBlock) / detail::kTileRows; }
  std::size_t k_tiles() const { return detail::round_up(k, detail::kTileK) / detail::kTileK; }
  // First A tile of row block mb (rows 16 mb .. 16 mb + 15); part p of tile
  // kb follows at + (p * k_tiles() + kb) * 512.
  const std::uint16_t* x_tiles(std::size_t mb) const {
    return x.data() + mb * parts * k_tiles() * detail::kTileElems;
  }
  // Activation [row, col] of a part as stored (bfloat16 bits), for tests and tools.
  std::uint16_t x_at(std::size_t row, std::size_t col, std::size_t part = 0) const {
    return x_tiles(row / detail::kTileRows)[(part * k_tiles() + col / detail::kTileK) * detail::kTileElems +
                                            (row % detail::kTileRows) * detail::kTileK + col % detail::kTileK];
  }
};

// Most parts x may be split into: 3 keep 24 significant bits, all of a float32.
inline constexpr std::size_t kMaxBf16Parts = 3;

// x [m, k] float32 -> ws (bfloat16, tile layout, zero padded): parts = 1
// rounds x once, more parts also store the rounded rests (see the split
// activations above). Parallel over blocks of 16 rows.
inline void set_activations_bf16(Bf16Workspace& ws, const float* x, std::size_t m, std::size_t k, ThreadPool& pool,
                                 std::size_t parts = 1) {
  if (k == 0) throw Error("set_activations_bf16: k = 0, expected k > 0");
  if (parts < 1 || parts > kMaxBf16Parts)
    throw Error("set_activations_bf16: parts = " + std::to_string(parts) + ", expected 1 to " +
                std::to_string(kMaxBf16Parts));
  ws.m = m;
  ws.k = k;
  ws.parts = parts;
  ws.x_f32_current = false;
  const std::size_t mt = ws.m_tiles(), kt = ws.k_tiles();
  ws.x.reserve(std::max<std::size_t>(1, mt * parts * kt * detail::kTileElems));
  std::uint16_t* out = ws.x.data();
  // Tile row r of part p for k tile kb: out + ((mb * parts + p) * kt + kb) * 512 + r * 32.
  pool.parallel_for(mt, [&](std::size_t mb) {
    for (std::size_t kb = 0; kb < kt; ++kb) {
      const std::size_t len = std::min(detail::kTileK, k - detail::kTileK * kb);
      for (std::size_t r = 0; r < detail::kTileRows; ++r) {
        const std::size_t row = detail::kTileRows * mb + r;
        std::uint16_t* part_rows[kMaxBf16Parts];
        for (std::size_t p = 0; p < parts; ++p)
          part_rows[p] = out + ((mb * parts + p) * kt + kb) * detail::kTileElems + r * detail::kTileK;
        const std::size_t valid = row < m ? len : 0;  // the rest of the tile row is padding
        if (valid > 0) detail::split_to_bf16(x + row * k + detail::kTileK * kb, part_rows, parts, valid);
        for (std::size_t p = 0; p < parts; ++p) std::fill(part_rows[p] + valid, part_rows[p] + detail::kTileK, std::uint16_t{0});
      }
    }
  });
}

}  // namespace urm::kernels
