// Int8 mode (ComputeMode::Int8): the projections on int8 weights with
// per-channel scales and activations in two int8 parts per token
// (kernels::int8_mode_path). Its accuracy, measured against exact mode:
//   * on the fixture checkpoints, |int8 − exact| of every case;
//   * on random inputs to random in-memory models, one plain and one with
//     massive activations (a few residual channels 100-1000x the rest), the
//     Spearman rank correlation (target >= 0.999) and the max deviation
//     relative to the std of the exact scores (target <= 2%).
// The distributions are printed (doctest MESSAGE, visible with -s). And it
// is batch invariant like the other modes: every int8 kernel gives the same
// bits, alone, in a batch, for any number of threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "support/kernel_reference.hpp"
#include "support/model_fixtures.hpp"
#include "support/synthetic_model.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/model/reward_model.hpp"

using namespace urm;
using namespace urm::test;

namespace {

RewardModel load_int8(const std::string& name, std::size_t threads = 2,
                      std::optional<kernels::LinearPath> path = std::nullopt) {
  RewardModel::Options o;
  o.compute = ComputeMode::Int8;
  o.threads = threads;
  o.int8_path = path;
  return RewardModel::load(model_dir(name), o);
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size(); ++i) r[order[i]] = static_cast<double>(i);  // no ties in these data
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const auto ra = ranks(a), rb = ranks(b);
  const double mean = static_cast<double>(a.size() - 1) / 2;
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += (ra[i] - mean) * (rb[i] - mean);
    aa += (ra[i] - mean) * (ra[i] - mean);
    bb += (rb[i] - mean) * (rb[i] - mean);
  }
  return ab / std::sqrt(aa * bb);
}

double stddev(const std::vector<double>& v) {
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double s = 0;
  for (double x : v) s += (x - mean) * (x - mean);
  return std::sqrt(s / static_cast<double>(v.size()));
}

// A random Llama decoder with weights scaled like a trained one's (rows of
// norm about 1 for the projections, so activations stay O(1) through the
// layers); with massive activations, channels 5, 40 and 77 of the residual
// stream are 100, 300 and 1000x the rest: their embedding columns and their
// o_proj / down_proj rows are scaled, as urm-make-random-model --outliers does.
struct RandomDecoder {
  TensorStore store;
  LlamaShape shape;
  LlamaWeights weights;

  explicit RandomDecoder(bool massive) {
    shape = small_shape();  // GQA 2:1, widened
    shape.dim = 128;
    shape.n_layers = 4;
    shape.head_dim = 32;
    shape.ffn_dim = 256;
    shape.vocab = 500;
    shape.max_positions = 128;
    shape.rope_inv_freq = kernels::rope_inv_freq(shape.head_dim, 10000.0f);
    const std::vector<std::pair<std::size_t, float>> channels = {{5, 100.0f}, {40, 300.0f}, {77, 1000.0f}};
    weights = LlamaWeights::from_tensors(backbone_tensors(shape.dims()), shape.n_layers, [&](const ModelTensor& t) {
      switch (t.role) {
        case TensorRole::AttnNorm:
        case TensorRole::FfnNorm:
        case TensorRole::FinalNorm:
        case TensorRole::QNorm:
        case TensorRole::KNorm: return store.ones_plus_noise(t.name, t.shape[0]);
        default: break;
      }
      const float scale = t.role == TensorRole::Embed ? 0.05f : 1.0f / std::sqrt(static_cast<float>(t.shape[1]));
      TensorView v = store.random(t.name, t.shape, scale);
      std::vector<float>& buf = store.buffers.back();
      const auto cols = static_cast<std::size_t>(t.shape[1]);
      if (massive)
        for (const auto& [c, f] : channels) {
          if (t.role == TensorRole::Embed)
            for (std::size_t r = 0; r < buf.size() / cols; ++r) buf[r * cols + c] *= f;
          if (t.role == TensorRole::Wo || t.role == TensorRole::WDown)
            for (std::size_t j = 0; j < cols; ++j) buf[c * cols + j] *= f;
        }
      return v;
    });
  }
};

struct Deviation {
  double spearman = 0, max_rel = 0, p95_rel = 0;
};

