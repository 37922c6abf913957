#include <doctest/doctest.h>

#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "urm/core/cpu_features.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/linear_dispatch.hpp"

using urm::CpuFeatures;
using urm::kernels::Bf16Kernel;

namespace {

// The "flags" line of /proc/cpuinfo (Linux), empty elsewhere.
std::set<std::string> proc_cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

bool has(const std::set<std::string>& flags, const char* flag) { return flags.count(flag) == 1; }

CpuFeatures avx512_bf16_cpu() {
  CpuFeatures f;
  f.avx2 = f.fma = f.f16c = f.avx512f = f.avx512bw = f.avx512_bf16 = true;
  f.os_avx = f.os_avx512 = true;
  return f;
}

}  // namespace

TEST_CASE("CPUID detection agrees with the kernel's /proc/cpuinfo flags") {
  const auto flags = proc_cpuinfo_flags();
  if (flags.empty()) return;  // not Linux: nothing to compare with
  const CpuFeatures& f = urm::cpu_features();
  CHECK(f.avx2 == has(flags, "avx2"));
  CHECK(f.fma == has(flags, "fma"));
  CHECK(f.f16c == has(flags, "f16c"));
  CHECK(f.avx512f == has(flags, "avx512f"));
  CHECK(f.avx512bw == has(flags, "avx512bw"));
  CHECK(f.avx512_bf16 == has(flags, "avx512_bf16"));
  CHECK(f.avx512_vnni == has(flags, "avx512_vnni"));
  CHECK(f.avx_vnni == has(flags, "avx_vnni"));
  CHECK(f.amx_tile == has(flags, "amx_tile"));
  CHECK(f.amx_bf16 == has(flags, "amx_bf16"));
  CHECK(f.amx_int8 == has(flags, "amx_int8"));
  // Linux lists a flag only when it enables the state, so a listed AMX must
  // also have been granted to this process.
  if (has(flags, "amx_tile") && has(flags, "amx_bf16")) CHECK(f.os_amx);
  CHECK(!f.brand.empty());
  CHECK(&urm::cpu_features() == &f);  // detected once, cached
}

TEST_CASE("the best kernel follows the features, and AMX needs the OS permission") {
  CpuFeatures none;
  CHECK(urm::kernels::best_bf16_kernel(none) == Bf16Kernel::Generic);
  CHECK(urm::kernels::bf16_kernel_available(Bf16Kernel::Generic, none));
  CHECK_FALSE(urm::kernels::bf16_kernel_available(Bf16Kernel::Avx512Bf16, none));

  CpuFeatures f = avx512_bf16_cpu();
  CHECK(urm::kernels::best_bf16_kernel(f) == Bf16Kernel::Avx512Bf16);
  f.os_avx512 = false;  // CPU has it, OS does not save zmm state
  CHECK(urm::kernels::best_bf16_kernel(f) == Bf16Kernel::Generic);

  f = avx512_bf16_cpu();
  f.amx_tile = f.amx_bf16 = true;
  f.os_amx = false;  // arch_prctl(ARCH_REQ_XCOMP_PERM) refused
  CHECK(urm::kernels::best_bf16_kernel(f) == Bf16Kernel::Avx512Bf16);
  CHECK_FALSE(urm::kernels::bf16_kernel_available(Bf16Kernel::Amx, f));
  f.os_amx = true;
  CHECK(urm::kernels::best_bf16_kernel(f) == Bf16Kernel::Amx);
}

TEST_CASE("a kernel this machine cannot run is refused, not executed") {
  urm::ThreadPool pool(1);
  const float w[4] = {1, 2, 3, 4}, x[2] = {1, 1};
  const urm::TensorView view{"w", urm::DType::F32, {2, 2}, reinterpret_cast<const std::byte*>(w), sizeof w};
  const auto packed = urm::kernels::pack_bf16(view);
  urm::kernels::Bf16Workspace ws;
  float y[2] = {};
  for (Bf16Kernel k : {Bf16Kernel::Avx512Bf16, Bf16Kernel::Amx}) {
    if (urm::kernels::bf16_kernel_available(k, urm::cpu_features())) {
      urm::kernels::matmul_bf16(x, 1, 2, packed, y, pool, ws, k);
      CHECK(y[0] == 3.0f);
      CHECK(y[1] == 7.0f);
    } else {
      CHECK_THROWS_WITH_AS(urm::kernels::matmul_bf16(x, 1, 2, packed, y, pool, ws, k),
                           ("matmul_bf16: kernel " + std::string(urm::kernels::bf16_kernel_name(k)) +
                            " is not available on this machine (" + urm::cpu_features().brand + ")")
                               .c_str(),
                           urm::Error);
    }
  }
}

