// A NaN or infinite weight, or activations that overflow, must not end in a
// silent NaN score: the forward pass checks the last token's hidden state
// after every layer and names the layer and the tensor at fault.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "support/checkpoint_copy.hpp"
#include "support/io_files.hpp"
#include "support/kernel_reference.hpp"
#include "support/model_fixtures.hpp"
#include "support/synthetic_model.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/model/llama_model.hpp"
#include "urm/model/reward_model.hpp"

using namespace urm;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Element i of an in-memory test weight (test::TensorStore owns the floats).
float& element(const TensorView& t, std::size_t i) {
  return const_cast<float*>(reinterpret_cast<const float*>(t.data))[i];
}

std::vector<std::int32_t> ids(std::size_t n) {
  std::vector<std::int32_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::int32_t>((7 * i + 3) % 50);
  return v;
}

}  // namespace

TEST_CASE("forward: a NaN weight is an error naming the first layer it reaches and the tensor") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  LlamaWeights w = test::random_weights(store, s);
  element(w.layers[1].w_down.stored(), 3 * s.ffn_dim + 7) = kNaN;
  const LlamaModel model(s, w);
  ThreadPool pool(2);
  LlamaState st;
  CHECK_THROWS_WITH_AS(model.forward(ids(9), st, LlamaOutput::Last, pool),
                       "layer 1: the hidden state of the last token is not finite: "
                       "model.layers.1.mlp.down_proj.weight holds nan at [3, 7]",
                       Error);
  // Fast mode reads the packed copy; the cause is still found in the stored tensor.
  LlamaModel fast(s, w);
  fast.pack_projections(pool, test::bf16_paths().front());
  st.clear();
  CHECK_THROWS_WITH_AS(fast.forward(ids(9), st, LlamaOutput::All, pool),
                       "layer 1: the hidden state of the last token is not finite: "
                       "model.layers.1.mlp.down_proj.weight holds nan at [3, 7]",
                       Error);
}

TEST_CASE("forward: an infinite embedding of an earlier token is found at layer 0, with its token and position") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  LlamaWeights w = test::random_weights(store, s);
  const auto in = ids(6);  // token 17 at position 2
  element(w.embed, static_cast<std::size_t>(in[2]) * s.dim + 5) = -kInf;
  const LlamaModel model(s, w);
  ThreadPool pool(1);
  LlamaState st;
  CHECK_THROWS_WITH_AS(model.forward(in, st, LlamaOutput::Last, pool),
                       "layer 0: the hidden state of the last token is not finite: "
                       "model.embed_tokens.weight holds -inf at [17, 5] (token 17 at position 2)",
                       Error);
}

TEST_CASE("forward: activations that overflow float32 are an error too, and a bad final norm is named") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  ThreadPool pool(1);
  LlamaState st;
  {
    LlamaWeights w = test::random_weights(store, s);
    for (std::size_t i = 0; i < s.dim; ++i) element(w.layers[0].ffn_norm, i) = 1e30f;  // finite, but x·1e30 overflows
    const LlamaModel model(s, w);
    CHECK_THROWS_WITH_AS(model.forward(ids(4), st, LlamaOutput::Last, pool),
                         "layer 0: the hidden state of the last token is not finite (no weight it reads is NaN or "
                         "infinite: the activations overflowed float32)",
                         Error);
  }
  {
    LlamaWeights w = test::random_weights(store, s);
    element(w.final_norm, 5) = kNaN;
    const LlamaModel model(s, w);
    st.clear();
    CHECK_THROWS_WITH_AS(model.forward(ids(4), st, LlamaOutput::Last, pool),
                         "final norm: the hidden state of the last token is not finite: model.norm.weight holds nan at "
                         "[5]",
                         Error);
    // Only the K/V of a prefix: no row is returned, nothing to check after the last layer.
    st.clear();
    CHECK(model.forward(ids(4), st, LlamaOutput::None, pool).empty());
  }
}

TEST_CASE("RewardModel: a checkpoint with a NaN weight gives an error, not a NaN score") {
  test::TempDir dir("nan-weight");
  test::copy_checkpoint(test::model_dir("small-gqa-bf16"), dir.path().string(),
                        [](const std::string& name, DType dtype, std::span<std::byte> bytes) {
                          if (name == "model.layers.2.self_attn.k_proj.weight") test::set_element(dtype, bytes, 300, kNaN);
                        });
  const std::vector<std::int32_t> in = {5, 17, 300, 2};
  const std::string error =
      "layer 2: the hidden state of the last token is not finite: model.layers.2.self_attn.k_proj.weight holds nan at "
      "[1, 44]";
  for (ComputeMode mode : {ComputeMode::Exact, ComputeMode::Fast}) {
    RewardModel::Options o;
    o.compute = mode;
    const RewardModel rm = RewardModel::load(dir.path().string(), o);
    CHECK_THROWS_WITH_AS(rm.score_ids(in), error.c_str(), Error);
  }
  // Int8 mode already at load: its calibration pass runs the model.
  RewardModel::Options o;
  o.compute = ComputeMode::Int8;
  CHECK_THROWS_WITH_AS(RewardModel::load(dir.path().string(), o), ("int8 calibration pass: " + error).c_str(), Error);
}

TEST_CASE("RewardModel: a NaN in the value head names the head's tensor") {
  test::TempDir dir("nan-head");
  test::copy_checkpoint(test::model_dir("small-gqa-bf16"), dir.path().string(),
                        [](const std::string& name, DType dtype, std::span<std::byte> bytes) {
                          if (name == "score.weight") test::set_element(dtype, bytes, 9, kInf);
                        });
  const RewardModel rm = RewardModel::load(dir.path().string());
  const std::vector<std::int32_t> in = {5, 17, 300, 2};
  CHECK_THROWS_WITH_AS(rm.score_ids(in), "value head: the reward is not finite: score.weight holds inf at [0, 9]",
                       Error);
}

TEST_CASE("RewardModel: rope_theta 1e-300 (0 in float32) is refused at load, not scored as NaN") {
  test::TempDir dir("rope-theta");
  test::copy_checkpoint(test::model_dir("small-gqa-bf16"), dir.path().string(), {},
                        [](nlohmann::json& c) { c["rope_theta"] = 1e-300; });
  CHECK_THROWS_WITH_AS(RewardModel::load(dir.path().string()),
                       "LlamaModel: RoPE frequency 1 is inf, expected a finite value (is rope_theta outside the "
                       "float32 range?)",
                       Error);
}
