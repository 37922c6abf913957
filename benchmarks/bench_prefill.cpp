// bench-prefill — scoring speed of a reward model checkpoint: prefill
// tokens/s per compute mode, prompt length and thread count, the GFLOP/s that
// is and its fraction of the machine's measured peak, peak RSS; the speed-up
// of score_batch's prefix reuse; and the deviation of each mode from exact.
//
//   bench-prefill --model DIR [--modes exact,fast,int8,fast-single,PATH] [--lengths 64,512,2048]
//                 [--threads 1,2] [--reps 5] [--quick] [--no-prefill]
//                 [--prefix-reuse] [--deviation N] [--deviation-max-len L]
//
// Modes: exact (the path RewardModel's exact mode takes for this checkpoint on
// this CPU, kernels::exact_mode_path: float32 on the stored weights, or on
// AMX bf16x3-amx for BF16 weights and bf16x3w2-amx for F16 ones), fast (the path RewardModel's
// fast mode takes on this CPU, kernels::fast_mode_path), int8 (int8 mode's,
// kernels::int8_mode_path), fast-single (bf16
// projections on the best bf16 kernel with one rounding of x: half the work,
// larger deviations; for comparison only), or a path by name
// (kernels::linear_path_name: float32, bf16x2-amx, bf16x2-avx512_bf16,
// bf16x1-generic, bf16x3w2-avx512_bf16 (F16 weights), ... run as fast mode; int8x2-avx2, int8x1-avx512_vnni, ...
// run as int8 mode: a way to force a kernel).
//
// Prefill: one forward pass over random token ids of the given length (the
// last position's hidden state, as scoring needs), median of --reps runs after
// one warm-up (--quick: one run, no warm-up, for the 8B shape). Flops counted
// are the ones the model defines: 2 · (projection parameters) per token and
// row computed (the last layer computes q, o and the MLP for the last row
// only) plus causal attention 4 · heads · head_dim per (query, key) pair;
// fast mode's split rounding executes twice the projection flops but is
// credited with the model's. "cpu" rates divide by process CPU time / threads:
// what the run would take if its threads had the cores to themselves (the
// machine may be shared; wall time then also counts others' time slices).
//
// Prefix reuse: a 400-token prompt + 8 responses of 100 tokens, scored with
// score_ids_batch (prompt once) and one by one; speed-up and max |difference|.
//
// Deviation: N random sequences of 8 … L (default 256) tokens scored on the
// float32 FMA path (exact mode's arithmetic without AMX: the reference) and
// in every mode of --modes that takes another path; per mode the median /
// p95 / max of |mode − FMA|, also as a percentage of the std of the FMA
// scores (the spread a ranking of responses works with), and the Spearman
// rank correlation with them (int8 mode's targets: >= 0.999, max <= 2% of
// the std).
//
// Peak RSS (getrusage) is per process: run one mode per process to compare.
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "urm/core/cpu_features.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/model/reward_model.hpp"

