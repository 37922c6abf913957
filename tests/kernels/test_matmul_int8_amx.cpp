// The AMX-INT8 block kernel (kernels/matmul_int8_amx.hpp) and its dispatch.
//
// The kernel cases run every int8 kernel this machine has against the
// generic one, bit for bit, on the shapes where the AMX kernel's edges are:
// 8-row remainders (tiles take 16 virtual rows), 1 … 4 panels (its 2-panel
// steps), several k blocks, k not a multiple of 64, k group ranges not whole
// tiles, one and two parts. On a machine without AMX-INT8 they still check
// the other kernels on those shapes and say, in a MESSAGE, that the AMX
// kernel was not among them. The dispatch cases run everywhere, on given
// CpuFeatures.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "support/kernel_reference.hpp"
#include "urm/core/cpu_features.hpp"
#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/kernels/matmul_int8.hpp"

using urm::CpuFeatures;
using urm::DType;
using urm::kernels::Int8Activations;
using urm::kernels::Int8Kernel;
using urm::kernels::PackedInt8Weights;
using namespace urm::test;

namespace {

// Says, once per test case, whether the AMX-INT8 kernel is among `kernels`.
void note_amx_int8(const std::vector<Int8Kernel>& kernels) {
  if (std::find(kernels.begin(), kernels.end(), Int8Kernel::AmxInt8) == kernels.end())
    MESSAGE("amx_int8 cases skipped: this machine or build cannot run AMX-INT8 (CPU " << urm::cpu_features().brand
            << ", amx_tile " << urm::cpu_features().amx_tile << ", amx_int8 " << urm::cpu_features().amx_int8
            << ", os_amx " << urm::cpu_features().os_amx << "); the other kernels ran these shapes");
}

// A CPU with everything up to AVX512-VNNI and AVX-VNNI, and no AMX.
CpuFeatures vnni_cpu() {
  CpuFeatures f;
  f.brand = "Test CPU";
  f.avx2 = f.fma = f.os_avx = true;
  f.avx512f = f.avx512bw = f.avx512_vnni = f.os_avx512 = true;
  f.avx_vnni = true;
  return f;
}

}  // namespace

TEST_CASE("int8 block kernels: C bit for bit the generic kernel's on 8-row remainders, 1-4 panels, any k range") {
  const std::vector<Int8Kernel> kernels = runnable_int8_kernels();
  note_amx_int8(kernels);
  for_each_int8_block_edge([&](const Int8Activations& a, const PackedInt8Weights& w, std::size_t row0,
                               std::size_t rows, std::size_t panels, const std::vector<std::size_t>& chain) {
    const auto generic = run_int8_block_chain(Int8Kernel::Generic, a, w, row0, rows, panels, chain);
    for (Int8Kernel kernel : kernels) {
      CAPTURE(urm::kernels::int8_kernel_name(kernel));
      CHECK(run_int8_block_chain(kernel, a, w, row0, rows, panels, chain) == generic);
    }
  });
}

TEST_CASE("matmul_int8: every kernel bit for bit the generic one on the AMX kernel's edge shapes") {
  const std::vector<Int8Kernel> kernels = runnable_int8_kernels();
  note_amx_int8(kernels);
  std::mt19937 rng(12);
  urm::ThreadPool pool(2);
  // m: 8-row remainders with one part (m_padded = 8 mod 16) in the last or
  // only item of 32 rows, and whole tiles; n: 1, 2, 3, 4 panels and an item
  // of 4 panels plus 3; k: below, across and beyond a k block of 512, not a
  // multiple of 64 but for 512.
  for (std::size_t k : {70u, 512u, 1100u}) {
    const std::size_t n_max = 100;
    const auto wt = random_floats(n_max * k, rng, 0.05f);
    for (std::size_t n : {16u, 32u, 48u, 64u, 100u}) {
      const PackedInt8Weights w = urm::kernels::pack_int8(
          store(std::vector<float>(wt.begin(), wt.begin() + static_cast<std::ptrdiff_t>(n * k)), DType::F16,
                {static_cast<std::int64_t>(n), static_cast<std::int64_t>(k)})
              .view,
          pool);
      for (std::size_t m : {5u, 16u, 24u, 40u, 72u}) {
        const auto x = random_floats(m * k, rng);
        for (std::size_t parts : {1u, 2u}) {
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          CAPTURE(parts);
          Int8Activations a;
          urm::kernels::quantize_activations(a, x.data(), m, k, pool, parts);
          std::vector<float> generic(m * n);
          urm::kernels::matmul_int8(a, w, generic.data(), pool, Int8Kernel::Generic);
          for (Int8Kernel kernel : kernels) {
            CAPTURE(urm::kernels::int8_kernel_name(kernel));
            std::vector<float> y(m * n, -1.0f);
            urm::kernels::matmul_int8(a, w, y.data(), pool, kernel);
            CHECK(same_bits(y, generic));
          }
        }
      }
    }
  }
}

