// bench-gemm-bf16 — GFLOP/s of the fast-mode matmul (bf16 x bf16 -> float32)
// per kernel, shape and thread count, on the Llama-3-8B prefill shapes
// (m = 512 tokens; n x k = q/o 4096 x 4096, k/v 1024 x 4096, gate/up
// 14336 x 4096, down 4096 x 14336).
//
//   bench-gemm-bf16 [--reps N] [--m M] [--threads T,T,...] [--kernels amx,avx512_bf16,generic]
//                   [--mc ROWS] [--nc OUTPUTS] [--kc K] [--parts 1..3]
// (--parts 2: split activations hi + lo, as fast mode runs them; the flops
// counted are those executed, twice the product's)
//
// Each cell is the median of N runs (default 5) of y = x · wᵀ; "total"
// includes rounding x to bfloat16, "multiply" is the matmul alone; "cpu per
// core" divides by CPU time instead of wall time, which is what a core
// delivers when no other job shares it. Also measures the AMX peak
// (TDPBF16PS on resident tiles) as the yardstick.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "urm/core/cpu_features.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/kernels/matmul_bf16.hpp"

namespace {

using namespace urm::bench;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

struct Shape {
  const char* name;
  std::size_t n, k;
};

}  // namespace

int main(int argc, char** argv) {
  std::size_t reps = 5, m = 512;
  std::vector<std::string> thread_counts = {"1", "2"};
  std::vector<std::string> kernel_names = {"amx", "avx512_bf16", "generic"};
  urm::detail::Blocking blocking = urm::detail::kBf16Blocking;
  std::size_t parts = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    const auto number = [&] { return static_cast<std::size_t>(std::strtoull(value.c_str(), nullptr, 10)); };
    if (flag == "--reps") reps = std::max<std::size_t>(1, number());
    else if (flag == "--m") m = number();
    else if (flag == "--threads") thread_counts = split(value);
    else if (flag == "--kernels") kernel_names = split(value);
    else if (flag == "--mc") blocking.mc = std::max<std::size_t>(32, number() / 32 * 32);
    else if (flag == "--nc") blocking.nc = std::max<std::size_t>(32, number() / 32 * 32);
    else if (flag == "--kc") blocking.kc = std::max<std::size_t>(32, number() / 32 * 32);
    else if (flag == "--parts") parts = std::clamp<std::size_t>(number(), 1, urm::kernels::kMaxBf16Parts);
    else {
      std::fprintf(stderr, "bench-gemm-bf16: unknown option %s\n", flag.c_str());
      return 2;
    }
  }

  std::printf("bench-gemm-bf16: fast-mode matmul y[m,n] = x[m,k] . w[n,k]^T, bf16 inputs, float32 sums\n");
  std::printf("machine: %s, %u hardware threads\n", cpu_model().c_str(), std::thread::hardware_concurrency());
  std::printf("compiler: %s, flags: %s\n", __VERSION__, URM_BUILD_FLAGS);
  std::printf("%s\n", urm::kernels::describe_kernels().c_str());
  std::printf("blocking: items of mc %zu rows x nc %zu outputs, k block kc %zu (all parts); activation parts %zu\n",
              blocking.mc, blocking.nc, blocking.kc, parts);
  std::printf("note: the machine may be shared with other jobs; numbers are medians of %zu runs but still noisy\n",
              reps);
#if URM_HAVE_X86_KERNELS
  double peak = 0.0;
  if (urm::kernels::bf16_kernel_available(urm::kernels::Bf16Kernel::Amx, urm::cpu_features())) {
    std::vector<double> p;
    for (std::size_t r = 0; r < reps; ++r) p.push_back(amx_peak_gflops());
    peak = median(p);
    std::printf("AMX peak (TDPBF16PS, tiles resident, 1 thread): %.0f GFLOP/s\n", peak);
  }
