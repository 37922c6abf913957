// LlamaModel on small random in-memory weights: the forward pass agrees with
// itself across output modes, prefix reuse and thread counts (exactly: the
// kernels are batch invariant, so a row's result does not depend on how many
// rows ran with it), and rejects bad inputs with exact messages. (Parity with
// the reference is test_model_parity.)
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "support/kernel_reference.hpp"
#include "support/synthetic_model.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/model/llama_model.hpp"

using namespace urm;

namespace {

std::vector<std::int32_t> some_ids(std::size_t n, std::uint32_t seed = 7) {
  std::vector<std::int32_t> ids(n);
  std::uint32_t x = seed;
  for (auto& id : ids) {
    x = x * 1664525u + 1013904223u;
    id = static_cast<std::int32_t>((x >> 8) % 50);
  }
  return ids;
}

std::vector<float> run(const LlamaModel& m, const std::vector<std::int32_t>& ids, LlamaOutput out, ThreadPool& pool) {
  LlamaState st;
  auto h = m.forward(ids, st, out, pool);
  return {h.begin(), h.end()};
}

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  float d = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

}  // namespace

TEST_CASE("LlamaModel: the last position alone equals the last row of all positions") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  const LlamaModel model(s, test::random_weights(store, s));
  ThreadPool pool(2);
  for (std::size_t n : {1u, 2u, 9u, 33u}) {
    const auto ids = some_ids(n);
    const auto all = run(model, ids, LlamaOutput::All, pool);
    const auto last = run(model, ids, LlamaOutput::Last, pool);
    REQUIRE(all.size() == n * s.dim);
    REQUIRE(last.size() == s.dim);
    CHECK(max_abs_diff(last, std::span(all).subspan((n - 1) * s.dim)) == 0.0f);
    // Row t of All only depends on tokens 0 … t (causality).
    const auto prefix_all = run(model, std::vector(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>((n + 1) / 2)),
                                LlamaOutput::All, pool);
    CHECK(max_abs_diff(prefix_all, std::span(all).first(prefix_all.size())) == 0.0f);
  }
}

TEST_CASE("LlamaModel: a cached prefix gives the same result as the whole sequence") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  const LlamaModel model(s, test::random_weights(store, s));
  ThreadPool pool(2);
  const auto ids = some_ids(20);
  const auto whole = run(model, ids, LlamaOutput::Last, pool);

  LlamaState st;
  const std::span<const std::int32_t> all(ids);
  CHECK(model.forward(all.first(12), st, LlamaOutput::None, pool).empty());
  CHECK(st.n_past() == 12);
  auto h = model.forward(all.subspan(12), st, LlamaOutput::Last, pool);
  CHECK(max_abs_diff(h, whole) == 0.0f);
  CHECK(st.n_past() == 20);

  // Rewind to the prefix and run another continuation: as if run whole.
  auto other = ids;
  other[15] = (other[15] + 1) % 50;
  other.push_back(3);
  const auto other_whole = run(model, other, LlamaOutput::Last, pool);
  st.rewind(12);
  h = model.forward(std::span<const std::int32_t>(other).subspan(12), st, LlamaOutput::Last, pool);
  CHECK(max_abs_diff(h, other_whole) == 0.0f);

  CHECK_THROWS_WITH_AS(st.rewind(22), "LlamaState: cannot rewind to 22 positions, only 21 are cached", Error);
}

TEST_CASE("LlamaModel: past kMlpRows rows the MLP runs in chunks, with the same result, in both modes") {
  test::TensorStore store;
  LlamaShape s = test::small_shape();
  s.max_positions = 4096;
  LlamaModel model(s, test::random_weights(store, s));
  ThreadPool pool(2);
  const std::size_t n = 2 * LlamaState::kMlpRows + 37, split = 600;  // three chunks whole; 600 + 1485 split
  const auto ids = some_ids(n);
  const std::span<const std::int32_t> all(ids);
  for (bool fast : {false, true}) {
    CAPTURE(fast);
    if (fast) model.pack_projections(pool, test::bf16_paths().front());
    const auto whole = run(model, ids, LlamaOutput::All, pool);
    LlamaState st;
    model.forward(all.first(split), st, LlamaOutput::None, pool);
    const auto rest = model.forward(all.subspan(split), st, LlamaOutput::All, pool);
    CHECK(max_abs_diff(rest, std::span(whole).subspan(split * s.dim)) == 0.0f);
  }
}

