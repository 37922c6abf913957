// Which LinearPath each compute mode takes on this CPU, and the description
// `urm-inspect --cpu`, `urm-score --stats` and the benchmarks print.
//
// Exact mode keeps float32-level accuracy (parity 1e-4 with the reference on
// every fixture). It takes kStoredPath (float32 FMA on the stored weights:
// the reference's arithmetic) except for BF16 and F16 weights on a CPU with
// AMX, where it takes bf16x3-amx (kExactModeBf16Paths) or bf16x3w2-amx
// (kExactModeF16Paths). The BF16 path loses nothing:
//   - a BF16 weight is packed as it is (no rounding);
//   - x is split into three bfloat16 parts, x = x0 + x1 + x2 + r with
//     x_p = bf16(x − Σ_{q<p} x_q): each part carries the next 8 significant
//     bits, so |r| ≤ 2⁻²⁴·|x| is below float32's own rounding of x
//     (tests/kernels/test_matmul_bf16.cpp);
//   - each product x_p · w of two bfloat16 values is exact in float32;
// so the only rounding is that of the float32 sums, as in the FMA path, in
// another order (three times as many terms, each smaller). Measured on the
// 1B shape against the FMA path: benchmarks/RESULTS.md, "Exact mode on AMX".
// Three products per weight still win: an AMX tile unit does 512 bf16
// multiply-adds per cycle where two AVX-512 FMA ports do 32 float32 ones.
// The F16 path loses nothing that matters at float32 precision:
//   - a float16 weight is exactly hi + lo, two bfloat16 values (11
//     significant bits: lo has at most 3); the panels keep the float16 bits
//     (2 bytes a weight, as stored) and the matmul splits them per k block
//     (matmul_bf16.hpp), since storing both halves would take 4 bytes a
//     weight (32 GB for an 8B checkpoint);
//   - x in three parts as above; hi meets all three, lo the first two. The
//     one product left out, x2 · lo, has |x2| ≤ 2⁻¹⁶|x| and |lo| ≤ 2⁻⁹|w|:
//     under 2⁻²⁴ |x w|, with the rest r below float32's rounding too;
//   - so 5 exact products per weight, summed in float32: five roundings of
//     the running sums where the FMA path has one, measured on the 1B shape
//     at 2.3-3x the FMA path's own rounding noise (max 4.4e-5 on scores of
//     std 0.98; benchmarks/RESULTS.md, "Float16 checkpoints").
// Five tile products still beat float32 FMA by the tile unit's margin (512
// against 32 multiply-adds per cycle). Neither AMX path has run on an AMX
// machine yet for speed; their arithmetic is tested on every machine with
// the other bf16 kernels (tests/model/test_model_parity.cpp). F32 weights
// are not bfloat16 sums of few parts: the float32 path.
//
// Fast mode takes the first path of kFastModePaths (kFastModeF16Paths for
// F16 weights, whose bf16x2w2-amx keeps the weights exact: see there) that
// this build and CPU can run (linear_path_available).
// Every path in that table keeps fast mode's accuracy contract (scores
// within 0.02 of exact on the fixtures, tests/model/test_fast_mode.cpp), and
// the table is ordered by measured speed (benchmarks/RESULTS.md):
//
//   bf16x2-amx  bf16 on AMX tiles, x split in hi + lo: several times exact
//               mode's tokens/s on Sapphire Rapids
//   float32     exact mode's path: the fastest correct one without AMX. The
//               AVX512-BF16 kernel (VDPBF16PS) does 32 multiply-adds per
//               instruction where a float32 FMA does 16, but split inputs
//               need two products per weight, so at best it ties with
//               float32, and measured it is well below it; the generic bf16
//               kernel emulates bf16 with float32 FMAs, twice the work. One
//               rounding of x (bf16x1) would be faster but misses the 0.02
//               contract.
//
// Int8 mode takes the first path of kInt8ModePaths this build and CPU can
// run: int8 weights with per-channel scales, x per row in 2 int8 parts (hi +
// lo, about 16 bits: one part misses Spearman 0.999 on the random 1B shape,
// benchmarks/RESULTS.md "Int8 mode"), on the fastest int8 block kernel
// (AMX-INT8, AVX512-VNNI, AVX-VNNI, AVX2, generic), with each projection's
// massive channels in float32 (int8_float_channels.hpp; found by a
// calibration pass at load). Its targets (tests/model/test_int8_mode.cpp):
// Spearman >= 0.999 with exact and max deviation <= 2% of the exact scores'
// std on random inputs, with and without massive activations. The rank
// correlation is met except on the random 1B outlier model (0.993); the max
// deviation on no model (int8 weight rounding: 6-10% on the test models, 8%
// and 128% on the 1B shapes; benchmarks/RESULTS.md). The kernels' int32
// sums are exact, so every row of the table gives the same bits; amx_int8
// is first by its tile throughput, not yet by a measurement (it was written
// on a machine without AMX).
//
// A new path is a new row in its mode's table, at the place its measured
// speed puts it, once it meets the contract (amx_int8's place, above, is
// still to be confirmed on an AMX machine).
#pragma once

