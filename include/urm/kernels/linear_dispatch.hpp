// Which LinearPath each compute mode takes on this CPU, and the description
// `urm-inspect --cpu`, `urm-score --stats` and the benchmarks print.
//
// Exact mode always takes kStoredPath (float32 on the stored weights: the
// reference's arithmetic). Fast mode takes the first path of
// kFastModePaths this build and CPU can run (linear_path_available). Every
// path in that table keeps fast mode's accuracy contract (scores within 0.02
// of exact on the fixtures, tests/model/test_fast_mode.cpp); the order is
// by measured speed (benchmarks/RESULTS.md).
#pragma once

#include <string>
#include <xsimd/xsimd.hpp>

#include "urm/core/cpu_features.hpp"
#include "urm/kernels/linear.hpp"

namespace urm::kernels {

// Fast mode's candidates, best first.
inline constexpr LinearPath kFastModePaths[] = {
    {LinearKind::PackedBf16, Bf16Kernel::Amx, 2},
    {LinearKind::PackedBf16, Bf16Kernel::Avx512Bf16, 2},
    {LinearKind::PackedBf16, Bf16Kernel::Generic, 2},
};

inline LinearPath fast_mode_path(const CpuFeatures& f = cpu_features()) {
  for (const LinearPath& p : kFastModePaths)
    if (linear_path_available(p, f)) return p;
  return kStoredPath;
}

// The CPU's features and the path of each mode on it, e.g.
//   cpu: …  isa: …  os: …   (describe_cpu)
//   exact mode matmul: float32 FMA, xsimd avx512bw (chosen at compile time)
//   fast mode matmul: bf16 x bf16 -> float32, amx (chosen at run time)
inline std::string describe_kernels(const CpuFeatures& f = cpu_features()) {
  return describe_cpu(f) + "\nexact mode matmul: float32 FMA, xsimd " + std::string(xsimd::default_arch::name()) +
         " (chosen at compile time)\nfast mode matmul: bf16 x bf16 -> float32, " +
         std::string(bf16_kernel_name(fast_mode_path(f).bf16_kernel)) + " (chosen at run time)";
}

}  // namespace urm::kernels