#endif

  const Shape shapes[] = {{"q/o 4096x4096", 4096, 4096},
                          {"k/v 1024x4096", 1024, 4096},
                          {"gate/up 14336x4096", 14336, 4096},
                          {"down 4096x14336", 4096, 14336}};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);

  std::printf("\nGF/s = 1e9 flops per second; wall: per second of wall time (all threads; 'total' includes\n"
              "rounding x to bf16); cpu: multiply flops per CPU-second, i.e. per fully used core\n");
  std::printf("%-12s %-20s %7s %11s %14s %13s %9s\n", "kernel", "shape (n x k)", "threads", "wall total",
              "wall multiply", "cpu per core", "ms");
  for (const Shape& shape : shapes) {
    // Random bf16 weights straight into a bf16 tensor (packing is a copy).
    std::vector<std::uint16_t> w(shape.n * shape.k);
    for (auto& v : w) v = urm::f32_to_bf16(dist(rng));
    std::vector<float> x(m * shape.k), y(m * shape.n);
    for (auto& v : x) v = dist(rng);
    const urm::TensorView view{"w", urm::DType::BF16,
                               {static_cast<std::int64_t>(shape.n), static_cast<std::int64_t>(shape.k)},
                               reinterpret_cast<const std::byte*>(w.data()), 2 * w.size()};
    urm::ThreadPool pack_pool(2);
    const urm::kernels::PackedBf16Weights packed = urm::kernels::pack_bf16(view, pack_pool);
    const double flops = 2.0 * static_cast<double>(parts) * static_cast<double>(m) * static_cast<double>(shape.n) * static_cast<double>(shape.k);

    for (const std::string& kname : kernel_names) {
      urm::kernels::Bf16Kernel kernel = urm::kernels::Bf16Kernel::Generic;
      if (kname == "amx") kernel = urm::kernels::Bf16Kernel::Amx;
      else if (kname == "avx512_bf16") kernel = urm::kernels::Bf16Kernel::Avx512Bf16;
      else if (kname != "generic") {
        std::fprintf(stderr, "bench-gemm-bf16: unknown kernel %s\n", kname.c_str());
        return 2;
      }
      if (!urm::kernels::bf16_kernel_available(kernel, urm::cpu_features())) {
        std::printf("%-12s %-20s (not available on this machine)\n", kname.c_str(), shape.name);
        continue;
      }
      for (const std::string& t : thread_counts) {
        urm::ThreadPool pool(static_cast<std::size_t>(std::max(1, std::atoi(t.c_str()))));
        urm::kernels::Bf16Workspace ws;
        urm::kernels::set_activations_bf16(ws, x.data(), m, shape.k, pool, parts);  // warm-up
        urm::kernels::matmul_bf16(ws, packed, y.data(), pool, kernel);
        std::vector<double> total, multiply, cpu;
        for (std::size_t r = 0; r < reps; ++r) {
          const auto t0 = Clock::now();
          urm::kernels::set_activations_bf16(ws, x.data(), m, shape.k, pool, parts);
          const auto t1 = Clock::now();
          const double c1 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
          urm::detail::matmul_bf16_blocked(ws, packed, y.data(), pool, kernel, blocking);
          cpu.push_back(cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c1);
          multiply.push_back(seconds_since(t1));
          total.push_back(seconds_since(t0));
        }
        const double tt = median(total), tm = median(multiply), tc = median(cpu);
        std::printf("%-12s %-20s %7zu %11.0f %14.0f %13.0f %9.2f", kname.c_str(), shape.name, pool.size(),
                    flops / tt * 1e-9, flops / tm * 1e-9, flops / tc * 1e-9, tt * 1e3);
#if URM_HAVE_X86_KERNELS
        if (kernel == urm::kernels::Bf16Kernel::Amx && peak > 0)
          std::printf("   cpu: %3.0f%% of AMX peak", 100.0 * flops / tc * 1e-9 / peak);
#endif
        std::printf("\n");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