#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <xsimd/xsimd.hpp>

#include "urm/core/cpu_features.hpp"
#include "urm/core/dtype.hpp"
#include "urm/kernels/linear.hpp"

namespace urm::kernels {

// The first path of a mode's table (fastest first) this build and CPU run;
// every table ends in a path that runs everywhere, which is the fallback.
inline LinearPath first_available(std::span<const LinearPath> paths, const CpuFeatures& f) {
  for (const LinearPath& p : paths)
    if (linear_path_available(p, f)) return p;
  return paths.back();
}

// Exact mode's candidates for BF16 and for F16 weights, fastest first. The
// last one runs everywhere (and is exact mode's path for F32 weights).
inline constexpr LinearPath kExactModeBf16Paths[] = {
    {LinearKind::PackedBf16, Bf16Kernel::Amx, 3},
    kStoredPath,
};
inline constexpr LinearPath kExactModeF16Paths[] = {
    {.kind = LinearKind::PackedBf16, .bf16_kernel = Bf16Kernel::Amx, .parts = 3, .weight_parts = 2},
    kStoredPath,
};

// Exact mode's path for projections whose weights are all stored as
// `weights` (std::nullopt: mixed dtypes, the float32 path).
inline LinearPath exact_mode_path(std::optional<DType> weights, const CpuFeatures& f = cpu_features()) {
  if (weights == DType::BF16) return first_available(kExactModeBf16Paths, f);
  if (weights == DType::F16) return first_available(kExactModeF16Paths, f);
  return kStoredPath;
}

// Fast mode's candidates, fastest first. The last one runs everywhere.
inline constexpr LinearPath kFastModePaths[] = {
    {LinearKind::PackedBf16, Bf16Kernel::Amx, 2},
    kStoredPath,
};
// ... for F16 weights: rounding a float16 weight to bfloat16 drops 3 of its
// 11 significant bits, which breaks the 0.02 contract on random inputs (the
// 1B shape: 16 of 200 scores beyond 0.02, max 0.031; on the float16 fixture
// 0.0185). Split in hi + lo (3 tile products a weight instead of 2) fast mode
// deviates no more than on a BF16 checkpoint (benchmarks/RESULTS.md).
inline constexpr LinearPath kFastModeF16Paths[] = {
    {.kind = LinearKind::PackedBf16, .bf16_kernel = Bf16Kernel::Amx, .parts = 2, .weight_parts = 2},
    kStoredPath,
};

// Fast mode's path for projections stored as `weights` (F16: the split
// table; anything else, mixed dtypes included: kFastModePaths).
inline LinearPath fast_mode_path(std::optional<DType> weights, const CpuFeatures& f = cpu_features()) {
  return first_available(weights == DType::F16 ? std::span<const LinearPath>(kFastModeF16Paths)
                                                : std::span<const LinearPath>(kFastModePaths),
                         f);
}
// ... for BF16 (or F32) weights.
inline LinearPath fast_mode_path(const CpuFeatures& f = cpu_features()) { return fast_mode_path(DType::BF16, f); }

// Int8 mode's candidates, fastest first. The last one runs everywhere.
inline constexpr std::size_t kInt8ModeParts = 2;
inline constexpr LinearPath kInt8ModePaths[] = {
    {.kind = LinearKind::PackedInt8, .parts = kInt8ModeParts, .int8_kernel = Int8Kernel::AmxInt8},
    {.kind = LinearKind::PackedInt8, .parts = kInt8ModeParts, .int8_kernel = Int8Kernel::Avx512Vnni},
    {.kind = LinearKind::PackedInt8, .parts = kInt8ModeParts, .int8_kernel = Int8Kernel::AvxVnni},
    {.kind = LinearKind::PackedInt8, .parts = kInt8ModeParts, .int8_kernel = Int8Kernel::Avx2},
    {.kind = LinearKind::PackedInt8, .parts = kInt8ModeParts, .int8_kernel = Int8Kernel::Generic},
};

inline LinearPath int8_mode_path(const CpuFeatures& f = cpu_features()) { return first_available(kInt8ModePaths, f); }

// What a path computes, e.g. "float32 FMA on the stored weights, xsimd
// avx512bw", "bf16 x bf16 -> float32 on amx, x in 2 bf16 parts, weights
// packed at load".
inline std::string linear_path_description(const LinearPath& p) {
  switch (p.kind) {
    case LinearKind::Stored:
      return "float32 FMA on the stored weights, xsimd " + std::string(xsimd::default_arch::name());
    case LinearKind::PackedBf16:
      return "bf16 x bf16 -> float32 on " + std::string(bf16_kernel_name(p.bf16_kernel)) + ", x in " +
             std::to_string(p.parts) + " bf16 part" + (p.parts == 1 ? "" : "s") +
             (p.weight_parts == 1 ? ", weights packed at load"
                                  : ", float16 weights packed at load and split into " +
                                        std::to_string(p.weight_parts) + " bf16 parts per k block");
    case LinearKind::PackedInt8:
      return "int8 x int8 -> int32 on " + std::string(int8_kernel_name(p.int8_kernel)) + ", x per token in " +
             std::to_string(p.parts) + " int8 part" + (p.parts == 1 ? "" : "s") +
             ", weights quantized per output channel at load";
  }
  return "?";
}

// What a path needs of the CPU, for the candidates a CPU cannot run.
inline std::string linear_path_requirement(const LinearPath& p) {
  switch (p.kind) {
    case LinearKind::Stored: return "nothing";
    case LinearKind::PackedBf16:
      switch (p.bf16_kernel) {
        case Bf16Kernel::Amx: return "AMX-BF16 with the OS's tile-data permission";
        case Bf16Kernel::Avx512Bf16: return "AVX512-BF16";
        case Bf16Kernel::Generic: return "nothing";
      }
      break;
    case LinearKind::PackedInt8:
      switch (p.int8_kernel) {
        case Int8Kernel::AmxInt8: return "AMX-INT8 with the OS's tile-data permission";
        case Int8Kernel::Avx512Vnni: return "AVX512-VNNI";
        case Int8Kernel::AvxVnni: return "AVX-VNNI";
        case Int8Kernel::Avx2: return "AVX2";
        case Int8Kernel::Generic: return "nothing";
      }
      break;
  }
  return "?";
}

// The CPU's features and the path of each mode on it:
//   cpu: …  isa: …  os: …                                   (describe_cpu)
//   exact mode matmul: float32 (float32 FMA on the stored weights, xsimd avx512bw)
//   exact mode matmul, BF16 weights: bf16x3-amx (bf16 x bf16 -> float32 on amx, ...)
//   exact mode candidates for BF16 weights, fastest first: bf16x3-amx [needs …], float32
//   exact mode matmul, F16 weights: bf16x3w2-amx (bf16 x bf16 -> float32 on amx, ...)
//   exact mode candidates for F16 weights, fastest first: bf16x3w2-amx [needs …], float32
//   fast mode matmul: bf16x2-amx (bf16 x bf16 -> float32 on amx, ...)
//   fast mode candidates, fastest first: bf16x2-amx [needs AMX-BF16 ...], float32
//   fast mode matmul, F16 weights: bf16x2w2-amx (...)
//   fast mode candidates for F16 weights, fastest first: bf16x2w2-amx [needs …], float32
//   int8 mode matmul: int8x2-avx512_vnni (int8 x int8 -> int32 on avx512_vnni, ...)
//   int8 mode candidates, fastest first: int8x2-amx_int8 [needs AMX-INT8 ...], int8x2-avx512_vnni, ...
inline std::string describe_kernels(const CpuFeatures& f = cpu_features()) {
  const auto candidates = [&f](std::span<const LinearPath> paths) {
    std::string s;
    for (const LinearPath& p : paths) {
      s += (s.empty() ? "" : ", ") + linear_path_name(p);
      if (!linear_path_available(p, f)) s += " [needs " + linear_path_requirement(p) + "]";
    }
    return s;
  };
  const auto chosen = [](const char* what, const LinearPath& p) {
    return std::string("\n") + what + ": " + linear_path_name(p) + " (" + linear_path_description(p) + ")";
  };
  return describe_cpu(f) + chosen("exact mode matmul", kStoredPath) +
         chosen("exact mode matmul, BF16 weights", exact_mode_path(DType::BF16, f)) +
         "\nexact mode candidates for BF16 weights, fastest first: " + candidates(kExactModeBf16Paths) +
         chosen("exact mode matmul, F16 weights", exact_mode_path(DType::F16, f)) +
         "\nexact mode candidates for F16 weights, fastest first: " + candidates(kExactModeF16Paths) +
         chosen("fast mode matmul", fast_mode_path(f)) +
         "\nfast mode candidates, fastest first: " + candidates(kFastModePaths) +
         chosen("fast mode matmul, F16 weights", fast_mode_path(DType::F16, f)) +
         "\nfast mode candidates for F16 weights, fastest first: " + candidates(kFastModeF16Paths) +
         chosen("int8 mode matmul", int8_mode_path(f)) +
         "\nint8 mode candidates, fastest first: " + candidates(kInt8ModePaths);
}

}  // namespace urm::kernels