TEST_CASE("amx_int8 needs AMX-TILE, AMX-INT8, the OS's tile-data permission and AVX512-VNNI") {
  using urm::kernels::best_int8_kernel;
  using urm::kernels::int8_kernel_available;
  using urm::kernels::int8_mode_path;
  using urm::kernels::linear_path_name;
  const bool x86 = URM_HAVE_X86_KERNELS;
  CHECK(urm::kernels::int8_kernel_name(Int8Kernel::AmxInt8) == "amx_int8");
  CHECK(urm::kernels::kInt8Kernels[0] == Int8Kernel::AmxInt8);
  CHECK(urm::kernels::kInt8ModePaths[0].int8_kernel == Int8Kernel::AmxInt8);
  CHECK(urm::kernels::kInt8ModePaths[0].parts == 2);
  CHECK(linear_path_name(urm::kernels::kInt8ModePaths[0]) == "int8x2-amx_int8");

  CpuFeatures f = vnni_cpu();
  CHECK_FALSE(f.can_amx_int8());
  CHECK_FALSE(int8_kernel_available(Int8Kernel::AmxInt8, f));
  CHECK(best_int8_kernel(f) == (x86 ? Int8Kernel::Avx512Vnni : Int8Kernel::Generic));
  CHECK(int8_mode_path(f).int8_kernel == (x86 ? Int8Kernel::Avx512Vnni : Int8Kernel::Generic));

  f.amx_tile = f.amx_int8 = true;  // the CPU has it, but the OS refused the tile data (XCR0 or arch_prctl)
  CHECK_FALSE(f.can_amx_int8());
  CHECK(int8_mode_path(f).int8_kernel == (x86 ? Int8Kernel::Avx512Vnni : Int8Kernel::Generic));

  f.os_amx = true;
  f.amx_int8 = false;
  f.amx_bf16 = true;  // AMX-BF16 alone is not AMX-INT8
  CHECK_FALSE(f.can_amx_int8());
  CHECK(int8_mode_path(f).int8_kernel == (x86 ? Int8Kernel::Avx512Vnni : Int8Kernel::Generic));

  f.amx_int8 = true;
  CHECK(f.can_amx_int8());
  CHECK(int8_kernel_available(Int8Kernel::AmxInt8, f) == x86);
  CHECK(best_int8_kernel(f) == (x86 ? Int8Kernel::AmxInt8 : Int8Kernel::Generic));
  CHECK(linear_path_name(int8_mode_path(f)) == (x86 ? "int8x2-amx_int8" : "int8x2-generic"));
#if URM_HAVE_X86_KERNELS
  CHECK((urm::detail::int8_block_fn(Int8Kernel::AmxInt8) == &urm::detail::amx_int8_block));
#endif

  f.os_avx512 = false;  // no AVX512-VNNI for the rows the tiles leave: not AMX either
  CHECK_FALSE(f.can_amx_int8());
  CHECK(int8_mode_path(f).int8_kernel == (x86 ? Int8Kernel::AvxVnni : Int8Kernel::Generic));
}

TEST_CASE("matmul_int8 on amx_int8 where it cannot run: the exact error") {
  if (urm::kernels::int8_kernel_available(Int8Kernel::AmxInt8, urm::cpu_features())) {
    MESSAGE("skipped: this machine runs amx_int8");
    return;
  }
  urm::ThreadPool pool(1);
  const PackedInt8Weights w =
      urm::kernels::pack_int8(store(std::vector<float>(8, 1.0f), DType::F32, {2, 4}).view, pool);
  Int8Activations a;
  std::vector<float> x(4, 1.0f), y(2);
  CHECK_THROWS_WITH_AS(urm::kernels::matmul_int8(x.data(), 1, 4, w, y.data(), pool, a, 2, Int8Kernel::AmxInt8),
                       ("matmul_int8: kernel amx_int8 is not available on this machine (" + urm::cpu_features().brand +
                        ")")
                           .c_str(),
                       urm::Error);
}

TEST_CASE("describe_kernels lists amx_int8 first, with what it needs, and names it where it runs") {
  CpuFeatures f = vnni_cpu();
  std::string s = urm::kernels::describe_kernels(f);
  CHECK(s.find("\nint8 mode candidates, fastest first: int8x2-amx_int8 [needs AMX-INT8 with the OS's tile-data "
               "permission], ") != std::string::npos);
  if (URM_HAVE_X86_KERNELS)
    CHECK(s.find("\nint8 mode candidates, fastest first: int8x2-amx_int8 [needs AMX-INT8 with the OS's tile-data "
                 "permission], int8x2-avx512_vnni, int8x2-avx_vnni, int8x2-avx2, int8x2-generic") != std::string::npos);
  CHECK(s.find("\nisa: avx2 fma avx512f avx512bw avx512_vnni avx_vnni\n") != std::string::npos);

  f.amx_tile = f.amx_int8 = f.os_amx = true;
  s = urm::kernels::describe_kernels(f);
  CHECK(s.find("\nisa: avx2 fma avx512f avx512bw avx512_vnni avx_vnni amx_tile amx_int8\n") != std::string::npos);
  CHECK(s.find("\nos:  avx avx512 amx (tile data permitted)\n") != std::string::npos);
  if (URM_HAVE_X86_KERNELS) {
    CHECK(s.find("\nint8 mode matmul: int8x2-amx_int8 (int8 x int8 -> int32 on amx_int8, x per token in 2 int8 parts, "
                 "weights quantized per output channel at load)\n") != std::string::npos);
    CHECK(s.find("\nint8 mode candidates, fastest first: int8x2-amx_int8, int8x2-avx512_vnni, int8x2-avx_vnni, "
                 "int8x2-avx2, int8x2-generic") != std::string::npos);
  }
}
