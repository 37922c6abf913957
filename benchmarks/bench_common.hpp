// What every benchmark needs: clocks (wall and CPU), medians, the machine's
// description and the arithmetic peaks results are compared against.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "urm/kernels/matmul_bf16.hpp"

namespace urm::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds used so far by this thread / by the whole process. On a shared
// machine wall time also counts the time other jobs hold our core; CPU time
// does not (the thread pool blocks, it never spins, so CPU time is work).
inline double cpu_seconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

inline std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// float32 FMA GFLOP per CPU second on one thread: 10 independent
// accumulators (enough to cover the FMA latency on two ports), no memory.
inline double fma_peak_gflops() {
  using B = xsimd::batch<float>;
  B acc[10];
  for (int i = 0; i < 10; ++i) acc[i] = B(static_cast<float>(i) * 1e-3f);
  const B a(0.999999f), b(1e-7f);
  constexpr long kIters = 20000000;
  const double t0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  for (long it = 0; it < kIters; ++it)
    for (int i = 0; i < 10; ++i) acc[i] = urm::detail::fma(acc[i], a, b);
  const double s = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
  B sum(0.0f);
  for (int i = 0; i < 10; ++i) sum += acc[i];
  volatile float sink = xsimd::hadd(sum);
  (void)sink;
  return 2.0 * 10 * kIters * static_cast<double>(B::size) / s * 1e-9;
}

#if URM_HAVE_X86_KERNELS
// bf16 GFLOP per CPU second of TDPBF16PS with operands already in tiles: 4
// independent accumulators, no memory traffic. The ceiling the AMX kernel is
// measured against.
URM_TARGET_AMX inline double amx_peak_gflops() {
  urm::detail::amx_begin();
  alignas(64) static std::uint16_t ones[512];
  std::fill(std::begin(ones), std::end(ones), std::uint16_t{0x3f80});
  __asm__ volatile("" : : : "memory");
  _tile_loadd(4, ones, 64);
  _tile_loadd(5, ones, 64);
  _tile_loadd(6, ones, 64);
  _tile_loadd(7, ones, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  constexpr long kIters = 200000;
  const double t0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  for (long i = 0; i < kIters; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  const double s = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
  alignas(64) float sink[256];
  _tile_stored(0, sink, 64);
  urm::detail::amx_end();
  return sink[0] > 0 ? 4.0 * kIters * 16 * 16 * 32 * 2 / s * 1e-9 : 0.0;
}
#endif

}  // namespace urm::bench