TEST_CASE("LlamaModel: results do not depend on the number of threads") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  const LlamaModel model(s, test::random_weights(store, s));
  const auto ids = some_ids(37);
  ThreadPool p1(1), p2(2), p7(7);
  const auto a = run(model, ids, LlamaOutput::All, p1);
  CHECK(a == run(model, ids, LlamaOutput::All, p2));
  CHECK(a == run(model, ids, LlamaOutput::All, p7));
}

TEST_CASE("LlamaModel: a state is reused across calls of different lengths") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  const LlamaModel model(s, test::random_weights(store, s));
  ThreadPool pool(1);
  LlamaState st;
  for (std::size_t n : {30u, 3u, 17u}) {
    const auto ids = some_ids(n, static_cast<std::uint32_t>(n));
    st.clear();
    const auto h = model.forward(ids, st, LlamaOutput::Last, pool);
    CHECK(std::vector<float>(h.begin(), h.end()) == run(model, ids, LlamaOutput::Last, pool));
  }
}

TEST_CASE("LlamaModel: the trace holds the last token's row at every stage") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  const LlamaModel model(s, test::random_weights(store, s));
  ThreadPool pool(1);
  const auto ids = some_ids(5);
  LlamaState st;
  std::vector<std::vector<float>> trace;
  const auto h = model.forward(ids, st, LlamaOutput::Last, pool, &trace);
  REQUIRE(trace.size() == s.n_layers + 2);
  for (const auto& row : trace) CHECK(row.size() == s.dim);
  CHECK(trace.back() == std::vector<float>(h.begin(), h.end()));
  // Row 0 is the embedding of the last token.
  for (std::size_t i = 0; i < s.dim; ++i) CHECK(trace[0][i] == model.weights().embed.get_f32(ids.back() * s.dim + i));
}

TEST_CASE("LlamaModel: bad inputs") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  const LlamaModel model(s, test::random_weights(store, s));
  ThreadPool pool(1);
  LlamaState st;
  CHECK_THROWS_WITH_AS(model.forward({}, st, LlamaOutput::Last, pool), "LlamaModel::forward: no tokens", Error);
  const auto long_ids = some_ids(65);
  CHECK_THROWS_WITH_AS(model.forward(long_ids, st, LlamaOutput::Last, pool),
                       "LlamaModel::forward: 65 positions, more than max_position_embeddings (64)", Error);
  const std::vector<std::int32_t> bad = {1, 2, 50};
  CHECK_THROWS_WITH_AS(model.forward(bad, st, LlamaOutput::Last, pool),
                       "token id 50 at position 2 is out of range [0, 50)", Error);
  // Past the first 256 positions (the lookup runs in parts) the position is still the input's.
  LlamaShape longer = s;
  longer.max_positions = 1000;
  const LlamaModel long_model(longer, test::random_weights(store, longer));
  auto late_bad = some_ids(600);
  late_bad[517] = -3;
  CHECK_THROWS_WITH_AS(long_model.forward(late_bad, st, LlamaOutput::Last, pool),
                       "token id -3 at position 517 is out of range [0, 50)", Error);
}

TEST_CASE("LlamaModel: weights of the wrong shape are rejected") {
  test::TensorStore store;
  const LlamaShape s = test::small_shape();
  LlamaWeights w = test::random_weights(store, s);
  w.layers[1].wk = store.random("model.layers.1.self_attn.k_proj.weight", {24, 24}, 0.1f);
  CHECK_THROWS_WITH_AS(
      LlamaModel(s, w),
      "LlamaModel: tensor \"model.layers.1.self_attn.k_proj.weight\" has shape [24, 24], expected [12, 24]", Error);
  LlamaShape bad = s;
  bad.n_kv_heads = 3;
  CHECK_THROWS_WITH_AS(LlamaModel(bad, test::random_weights(store, s)),
                       "LlamaModel: num_attention_heads (4) is not a multiple of num_key_value_heads (3)", Error);
  bad = s;
  bad.n_layers = 2;
  CHECK_THROWS_WITH_AS(LlamaModel(bad, test::random_weights(store, s)), "LlamaModel: 3 layers of weights, expected 2",
                       Error);
}

