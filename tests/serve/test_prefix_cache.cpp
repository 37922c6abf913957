// PrefixCache and CachedScorer on the tiny-urm-llama3 fixture: scores with the
// cache equal RewardModel::score_ids bit for bit (shared prompts, repeats,
// prefixes of cached inputs, splits, evictions, truncation), the radix tree's
// statistics are exact, the byte bound holds and eviction is least recently
// used; LlamaState's K/V copy API and RewardModel::score_continuation.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/async.hpp"
#include "urm/serve/cached_scorer.hpp"
#include "urm/serve/prefix_cache.hpp"

using namespace urm;
using urm::test::same_bits;

namespace {

std::shared_ptr<const RewardModel> tiny(std::size_t threads = 2, Truncation t = Truncation::Error, std::size_t max_tokens = 0) {
  RewardModel::Options o;
  o.threads = threads;
  o.truncation = t;
  o.max_tokens = max_tokens;
  return std::make_shared<const RewardModel>(RewardModel::load(urm::test::model_dir(), o));
}

// n ids in [1000, 60000) from a seeded generator.
std::vector<std::int32_t> random_ids(std::size_t n, std::uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<std::int32_t> d(1000, 59999);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

std::vector<std::int32_t> cat(std::vector<std::int32_t> a, const std::vector<std::int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("LlamaState: copy_kv and append_kv move K/V rows out and back in") {
  const auto rm = tiny();
  const LlamaShape& s = rm->model().shape();
  const auto ids = random_ids(20, 1);
  ThreadPool pool(1);
  LlamaState full;
  rm->model().forward(ids, full, LlamaOutput::None, pool);
  CHECK(LlamaState::kv_floats_per_position(s) == 2 * s.n_layers * s.kv_dim());

  const std::vector<float> block = full.copy_kv(s, 0, 20);
  REQUIRE(block.size() == 20 * LlamaState::kv_floats_per_position(s));
  LlamaState restored;
  restored.append_kv(s, block, 20, 0, 12);  // positions 0 … 11
  restored.append_kv(s, block, 20, 12, 8);  // 12 … 19
  CHECK(restored.n_past() == 20);
  CHECK(restored.copy_kv(s, 0, 20) == block);
  CHECK(restored.copy_kv(s, 5, 3) == full.copy_kv(s, 5, 3));

  CHECK_THROWS_WITH(full.copy_kv(s, 15, 6), "LlamaState::copy_kv: positions 15 to 21 asked for, only 20 are cached");
  CHECK_THROWS_WITH(restored.append_kv(s, block, 20, 18, 3),
                    ("LlamaState::append_kv: a block of " + std::to_string(block.size()) +
                     " floats for 20 positions, rows 18 to 21 asked for")
                        .c_str());
  CHECK_THROWS_WITH(restored.append_kv(s, block, 19, 0, 1),
                    ("LlamaState::append_kv: a block of " + std::to_string(block.size()) +
                     " floats for 19 positions, rows 0 to 1 asked for")
                        .c_str());
}

TEST_CASE("RewardModel::score_continuation: a restored prefix gives the score of the whole input, bit for bit") {
  const auto rm = tiny();
  const LlamaShape& s = rm->model().shape();
  const auto ids = random_ids(40, 2);
  const Score whole = rm->score_ids(ids);
  ThreadPool pool(1);
  LlamaState prefix;
  rm->model().forward(std::span(ids).first(25), prefix, LlamaOutput::None, pool);
  LlamaState st;
  st.append_kv(s, prefix.copy_kv(s, 0, 25), 25, 0, 25);
  CHECK(same_bits(rm->score_continuation(ids, st), whole));
  CHECK(st.n_past() == 40);
  LlamaState empty;
  CHECK(same_bits(rm->score_continuation(ids, empty), whole));
  CHECK_THROWS_WITH(rm->score_continuation(std::span(ids).first(40), st),
                    "RewardModel::score_continuation: the state holds 40 positions, the input has 40 (at least one "
                    "must be left to run)");
  CHECK(rm->scored_ids(ids).size() == 40);
  CHECK_THROWS_WITH(rm->scored_ids(std::vector<std::int32_t>{}), "empty input: there is no token to score");
  // Ids are range-checked once, where the model looks them up.
  LlamaState fresh;
  CHECK_THROWS_WITH(rm->score_continuation(std::vector<std::int32_t>{5, -1}, fresh),
                    "token id -1 at position 1 is out of range [0, 128257)");
}

TEST_CASE("CachedScorer: scores equal RewardModel::score_ids bit for bit") {
  const auto rm = tiny();
  const auto prompt = random_ids(60, 3);
  std::vector<std::vector<std::int32_t>> inputs;
  for (std::uint32_t r = 0; r < 4; ++r) inputs.push_back(cat(prompt, random_ids(10 + 3 * r, 10 + r)));
  inputs.push_back(inputs[1]);                                                      // a repeat: only its last token runs
  inputs.push_back(std::vector<std::int32_t>(prompt.begin(), prompt.begin() + 30));  // a prefix of a cached edge
  inputs.push_back(cat(std::vector<std::int32_t>(prompt.begin(), prompt.begin() + 45), random_ids(7, 20)));  // a split
  inputs.push_back(random_ids(33, 21));                                             // nothing in common
  for (const auto& g : urm::test::golden_ids()) inputs.push_back(g);

  std::vector<Score> expected;
  for (const auto& x : inputs) expected.push_back(rm->score_ids(x));
  for (std::size_t capacity : {std::size_t{0}, std::size_t{64} << 20, std::size_t{40} << 10}) {
    CAPTURE(capacity);
    CachedScorer scorer(rm, capacity);
    for (int round = 0; round < 2; ++round)
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        CHECK(same_bits(scorer.score_ids(inputs[i]), expected[i]));
      }
    CHECK(scorer.cache().stats().bytes <= capacity);
  }
}

TEST_CASE("CachedScorer: the statistics count the positions reused") {
  const auto rm = tiny();
  CachedScorer scorer(rm, 64 << 20);
  const auto prompt = random_ids(50, 4);
  const auto a = cat(prompt, random_ids(10, 5)), b = cat(prompt, random_ids(12, 6));
  scorer.score_ids(a);
  PrefixCacheStats s = scorer.cache().stats();
  CHECK(s.lookups == 1);
  CHECK(s.hits == 0);
  CHECK(s.tokens_stored == 60);
  CHECK(s.positions == 60);
  CHECK(s.nodes == 1);
  CHECK(s.bytes == scorer.cache().bytes_for(60));
  scorer.score_ids(b);  // reuses the 50 prompt positions; the edge is split at 50
  s = scorer.cache().stats();
  CHECK(s.lookups == 2);
  CHECK(s.hits == 1);
  CHECK(s.tokens_reused == 50);
  CHECK(s.tokens_stored == 72);
  CHECK(s.positions == 72);
  CHECK(s.nodes == 3);
  scorer.score_ids(a);  // a repeat: everything but its last token
  s = scorer.cache().stats();
  CHECK(s.tokens_reused == 50 + 59);
  CHECK(s.tokens_stored == 72);
  CHECK(s.capacity_bytes == std::size_t{64} << 20);
  scorer.cache().clear();
  CHECK(scorer.cache().stats().bytes == 0);
  CHECK(scorer.cache().stats().nodes == 0);
}

TEST_CASE("PrefixCache: stays within its bytes and evicts the least recently used leaf") {
  const auto rm = tiny();
  const LlamaShape& shape = rm->model().shape();
  ThreadPool pool(1);
  // Room for 3 nodes of 20 positions.
  PrefixCache cache(shape, 3 * (20 * (LlamaState::kv_floats_per_position(shape) * 4 + 4) + PrefixCache::kNodeOverhead));
  const auto a = random_ids(20, 7), b = random_ids(20, 8), c = random_ids(20, 9), d = random_ids(20, 10);
  auto store = [&](const std::vector<std::int32_t>& ids) {
    LlamaState st;
    rm->model().forward(ids, st, LlamaOutput::None, pool);
    cache.insert(ids, st);
  };
  LlamaState st;
  auto cached = [&](const std::vector<std::int32_t>& ids) { return cache.restore(ids, ids.size(), st); };
  store(a);
  store(b);
  store(c);
  CHECK(cache.stats().nodes == 3);
  CHECK(cached(a) == 20);  // a is now the most recently used
  store(d);                // evicts b, the least recently used
  CHECK(cache.stats().evictions == 1);
  CHECK(cached(b) == 0);
  CHECK(cached(c) == 20);
  CHECK(cached(a) == 20);
  CHECK(cached(d) == 20);
  CHECK(cache.stats().bytes <= cache.capacity_bytes());
  CHECK(cached(std::vector<std::int32_t>(a.begin(), a.begin() + 7)) == 7);
  CHECK(cache.restore(a, 5, st) == 5);
  CHECK(st.n_past() == 5);

  // A sequence longer than the whole cache keeps its first positions.
  const auto long_ids = random_ids(100, 11);
  store(long_ids);
  CHECK(cache.stats().bytes <= cache.capacity_bytes());
  const std::size_t kept = cached(long_ids);
  CHECK(kept > 0);
  CHECK(kept < 100);

  PrefixCache off(shape, 0);
  CHECK_FALSE(off.enabled());
  LlamaState full;
  rm->model().forward(a, full, LlamaOutput::None, pool);
  off.insert(a, full);
  CHECK(off.restore(a, 20, st) == 0);
  CHECK(off.stats().nodes == 0);
}

TEST_CASE("CachedScorer: left truncation keys the cache by the ids that are scored") {
  const auto rm = tiny(2, Truncation::Left, 40);
  const auto prompt = random_ids(50, 12);
  const auto a = cat(prompt, random_ids(5, 13)), b = cat(prompt, random_ids(5, 14));
  CachedScorer scorer(rm, 64 << 20);
  CHECK(same_bits(scorer.score_ids(a), rm->score_ids(a)));
  CHECK(same_bits(scorer.score_ids(b), rm->score_ids(b)));
  CHECK(scorer.score_ids(b).n_tokens == 40);
  // Both keep their last 40 ids, which start with the same 35 prompt tokens.
  CHECK(scorer.cache().stats().hits == 2);
  CHECK(scorer.cache().stats().tokens_reused == 35 + 39);
}

TEST_CASE("CachedScorer: concurrent callers get the scores of score_ids") {
  const auto rm = tiny(2);
  CachedScorer scorer(rm, 64 << 20);
  const auto prompt = random_ids(40, 15);
  std::vector<std::vector<std::int32_t>> inputs;
  for (std::uint32_t r = 0; r < 12; ++r) inputs.push_back(cat(prompt, random_ids(5 + r, 30 + r)));
  std::vector<Score> expected;
  for (const auto& x : inputs) expected.push_back(rm->score_ids(x));
  std::vector<Score> got(inputs.size());
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < inputs.size(); i += 3) got[i] = scorer.score_ids(inputs[i]);
    });
  for (auto& th : threads) th.join();
  for (std::size_t i = 0; i < inputs.size(); ++i) CHECK(same_bits(got[i], expected[i]));
  CHECK_THROWS_WITH(CachedScorer(nullptr, 1), "CachedScorer: no model (the shared_ptr is empty)");
}