// Scores (a fixed random readout of the last position's final hidden state)
// of `inputs` random sequences, exact vs int8 mode's path.
Deviation measure(bool massive, std::size_t inputs) {
  RandomDecoder d(massive);
  ThreadPool pool(2);
  const LlamaModel exact(d.shape, d.weights);
  LlamaModel int8(d.shape, d.weights);
  int8.pack_projections(pool, kernels::int8_mode_path());
  std::mt19937 rng(massive ? 11 : 12);
  const std::vector<float> readout = random_floats(d.shape.dim, rng);
  std::uniform_int_distribution<std::int32_t> token(0, static_cast<std::int32_t>(d.shape.vocab - 1));
  std::uniform_int_distribution<std::size_t> length(8, 48);
  std::vector<double> e, q, diff;
  LlamaState st;
  for (std::size_t i = 0; i < inputs; ++i) {
    std::vector<std::int32_t> ids(length(rng));
    for (auto& t : ids) t = token(rng);
    const auto score = [&](const LlamaModel& m) {
      st.clear();
      const auto h = m.forward(ids, st, LlamaOutput::Last, pool);
      return static_cast<double>(std::inner_product(h.begin(), h.end(), readout.begin(), 0.0f));
    };
    e.push_back(score(exact));
    q.push_back(score(int8));
    diff.push_back(std::abs(q.back() - e.back()));
  }
  std::sort(diff.begin(), diff.end());
  const double sd = stddev(e);
  Deviation dev{spearman(e, q), diff.back() / sd, diff[diff.size() * 95 / 100] / sd};
  MESSAGE(std::string(massive ? "massive activations" : "plain") << " random model, " << inputs << " inputs: exact std " << sd
                                                      << ", |int8 - exact| p95 " << 100 * dev.p95_rel << "%, max "
                                                      << 100 * dev.max_rel << "% of the std, Spearman "
                                                      << dev.spearman);
  return dev;
}

}  // namespace

TEST_CASE("int8 mode: the name, the path, the packed weights") {
  CHECK(parse_compute_mode("int8") == ComputeMode::Int8);
  CHECK(compute_mode_name(ComputeMode::Int8) == "int8");
  const RewardModel rm = load_int8("small-gqa-bf16");
  CHECK(rm.model().path() == kernels::int8_mode_path());
  CHECK(rm.model().path().kind == kernels::LinearKind::PackedInt8);
  for (const auto& layer : rm.model().weights().layers) {
    CHECK(layer.wq.path() == kernels::int8_mode_path());
    // int8: one byte per weight (k padded to 64, n to 16) plus 8 bytes per output.
    const auto n = static_cast<std::size_t>(layer.wq.stored().dim(0)), k = static_cast<std::size_t>(layer.wq.stored().dim(1));
    CHECK(layer.wq.own_bytes() == (n + 15) / 16 * 16 * ((k + 63) / 64 * 64 + 8));
  }
}

TEST_CASE("int8 mode: a path this machine cannot run is an exact error at load") {
  RewardModel::Options o;
  o.compute = ComputeMode::Int8;
  o.int8_path = kernels::LinearPath{.kind = kernels::LinearKind::PackedInt8, .parts = 3};
  CHECK_THROWS_WITH_AS(RewardModel::load(model_dir("small-gqa-bf16"), o),
                       ("pack_linear: path int8x3-generic for model.layers.0.self_attn.q_proj.weight is not available "
                        "on this machine (" + cpu_features().brand + ")")
                           .c_str(),
                       Error);
}

TEST_CASE("int8 mode: the fixtures' scores near exact mode, every int8 kernel bitwise the same") {
  // Measured max |int8 - exact| (native build, AVX512-VNNI; every kernel
  // gives the same bits): 0.0193 (tiny-urm-llama3, 50 cases), 0.0678
  // (small-gqa-bf16, 9 cases), 0.1445 (small-urm31-gated, 9 cases); the
  // bounds below are those with a margin. For scale: fast mode's rounding of
  // float16 weights to bfloat16 gives 0.0185 on tiny-urm-llama3; int8 weights
  // round about 3x coarser than bfloat16 (benchmarks/RESULTS.md, "Int8 mode").
  const std::vector<std::pair<const char*, float>> bounds = {
      {"tiny-urm-llama3", 0.03f}, {"small-gqa-bf16", 0.1f}, {"small-urm31-gated", 0.2f}};
  for (const auto& [name, bound] : bounds) {
    CAPTURE(name);
    RewardModel::Options o;
    o.threads = 2;
    const std::vector<float> e = rewards(RewardModel::load(model_dir(name), o), cases(name));
    const std::vector<float> q = rewards(load_int8(name), cases(name));
    std::vector<float> diff;
    for (std::size_t i = 0; i < e.size(); ++i) diff.push_back(std::abs(q[i] - e[i]));
    std::sort(diff.begin(), diff.end());
    MESSAGE(std::string(name) << ": |int8 - exact| over " << diff.size() << " cases: median " << diff[diff.size() / 2] << ", max "
                 << diff.back());
    CHECK(diff.back() <= bound);
    CHECK(diff.back() > 0.0f);  // it really runs in int8
    for (kernels::Int8Kernel k : kernels::kInt8Kernels) {
      if (!kernels::int8_kernel_available(k, cpu_features()) || k == kernels::int8_mode_path().int8_kernel) continue;
      CAPTURE(kernels::int8_kernel_name(k));
      kernels::LinearPath p = kernels::int8_mode_path();
      p.int8_kernel = k;
      CHECK(rewards(load_int8(name, 2, p), cases(name)) == q);
    }
  }
}