TEST_CASE("fast mode takes AMX where it runs, else float32: no bf16 emulation slower than exact") {
  using urm::kernels::fast_mode_path;
  using urm::kernels::LinearKind;
  const urm::kernels::LinearPath amx{LinearKind::PackedBf16, Bf16Kernel::Amx, 2};
  CpuFeatures none;
  CHECK(fast_mode_path(none) == urm::kernels::kStoredPath);  // AVX2-only (or less): float32
  CpuFeatures f = avx512_bf16_cpu();
  CHECK(fast_mode_path(f) == urm::kernels::kStoredPath);  // VDPBF16PS but no AMX: float32 is faster
  f.amx_tile = f.amx_bf16 = true;
  f.os_amx = false;  // a hypervisor or an old kernel refuses the tile state
  CHECK(fast_mode_path(f) == urm::kernels::kStoredPath);
  CHECK(fast_mode_path(urm::DType::F16, f) == urm::kernels::kStoredPath);
  f.os_amx = true;
  CHECK(fast_mode_path(f) == (URM_HAVE_X86_KERNELS ? amx : urm::kernels::kStoredPath));
  CHECK(fast_mode_path(urm::DType::BF16, f) == fast_mode_path(f));
  CHECK(fast_mode_path(std::nullopt, f) == fast_mode_path(f));  // mixed dtypes: weights rounded
  // float16 weights keep their 11 bits, split in hi + lo.
  const urm::kernels::LinearPath amx_w2{
      .kind = LinearKind::PackedBf16, .bf16_kernel = Bf16Kernel::Amx, .parts = 2, .weight_parts = 2};
  CHECK(fast_mode_path(urm::DType::F16, f) == (URM_HAVE_X86_KERNELS ? amx_w2 : urm::kernels::kStoredPath));
  // Every candidate is a path that keeps the 0.02 contract: split (2-part) bf16 or float32, and for
  // float16 weights both of their bfloat16 parts.
  for (const auto& p : urm::kernels::kFastModePaths)
    CHECK((p.kind == LinearKind::Stored || p.parts >= 2));
  for (const auto& p : urm::kernels::kFastModeF16Paths)
    CHECK((p.kind == LinearKind::Stored || (p.parts >= 2 && p.weight_parts == 2)));
  CHECK(urm::kernels::linear_path_available(fast_mode_path()));
  CHECK(urm::kernels::linear_path_available(fast_mode_path(urm::DType::F16)));
}

TEST_CASE("exact mode takes 3-part bfloat16 on AMX for BF16 and (split) F16 weights only, else float32") {
  using urm::DType;
  using urm::kernels::exact_mode_path;
  using urm::kernels::LinearKind;
  const urm::kernels::LinearPath amx3{LinearKind::PackedBf16, Bf16Kernel::Amx, 3};
  const urm::kernels::LinearPath amx3w2{
      .kind = LinearKind::PackedBf16, .bf16_kernel = Bf16Kernel::Amx, .parts = 3, .weight_parts = 2};
  CpuFeatures f = avx512_bf16_cpu();
  for (auto d : {std::optional<DType>(DType::BF16), std::optional<DType>(DType::F16), std::optional<DType>(DType::F32),
                 std::optional<DType>()})
    CHECK(exact_mode_path(d, f) == urm::kernels::kStoredPath);  // no AMX: float32 (VDPBF16PS x 3 would be slower)
  f.amx_tile = f.amx_bf16 = true;
  CHECK(exact_mode_path(DType::BF16, f) == urm::kernels::kStoredPath);  // no tile-data permission
  CHECK(exact_mode_path(DType::F16, f) == urm::kernels::kStoredPath);
  f.os_amx = true;
  CHECK(exact_mode_path(DType::BF16, f) == (URM_HAVE_X86_KERNELS ? amx3 : urm::kernels::kStoredPath));
  // float16 weights are exact in two bfloat16 parts, split as they are multiplied.
  CHECK(exact_mode_path(DType::F16, f) == (URM_HAVE_X86_KERNELS ? amx3w2 : urm::kernels::kStoredPath));
  // float32 weights are not bfloat16 sums of few parts; mixed dtypes take the float32 path too.
  CHECK(exact_mode_path(DType::F32, f) == urm::kernels::kStoredPath);
  CHECK(exact_mode_path(std::nullopt, f) == urm::kernels::kStoredPath);
  // Every candidate keeps exact mode's accuracy: 3 parts of x (24 significant bits) or float32, and for
  // float16 weights both of their bfloat16 parts.
  for (const auto& p : urm::kernels::kExactModeBf16Paths)
    CHECK((p.kind == LinearKind::Stored || (p.parts >= 3 && p.weight_parts == 1)));
  for (const auto& p : urm::kernels::kExactModeF16Paths)
    CHECK((p.kind == LinearKind::Stored || (p.parts >= 3 && p.weight_parts == 2)));
  CHECK(urm::kernels::linear_path_available(exact_mode_path(DType::BF16)));
  CHECK(urm::kernels::linear_path_available(exact_mode_path(DType::F16)));
}