TEST_CASE("LlamaModel: any ascending rows give those rows of All, the last layer computing only them") {
  test::TensorStore store;
  LlamaShape s = test::small_shape();
  LlamaModel model(s, test::random_weights(store, s));
  ThreadPool pool(2);
  const auto ids = some_ids(23);
  const std::vector<std::vector<std::size_t>> selections = {{0}, {22}, {2, 5, 9}, {3, 4}, {0, 22}, {7}, {1, 2, 3, 21, 22}};
  for (bool fast : {false, true}) {
    CAPTURE(fast);
    if (fast) model.pack_projections(pool, test::bf16_paths().front());
    const auto all = run(model, ids, LlamaOutput::All, pool);
    for (const auto& rows : selections) {
      CAPTURE(rows.size());
      CAPTURE(rows.front());
      LlamaState st;
      const auto h = model.forward(ids, st, rows, pool);
      REQUIRE(h.size() == rows.size() * s.dim);
      for (std::size_t i = 0; i < rows.size(); ++i)
        CHECK(max_abs_diff(h.subspan(i * s.dim, s.dim), std::span(all).subspan(rows[i] * s.dim, s.dim)) <= 1e-6f);
      CHECK(st.n_past() == ids.size());
    }
    // After a cached prefix the rows index the continuation.
    LlamaState st;
    const std::span<const std::int32_t> in(ids);
    model.forward(in.first(10), st, LlamaOutput::None, pool);
    const std::vector<std::size_t> rows = {1, 4, 12};
    const auto h = model.forward(in.subspan(10), st, rows, pool);
    for (std::size_t i = 0; i < rows.size(); ++i)
      CHECK(max_abs_diff(h.subspan(i * s.dim, s.dim), std::span(all).subspan((10 + rows[i]) * s.dim, s.dim)) <= 1e-6f);
  }
  LlamaState st;
  const std::vector<std::size_t> unsorted = {4, 2}, beyond = {23};
  CHECK_THROWS_WITH_AS(model.forward(ids, st, unsorted, pool),
                       "LlamaModel::forward: rows must ascend within the 23 tokens given, row 1 is 2", Error);
  CHECK_THROWS_WITH_AS(model.forward(ids, st, beyond, pool),
                       "LlamaModel::forward: rows must ascend within the 23 tokens given, row 0 is 23", Error);
}

TEST_CASE("LlamaModel: Qwen3's q_norm and k_norm normalise each query and key head before RoPE") {
  test::TensorStore store;
  LlamaShape s = test::small_shape();
  s.qk_norm = true;
  const LlamaWeights w = test::random_weights(store, s);
  REQUIRE(w.layers[0].q_norm.shape == std::vector<std::int64_t>{6});
  const LlamaModel model(s, w);
  ThreadPool pool(1);
  const auto ids = some_ids(9);
  const auto all = run(model, ids, LlamaOutput::All, pool);
  // Without the norms the result differs: they are applied.
  LlamaShape plain = s;
  plain.qk_norm = false;
  LlamaWeights w_plain = w;
  for (auto& l : w_plain.layers) l.q_norm = l.k_norm = TensorView{};
  CHECK(max_abs_diff(all, run(LlamaModel(plain, w_plain), ids, LlamaOutput::All, pool)) > 1e-3f);
  // Scaling a query head's input leaves the normed query unchanged: q_norm(c·q) = q_norm(q) for c > 0.
  // So scaling every row of q_proj by 3 changes nothing (up to rounding).
  test::TensorStore scaled_store;
  LlamaWeights w3 = w;
  for (std::size_t l = 0; l < s.n_layers; ++l) {
    const TensorView& wq = w.layers[l].wq.stored();
    std::vector<float> q(static_cast<std::size_t>(wq.numel()));
    for (std::size_t i = 0; i < q.size(); ++i) q[i] = 3.0f * wq.get_f32(i);
    w3.layers[l].wq = scaled_store.from(wq.name, wq.shape, q);
  }
  CHECK(max_abs_diff(all, run(LlamaModel(s, w3), ids, LlamaOutput::All, pool)) <= 1e-4f);
  // A missing norm weight is named.
  LlamaWeights missing = w;
  missing.layers[1].k_norm = TensorView{};
  CHECK_THROWS_WITH_AS(LlamaModel(s, missing), "LlamaModel: no weight given for model.layers.1.self_attn.k_norm.weight",
                       Error);
}