namespace {

using namespace urm::bench;

std::vector<std::size_t> numbers(const std::string& s) {
  std::vector<std::size_t> out;
  std::istringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::strtoull(item.c_str(), nullptr, 10));
  return out;
}
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}
double current_rss_mb() {
  std::ifstream f("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  f >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

std::vector<std::int32_t> random_ids(std::size_t n, std::size_t vocab, std::mt19937& rng) {
  std::uniform_int_distribution<std::int32_t> d(0, static_cast<std::int32_t>(std::min<std::size_t>(vocab, 128000) - 1));
  std::vector<std::int32_t> ids(n);
  for (auto& t : ids) t = d(rng);
  return ids;
}

// Flops of one forward pass over n new tokens after `past`, returning the last position.
double forward_flops(const urm::LlamaShape& s, std::size_t n, std::size_t past) {
  const double D = static_cast<double>(s.dim), Q = static_cast<double>(s.q_dim()), KV = static_cast<double>(s.kv_dim()),
               F = static_cast<double>(s.ffn_dim);
  const double kv_params = 2 * KV * D, rest_params = Q * D + D * Q + 3 * F * D;
  double pairs_all = 0;  // (query, key) pairs of the causal attention over n rows
  for (std::size_t i = 0; i < n; ++i) pairs_all += static_cast<double>(past + i + 1);
  const double attn_per_pair = 4.0 * static_cast<double>(s.n_heads * s.head_dim);
  const double L = static_cast<double>(s.n_layers), nn = static_cast<double>(n);
  const double full_layer = 2 * nn * (kv_params + rest_params) + attn_per_pair * pairs_all;
  const double last_layer = 2 * nn * kv_params + 2 * rest_params + attn_per_pair * static_cast<double>(past + n);
  return (L - 1) * full_layer + last_layer;
}

struct Mode {
  std::string name;
  urm::ComputeMode compute;
  std::optional<urm::kernels::LinearPath> path;  // of the projections; unset: the mode's own
};

// Spearman's rank correlation: Pearson's of the ranks (ties get their mean rank).
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    for (std::size_t t = i; t <= j; ++t) r[order[t]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return r;
}
double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size()), mean = (n - 1) / 2;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

std::optional<Mode> mode_named(const std::string& name) {
  using urm::kernels::LinearKind;
  if (name == "exact") return Mode{name, urm::ComputeMode::Exact, std::nullopt};
  if (name == "fast") return Mode{name, urm::ComputeMode::Fast, std::nullopt};  // fast_mode_path for the dtype
  if (name == "int8") return Mode{name, urm::ComputeMode::Int8, urm::kernels::int8_mode_path()};
  if (name == "fast-single")
    return Mode{name, urm::ComputeMode::Fast, urm::kernels::LinearPath{LinearKind::PackedBf16, urm::kernels::best_bf16_kernel(), 1}};
  std::vector<urm::kernels::LinearPath> paths = {urm::kernels::kStoredPath};
  for (auto kernel : urm::kernels::kBf16Kernels)
    for (std::size_t parts = 1; parts <= urm::kernels::kMaxBf16Parts; ++parts) {
      paths.push_back({LinearKind::PackedBf16, kernel, parts});
      if (parts >= 2)  // float16 weights split in two
        paths.push_back({.kind = LinearKind::PackedBf16, .bf16_kernel = kernel, .parts = parts, .weight_parts = 2});
    }
  for (auto kernel : urm::kernels::kInt8Kernels)
    for (std::size_t parts = 1; parts <= urm::kernels::kMaxInt8Parts; ++parts)
      paths.push_back({.kind = LinearKind::PackedInt8, .parts = parts, .int8_kernel = kernel});
  for (const auto& p : paths)
    if (urm::kernels::linear_path_name(p) == name)
      return Mode{name, p.kind == LinearKind::PackedInt8 ? urm::ComputeMode::Int8 : urm::ComputeMode::Fast, p};
  return std::nullopt;
}

urm::RewardModel load(const std::string& dir, const Mode& mode, std::size_t threads) {
  urm::RewardModel::Options o;
  o.compute = mode.compute;
  switch (mode.compute) {
    case urm::ComputeMode::Exact: o.exact_path = mode.path; break;
    case urm::ComputeMode::Fast: o.fast_path = mode.path; break;
    case urm::ComputeMode::Int8: o.int8_path = mode.path; break;
  }
  o.threads = threads;
  return urm::RewardModel::load(dir, o);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir;
  std::vector<std::string> mode_names = {"exact", "fast"};
  std::vector<std::size_t> lengths = {64, 512, 2048}, thread_counts = {1, 2};
  std::size_t reps = 5, deviation = 0, deviation_max_len = 256;
  bool quick = false, prefill = true, prefix_reuse = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench-prefill: %s needs a value\n", flag.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--model") model_dir = value();
    else if (flag == "--modes") mode_names = words(value());
    else if (flag == "--lengths") lengths = numbers(value());
    else if (flag == "--threads") thread_counts = numbers(value());
    else if (flag == "--reps") reps = std::max<std::size_t>(1, std::strtoull(value().c_str(), nullptr, 10));
    else if (flag == "--quick") quick = true, reps = 1;
    else if (flag == "--no-prefill") prefill = false;
    else if (flag == "--prefix-reuse") prefix_reuse = true;
    else if (flag == "--deviation-max-len") deviation_max_len = std::max<std::size_t>(8, std::strtoull(value().c_str(), nullptr, 10));
    else if (flag == "--deviation") deviation = std::strtoull(value().c_str(), nullptr, 10);
    else {
      std::fprintf(stderr, "bench-prefill: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (model_dir.empty()) {
    std::fprintf(stderr, "bench-prefill: --model DIR is required (make one with urm-make-random-model)\n");
    return 2;
  }
  std::vector<Mode> modes;
  for (const auto& n : mode_names) {
    const auto m = mode_named(n);
    if (!m) {
      std::fprintf(stderr, "bench-prefill: unknown mode %s (exact, fast, int8, fast-single or a path name)\n", n.c_str());
      return 2;
    }
    modes.push_back(*m);
  }

  std::printf("machine : %s, %u hardware threads, load average %s\n", cpu_model().c_str(),
              std::thread::hardware_concurrency(), load_average().c_str());
  std::printf("compiler: %s, flags: %s\n", __VERSION__, URM_BUILD_FLAGS);
  std::printf("%s\n", urm::kernels::describe_kernels().c_str());
  const double fma_peak = fma_peak_gflops();
  double amx_peak = 0;
#if URM_HAVE_X86_KERNELS
  if (urm::kernels::bf16_kernel_available(urm::kernels::Bf16Kernel::Amx, urm::cpu_features())) amx_peak = amx_peak_gflops();
#endif
  std::printf("peak (1 thread, per CPU second): float32 FMA %.0f GFLOP/s, AMX bf16 %.0f GFLOP/s\n", fma_peak,
              amx_peak);
  std::printf("model   : %s\n", model_dir.c_str());
  std::printf("timing  : %s; 'wall' = tokens / wall time, 'cpu' = tokens / (process CPU time / threads)\n\n",
              quick ? "one run, no warm-up (--quick)" : ("median of " + std::to_string(reps) + " runs after one warm-up").c_str());
  std::fflush(stdout);

  std::mt19937 rng(42);
  const std::size_t max_threads = *std::max_element(thread_counts.begin(), thread_counts.end());
  for (const Mode& mode : modes) {
    if (!prefill && !prefix_reuse) break;
    const auto t_load = Clock::now();
    const urm::RewardModel rm = load(model_dir, mode, max_threads);
    const urm::LlamaModel& model = rm.model();
    std::printf("== mode %s (path %s): loaded in %.1f s, RSS %.0f MB (peak %.0f MB)\n", mode.name.c_str(),
                urm::kernels::linear_path_name(model.path()).c_str(), seconds_since(t_load), current_rss_mb(),
                peak_rss_mb());
    if (prefill) {
      std::printf("%-12s %6s %7s %10s %10s %10s %10s %8s %9s %s\n", "mode", "tokens", "threads", "wall tok/s",
                  "cpu tok/s", "wall GF/s", "cpu GF/s", "cpu peak", "peak RSS", "load");
      for (std::size_t n : lengths)
        for (std::size_t t : thread_counts) {
          urm::ThreadPool pool(t);
          urm::LlamaState st;
          const auto ids = random_ids(n, model.shape().vocab, rng);
          std::vector<double> wall, cpu;
          for (std::size_t r = 0; r < reps + (quick ? 0 : 1); ++r) {
            st.clear();
            const auto t0 = Clock::now();
            const double c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
            model.forward(ids, st, urm::LlamaOutput::Last, pool);
            const double w = seconds_since(t0), c = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
            if (quick || r > 0) wall.push_back(w), cpu.push_back(c / static_cast<double>(t));
          }
          const double w = median(wall), c = median(cpu), flops = forward_flops(model.shape(), n, 0);
          const bool on_amx = model.path().kind == urm::kernels::LinearKind::PackedBf16 &&
                              model.path().bf16_kernel == urm::kernels::Bf16Kernel::Amx;
          const double peak = (on_amx ? amx_peak : fma_peak) * static_cast<double>(t);
          std::printf("%-12s %6zu %7zu %10.1f %10.1f %10.0f %10.0f %7.0f%% %6.0f MB %s\n", mode.name.c_str(), n, t,
                      static_cast<double>(n) / w, static_cast<double>(n) / c, flops / w * 1e-9, flops / c * 1e-9,
                      peak > 0 ? 100.0 * flops / c * 1e-9 / peak : 0.0, peak_rss_mb(), load_average().c_str());
          std::fflush(stdout);
        }
    }
    if (prefix_reuse) {
      // 400-token prompt, 8 responses of 100 tokens.
      const auto prompt = random_ids(400, model.shape().vocab, rng);
      std::vector<std::vector<std::int32_t>> batch;
      for (int i = 0; i < 8; ++i) {
        auto ids = prompt;
        const auto resp = random_ids(100, model.shape().vocab, rng);
        ids.insert(ids.end(), resp.begin(), resp.end());
        batch.push_back(ids);
      }
      auto t0 = Clock::now();
      double c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
      const auto together = rm.score_ids_batch(batch);
      const double w_batch = seconds_since(t0), c_batch = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
      t0 = Clock::now();
      c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
      double max_diff = 0;
      for (std::size_t i = 0; i < batch.size(); ++i)
        max_diff = std::max(max_diff, static_cast<double>(std::abs(rm.score_ids(batch[i]).reward - together[i].reward)));
      const double w_alone = seconds_since(t0), c_alone = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
      std::printf("prefix reuse (%s, %zu threads, 400-token prompt + 8 x 100): score_ids_batch %.2f s wall / %.2f s cpu, "
                  "one by one %.2f s wall / %.2f s cpu: speed-up %.2fx wall, %.2fx cpu; max |score diff| %.3g  (load %s)\n",
                  mode.name.c_str(), rm.threads(), w_batch, c_batch, w_alone, c_alone, w_alone / w_batch,
                  c_alone / c_batch, max_diff, load_average().c_str());
      std::fflush(stdout);
    }
    std::printf("\n");
  }

  if (deviation > 0) {
    std::vector<std::vector<std::int32_t>> inputs;
    std::uniform_int_distribution<std::size_t> len(8, deviation_max_len);
    // The reference: exact mode on the float32 FMA path (the reference's
    // arithmetic, whatever exact mode takes on this CPU).
    std::vector<double> fma_scores;
    {
      const urm::RewardModel fma =
          load(model_dir, Mode{"float32", urm::ComputeMode::Exact, urm::kernels::kStoredPath}, max_threads);
      for (std::size_t i = 0; i < deviation; ++i) inputs.push_back(random_ids(len(rng), fma.model().shape().vocab, rng));
      for (const auto& ids : inputs) fma_scores.push_back(fma.score_ids(ids).reward);
    }
    double mean = 0, var = 0;
    for (double e : fma_scores) mean += e / static_cast<double>(fma_scores.size());
    for (double e : fma_scores) var += (e - mean) * (e - mean) / static_cast<double>(fma_scores.size());
    const double sd = std::sqrt(var);
    std::printf("float32 FMA scores of %zu random sequences of 8-%zu tokens: mean %.4g, std %.4g\n", inputs.size(),
                deviation_max_len, mean, sd);
    for (const Mode& mode : modes) {
      const urm::RewardModel other = load(model_dir, mode, max_threads);
      if (other.model().path() == urm::kernels::kStoredPath) continue;  // the reference itself
      std::vector<double> scores, diff;
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        scores.push_back(other.score_ids(inputs[i]).reward);
        diff.push_back(std::abs(scores.back() - fma_scores[i]));
      }
      std::sort(diff.begin(), diff.end());
      const auto at = [&](double q) { return diff[std::min(diff.size() - 1, static_cast<std::size_t>(q * static_cast<double>(diff.size())))]; };
      const auto rel = [&](double d) { return sd > 0 ? 100.0 * d / sd : 0.0; };
      std::printf("%s (path %s) vs float32 FMA: |diff| median %.3g, p95 %.3g, max %.3g = %.2f%% / %.2f%% / %.2f%% of the std; "
                  "Spearman %.6f; %zu above 0.02\n",
                  mode.name.c_str(), urm::kernels::linear_path_name(other.model().path()).c_str(), at(0.5), at(0.95),
                  diff.back(), rel(at(0.5)), rel(at(0.95)), rel(diff.back()), spearman(scores, fma_scores),
                  static_cast<std::size_t>(std::count_if(diff.begin(), diff.end(), [](double d) { return d > 0.02; })));
      std::fflush(stdout);
    }
  }
  std::printf("peak RSS of this process: %.0f MB\n", peak_rss_mb());
  return 0;
}