TEST_CASE("int8 mode: the calibration pass keeps the massive channels in float32, and only those") {
  for (bool massive : {false, true}) {
    CAPTURE(massive);
    RandomDecoder d(massive);
    ThreadPool pool(2);
    LlamaModel int8(d.shape, d.weights);
    int8.pack_projections(pool, kernels::int8_mode_path());
    const std::vector<std::uint32_t> channels = massive ? std::vector<std::uint32_t>{5, 40, 77} : std::vector<std::uint32_t>{};
    for (const LlamaLayerWeights& w : int8.weights().layers) {
      // The residual stream's massive channels: inputs of the projections
      // that read rmsnorm(x), outputs of those that write x.
      for (const kernels::Linear* p : {&w.wq, &w.wk, &w.wv, &w.w_gate, &w.w_up}) {
        CAPTURE(p->name());
        CHECK(p->float_channels().inputs == channels);
        CHECK(p->float_channels().outputs.empty());
      }
      for (const kernels::Linear* p : {&w.wo, &w.w_down}) {
        CAPTURE(p->name());
        CHECK(p->float_channels().outputs == channels);
      }
      CHECK(w.wo.float_channels().inputs.empty());
      // down_proj's input silu(g) · u: on the massive model a few of its
      // channels stand out too (2-8 per layer, measured); none on the plain one.
      CHECK(w.w_down.float_channels().inputs.size() <= (massive ? 8u : 0u));
    }
  }
}

TEST_CASE("int8 mode: rank correlation and deviation on random inputs, with and without massive activations") {
  // The targets: Spearman >= 0.999 and max deviation <= 2% of the std
  // of the exact scores (benchmarks/RESULTS.md, "Int8 mode"):
  //   plain: Spearman 0.99924 (met), max 10.4% of the std (missed). The int8
  //     weights set it: round to nearest per output channel has a relative
  //     RMS error of max|w| / (127 √12 rms(w)), 0.6-0.8% per Gaussian weight,
  //     and the errors of every projection add up in the residual stream
  //     (each kind alone, measured: q/k/v 6.0%, o 5.3%, gate/up 3.8%, down
  //     3.5%). Even the rate-distortion bound of 8 bits per Gaussian weight
  //     (σ · 2⁻⁸) is only 2x below round to nearest's error.
  //   massive activations: with the massive channels in float32 (inputs and
  //     outputs, found by the calibration pass) Spearman 0.99996 (met), max
  //     5.8% of the std (missed, below the plain model's); without them it
  //     was Spearman 0.983, max 70-107%.
  // The CHECKs hold what is measured, with a margin, so a regression fails;
  // the WARNs are the targets, reported while they are missed.
  const Deviation plain = measure(false, 150);
  CHECK(plain.spearman >= 0.999);
  CHECK(plain.max_rel <= 0.15);
  WARN(plain.max_rel <= 0.02);
  const Deviation massive = measure(true, 150);
  CHECK(massive.spearman >= 0.9995);
  CHECK(massive.max_rel <= 0.1);
  WARN(massive.max_rel <= 0.02);
}

TEST_CASE("int8 mode: score_ids_batch and score_ids give the same bits, for 1 and 2 threads") {
  const auto& cs = cases("small-gqa-bf16");
  std::vector<std::vector<std::int32_t>> inputs;
  for (const auto& c : cs) inputs.push_back(ids_of(c));
  const auto prompt = inputs[6];  // 129 tokens
  std::vector<std::vector<std::int32_t>> batch;
  for (std::size_t i : {0u, 1u, 2u}) {
    auto ids = prompt;
    ids.insert(ids.end(), inputs[i].begin(), inputs[i].end());
    batch.push_back(ids);
  }
  batch.push_back(std::vector<std::int32_t>(prompt.begin(), prompt.begin() + 40));
  for (kernels::Int8Kernel k : kernels::kInt8Kernels) {
    if (!kernels::int8_kernel_available(k, cpu_features())) continue;
    CAPTURE(kernels::int8_kernel_name(k));
    kernels::LinearPath p = kernels::int8_mode_path();
    p.int8_kernel = k;
    const RewardModel one = load_int8("small-gqa-bf16", 1, p), two = load_int8("small-gqa-bf16", 2, p);
    const auto scores = two.score_ids_batch(batch);
    REQUIRE(scores.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      CHECK(scores[i].reward == one.score_ids(batch[i]).reward);
      CHECK(scores[i].reward == two.score_ids(batch[i]).reward);
    }
  }
}
