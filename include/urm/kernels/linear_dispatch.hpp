// Which LinearPath each compute mode takes on this CPU, and the description
// `urm-inspect --cpu`, `urm-score --stats` and the benchmarks print.
//
// Exact mode keeps float32-level accuracy (parity 1e-4 with the reference on
// every fixture). It takes kStoredPath (float32 FMA on the stored weights:
// the reference's arithmetic) except for BF16 weights on a CPU with AMX,
// where it takes bf16x3-amx (kExactModeBf16Paths). That path loses nothing:
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
// For F16 weights the float32 path stays: a float16 weight is exactly the
// sum of two bfloat16 values, but packing both would take 4 bytes per weight
// (32 GB for an 8B checkpoint, more than a float32 copy), and the kernel
// that would split them from the mapped float16 weights tile by tile needs
// an AMX machine to be written and tested on. F32 weights are not bfloat16
// sums of few parts: the float32 path.
//
// Fast mode takes the first path of
// kFastModePaths that this build and CPU can run (linear_path_available).
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
// A new path (int8 with per-channel scales on AVX-VNNI / AVX512-VNNI /
// AMX-INT8, ...) is a new row here, at
// the place its measured speed puts it, once it meets the contract.
#pragma once

#include <optional>
#include <string>
#include <xsimd/xsimd.hpp>

#include "urm/core/cpu_features.hpp"
#include "urm/core/dtype.hpp"
#include "urm/kernels/linear.hpp"

namespace urm::kernels {

// Exact mode's candidates for BF16 weights, fastest first. The last one runs
// everywhere (and is exact mode's path for F32 and F16 weights).
inline constexpr LinearPath kExactModeBf16Paths[] = {
    {LinearKind::PackedBf16, Bf16Kernel::Amx, 3},
    kStoredPath,
};

// Exact mode's path for projections whose weights are all stored as
// `weights` (std::nullopt: mixed dtypes, the float32 path).
inline LinearPath exact_mode_path(std::optional<DType> weights, const CpuFeatures& f = cpu_features()) {
  if (weights != DType::BF16) return kStoredPath;
  for (const LinearPath& p : kExactModeBf16Paths)
    if (linear_path_available(p, f)) return p;
  return kStoredPath;
}

// Fast mode's candidates, fastest first. The last one runs everywhere.
inline constexpr LinearPath kFastModePaths[] = {
    {LinearKind::PackedBf16, Bf16Kernel::Amx, 2},
    kStoredPath,
};

inline LinearPath fast_mode_path(const CpuFeatures& f = cpu_features()) {
  for (const LinearPath& p : kFastModePaths)
    if (linear_path_available(p, f)) return p;
  return kStoredPath;
}

// What a path computes, e.g. "float32 FMA on the stored weights, xsimd
// avx512bw", "bf16 x bf16 -> float32 on amx, x in 2 bf16 parts, weights
// packed at load".
inline std::string linear_path_description(const LinearPath& p) {
  switch (p.kind) {
    case LinearKind::Stored:
      return "float32 FMA on the stored weights, xsimd " + std::string(xsimd::default_arch::name());
    case LinearKind::PackedBf16:
      return "bf16 x bf16 -> float32 on " + std::string(bf16_kernel_name(p.bf16_kernel)) + ", x in " +
             std::to_string(p.parts) + " bf16 part" + (p.parts == 1 ? "" : "s") + ", weights packed at load";
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
  }
  return "?";
}

// The CPU's features and the path of each mode on it:
//   cpu: …  isa: …  os: …                                   (describe_cpu)
//   exact mode matmul: float32 (float32 FMA on the stored weights, xsimd avx512bw)
//   exact mode matmul, BF16 weights: bf16x3-amx (bf16 x bf16 -> float32 on amx, ...)
//   exact mode candidates for BF16 weights, fastest first: bf16x3-amx [needs …], float32
//   fast mode matmul: bf16x2-amx (bf16 x bf16 -> float32 on amx, ...)
//   fast mode candidates, fastest first: bf16x2-amx [needs AMX-BF16 ...], float32
inline std::string describe_kernels(const CpuFeatures& f = cpu_features()) {
  const auto list = [&](const auto& paths) {
    std::string out;
    for (const LinearPath& p : paths) {
      out += (out.empty() ? "" : ", ") + linear_path_name(p);
      if (!linear_path_available(p, f)) out += " [needs " + linear_path_requirement(p) + "]";
    }
    return out;
  };
  const auto path = [](const LinearPath& p) { return linear_path_name(p) + " (" + linear_path_description(p) + ")"; };
  return describe_cpu(f) + "\nexact mode matmul: " + path(kStoredPath) +
         "\nexact mode matmul, BF16 weights: " + path(exact_mode_path(DType::BF16, f)) +
         "\nexact mode candidates for BF16 weights, fastest first: " + list(kExactModeBf16Paths) +
         "\nfast mode matmul: " + path(fast_mode_path(f)) +
         "\nfast mode candidates, fastest first: " + list(kFastModePaths);
}

}  // namespace urm::kernels
