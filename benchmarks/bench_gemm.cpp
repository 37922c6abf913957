// bench-gemm — GFLOP/s of the exact-mode kernels on Llama-3-8B shapes.
//
// For each kernel, weight dtype, shape and thread count: the median of 5 timed
// runs (after one warm-up). The machine may be shared: medians, not minima, are
// the honest number, and they are still noisy.
//
//   bench-gemm [--threads 1,2] [--m 1,64,512,2048] [--dtype F16] [--no-attention] [--no-gemm]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "urm/core/dtype.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/attention.hpp"
#include "urm/kernels/matmul.hpp"

namespace {

std::string compiled_features() {
  std::string s;
#if defined(__AVX512F__)
  s += "avx512f ";
#endif
#if defined(__AVX512BW__)
  s += "avx512bw ";
#endif
#if defined(__AVX2__)
  s += "avx2 ";
#endif
#if defined(__FMA__)
  s += "fma ";
#endif
#if defined(__F16C__)
  s += "f16c ";
#endif
  s += "(xsimd arch " + std::string(xsimd::default_arch::name()) + ", " + std::to_string(urm::detail::simd_width) +
       " float lanes)";
  return s;
}

// Median wall time, and median CPU time per thread (process CPU time / threads):
// on a shared machine the second excludes the time our threads were waiting
// for a core, so it shows what the kernel does when it runs.
struct Timing {
  double wall, cpu_per_thread;
};

template <class F>
Timing median_seconds(F&& f, int runs, std::size_t threads) {
  f();  // warm-up: page in the weights, grow the per-thread scratch
  std::vector<double> wall, cpu;
  for (int r = 0; r < runs; ++r) {
    const double c0 = urm::bench::cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    const auto a = urm::bench::Clock::now();
    f();
    wall.push_back(urm::bench::seconds_since(a));
    cpu.push_back((urm::bench::cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) / static_cast<double>(threads));
  }
  return {urm::bench::median(wall), urm::bench::median(cpu)};
}

// FP32 FMA peak of one thread, median of 5 (bench_common.hpp: registers
// only; an FMA with a memory operand would measure the load ports instead).
double measured_fma_peak() {
  std::vector<double> g;
  for (int run = 0; run < 5; ++run) g.push_back(urm::bench::fma_peak_gflops());
  return urm::bench::median(g);
}

std::vector<std::size_t> parse_list(const char* s) {
  std::vector<std::size_t> v;
  std::string str(s);
  std::size_t pos = 0;
  while (pos <= str.size()) {
    const std::size_t c = str.find(',', pos);
    v.push_back(std::stoul(str.substr(pos, c - pos)));
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> threads = {1, 2};
  std::vector<std::size_t> ms = {1, 64, 512, 2048};
  std::vector<std::string> dtypes = {"F32", "F16", "BF16"};
  bool attention = true, gemm = true;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--threads" && a + 1 < argc)
      threads = parse_list(argv[++a]);
    else if (arg == "--m" && a + 1 < argc)
      ms = parse_list(argv[++a]);
    else if (arg == "--dtype" && a + 1 < argc)
      dtypes = {argv[++a]};
    else if (arg == "--no-attention")
      attention = false;
    else if (arg == "--no-gemm")
      gemm = false;
    else {
      std::fprintf(
          stderr, "usage: bench-gemm [--threads 1,2] [--m 1,64,512,2048] [--dtype F16] [--no-attention] [--no-gemm]\n");
      return 2;
    }
  }

  std::printf("machine : %s, %u hardware threads\n", urm::bench::cpu_model().c_str(),
              std::thread::hardware_concurrency());
  std::printf("%s\n", urm::describe_cpu(urm::cpu_features()).c_str());
#if defined(__clang__)
  std::printf("compiler: clang %s\n", __clang_version__);
#else
  std::printf("compiler: g++ %s\n", __VERSION__);
#endif
  std::printf("flags   : %s\n", URM_BUILD_FLAGS);
  std::printf("using   : %s\n", compiled_features().c_str());
  const double peak = measured_fma_peak();
  std::printf("FMA peak: %.1f GFLOP/s per thread (register-only FMA loop, no loads, thread CPU time)\n", peak);
  std::printf("timing  : median of 5 runs after 1 warm-up (machine may be shared: numbers are noisy)\n\n");

  struct Shape {
    const char* name;
    std::size_t n, k;
  };
  const Shape shapes[] = {{"q/o 4096x4096", 4096, 4096},
                          {"k/v 1024x4096", 1024, 4096},
                          {"gate/up 14336x4096", 14336, 4096},
                          {"down 4096x14336", 4096, 14336}};

  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::size_t max_m = *std::max_element(ms.begin(), ms.end());
  std::vector<float> x(max_m * 14336);
  for (auto& v : x) v = nd(rng);
  std::vector<float> y(max_m * 14336);

  std::printf("GFLOP/s = 2·m·n·k / median wall time; cpu-GFLOP/s uses the median CPU time per thread instead\n");
  std::printf("%% peak = cpu-GFLOP/s / (threads · FMA peak)\n");
  std::printf("%-6s %-5s %-20s %6s %7s %10s %9s %12s %7s\n", "kernel", "dtype", "shape (n x k)", "m", "threads", "ms",
              "GFLOP/s", "cpu-GFLOP/s", "% peak");
  for (const auto& dt : gemm ? dtypes : std::vector<std::string>{}) {
    const urm::DType dtype = *urm::parse_dtype(dt);
    for (const auto& s : shapes) {
      std::vector<std::byte> w(s.n * s.k * urm::dtype_size(dtype));
      for (std::size_t i = 0; i < s.n * s.k; ++i) {
        const float v = nd(rng);
        if (dtype == urm::DType::F32)
          std::memcpy(&w[4 * i], &v, 4);
        else {
          const std::uint16_t h = dtype == urm::DType::F16 ? urm::f32_to_f16(v) : urm::f32_to_bf16(v);
          std::memcpy(&w[2 * i], &h, 2);
        }
      }
      for (std::size_t nt : threads) {
        urm::ThreadPool pool(nt);
        for (std::size_t m : ms) {
          const Timing t = median_seconds(
              [&] { urm::kernels::matmul(x.data(), m, s.k, w.data(), dtype, s.n, y.data(), pool); }, 5, nt);
          const double flops = 2.0 * static_cast<double>(m) * s.n * s.k;
          const double cpu_gflops = flops / t.cpu_per_thread * 1e-9;
          std::printf("%-6s %-5s %-20s %6zu %7zu %10.3f %9.1f %12.1f %6.0f%%\n", m == 1 ? "gemv" : "gemm", dt.c_str(),
                      s.name, m, nt, t.wall * 1e3, flops / t.wall * 1e-9, cpu_gflops,
                      100.0 * cpu_gflops / (static_cast<double>(nt) * peak));
          std::fflush(stdout);
        }
      }
    }
  }

  if (attention) {
    // Llama-3-8B attention: 32 heads, 8 kv heads, head_dim 128. FLOPs counted
    // as the causal half of QKᵀ and PV: 2 · 2 · H · D · T(T+1)/2.
    const std::size_t H = 32, KVH = 8, D = 128;
    for (std::size_t T : {512, 4096}) {
      std::vector<float> q(T * H * D), k(T * KVH * D), v(T * KVH * D), o(T * H * D);
      for (auto& e : q) e = nd(rng) * 50.0f;
      for (auto& e : k) e = nd(rng) * 50.0f;
      for (auto& e : v) e = nd(rng);
      for (std::size_t nt : threads) {
        urm::ThreadPool pool(nt);
        const Timing t = median_seconds(
            [&] { urm::kernels::causal_attention(q.data(), k.data(), v.data(), o.data(), T, T, H, KVH, D, pool); }, 5,
            nt);
        const double flops = 4.0 * H * D * (static_cast<double>(T) * (T + 1) / 2);
        const double cpu_gflops = flops / t.cpu_per_thread * 1e-9;
        std::printf("%-6s %-5s %-20s %6zu %7zu %10.3f %9.1f %12.1f %6.0f%%\n", "attn", "F32", "32/8 heads, D 128", T,
                    nt, t.wall * 1e3, flops / t.wall * 1e-9, cpu_gflops,
                    100.0 * cpu_gflops / (static_cast<double>(nt) * peak));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