TEST_CASE("describe_kernels names the features and the path of each mode") {
  CpuFeatures f = avx512_bf16_cpu();
  f.brand = "Test CPU";
  f.amx_tile = f.amx_bf16 = true;
  const std::string s = urm::kernels::describe_kernels(f);
  CHECK(s.find("cpu: Test CPU\n") == 0);
  CHECK(s.find("isa: avx2 fma f16c avx512f avx512bw avx512_bf16 amx_tile amx_bf16\n") != std::string::npos);
  CHECK(s.find("amx NOT permitted") != std::string::npos);
  const std::string float32 = "float32 (float32 FMA on the stored weights, xsimd " +
                              std::string(xsimd::default_arch::name()) + ")";
  CHECK(s.find("\nexact mode matmul: " + float32 + "\n") != std::string::npos);
  CHECK(s.find("\nfast mode matmul: " + float32 + "\n") != std::string::npos);
  CHECK(s.find("\nexact mode matmul, BF16 weights: " + float32 + "\n") != std::string::npos);
  CHECK(s.find("\nexact mode candidates for BF16 weights, fastest first: bf16x3-amx [needs AMX-BF16 with the OS's "
               "tile-data permission], float32\n") != std::string::npos);
  CHECK(s.find("\nexact mode matmul, F16 weights: " + float32 + "\n") != std::string::npos);
  CHECK(s.find("\nexact mode candidates for F16 weights, fastest first: bf16x3w2-amx [needs AMX-BF16 with the OS's "
               "tile-data permission], float32\n") != std::string::npos);
  CHECK(s.find("\nfast mode matmul, F16 weights: " + float32 + "\n") != std::string::npos);
  CHECK(s.find("\nfast mode candidates for F16 weights, fastest first: bf16x2w2-amx [needs AMX-BF16 with the "
               "OS's tile-data permission], float32") != std::string::npos);
  CHECK(s.find("\nfast mode candidates, fastest first: bf16x2-amx [needs AMX-BF16 with the OS's tile-data "
               "permission], float32") != std::string::npos);
#if URM_HAVE_X86_KERNELS
  f.os_amx = true;
  CHECK(urm::kernels::describe_kernels(f).find(
            "\nfast mode matmul: bf16x2-amx (bf16 x bf16 -> float32 on amx, x in 2 bf16 parts, weights packed at "
            "load)\nfast mode candidates, fastest first: bf16x2-amx, float32") != std::string::npos);
  CHECK(urm::kernels::describe_kernels(f).find(
            "\nfast mode matmul, F16 weights: bf16x2w2-amx (bf16 x bf16 -> float32 on amx, x in 2 bf16 parts, "
            "float16 weights packed at load and split into 2 bf16 parts per k block)\n") != std::string::npos);
  CHECK(urm::kernels::describe_kernels(f).find(
            "\nexact mode matmul, BF16 weights: bf16x3-amx (bf16 x bf16 -> float32 on amx, x in 3 bf16 parts, "
            "weights packed at load)\n") != std::string::npos);
  CHECK(urm::kernels::describe_kernels(f).find(
            "\nexact mode matmul, F16 weights: bf16x3w2-amx (bf16 x bf16 -> float32 on amx, x in 3 bf16 parts, "
            "float16 weights packed at load and split into 2 bf16 parts per k block)\n") != std::string::npos);
#endif
  const std::string here = urm::kernels::describe_kernels();
  CHECK(here.find("fast mode matmul: " + urm::kernels::linear_path_name(urm::kernels::fast_mode_path()) + " (") !=
        std::string::npos);
}
