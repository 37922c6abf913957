#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "support/kernel_reference.hpp"
#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/attention.hpp"

using namespace urm::test;

namespace {

// softmax(q·kᵀ/√D)·v per query and head, in double, with the causal mask.
std::vector<double> reference_attention(const std::vector<float>& q, const std::vector<float>& k,
                                        const std::vector<float>& v, std::size_t n_q, std::size_t n_kv,
                                        std::size_t heads, std::size_t kv_heads, std::size_t D) {
  std::vector<double> out(n_q * heads * D, 0.0);
  const std::size_t group = heads / kv_heads, past = n_kv - n_q;
  for (std::size_t t = 0; t < n_q; ++t) {
    for (std::size_t h = 0; h < heads; ++h) {
      const std::size_t kh = h / group, len = past + t + 1;
      std::vector<double> s(len);
      double mx = -INFINITY;
      for (std::size_t j = 0; j < len; ++j) {
        double d = 0.0;
        for (std::size_t i = 0; i < D; ++i)
          d += static_cast<double>(q[(t * heads + h) * D + i]) * k[(j * kv_heads + kh) * D + i];
        s[j] = d / std::sqrt(static_cast<double>(D));
        mx = std::max(mx, s[j]);
      }
      double sum = 0.0;
      for (auto& e : s) sum += (e = std::exp(e - mx));
      for (std::size_t j = 0; j < len; ++j)
        for (std::size_t i = 0; i < D; ++i) out[(t * heads + h) * D + i] += s[j] / sum * v[(j * kv_heads + kh) * D + i];
    }
  }
  return out;
}

struct Case {
  std::size_t n_q, n_kv, heads, kv_heads, D;
};

void check_case(const Case& c, std::mt19937& rng, float q_scale, urm::ThreadPool& pool) {
  const auto q = random_floats(c.n_q * c.heads * c.D, rng, q_scale);
  const auto k = random_floats(c.n_kv * c.kv_heads * c.D, rng);
  const auto v = random_floats(c.n_kv * c.kv_heads * c.D, rng);
  std::vector<float> out(q.size(), NAN);
  urm::kernels::causal_attention(q.data(), k.data(), v.data(), out.data(), c.n_q, c.n_kv, c.heads, c.kv_heads, c.D,
                                 pool);
  const auto ref = reference_attention(q, k, v, c.n_q, c.n_kv, c.heads, c.kv_heads, c.D);
  double worst = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::fabs(out[i] - ref[i]));
  // Outputs are convex combinations of v ~ N(0, 1), so float32 rounding of the
  // weights gives ~1e-6. A float32 score s = Σ q·k / √D is only known to about
  // D·2⁻²⁴·Σ|q·k|/√D, and an error δ in a score moves the output by up to
  // δ·max|v|: the tolerance grows with the largest score magnitude.
  double max_score_mag = 0.0, max_v = 0.0;
  for (std::size_t t = 0; t < c.n_q; ++t)
    for (std::size_t h = 0; h < c.heads; ++h)
      for (std::size_t j = 0; j < c.n_kv; ++j) {
        double mag = 0.0;
        for (std::size_t i = 0; i < c.D; ++i)
          mag += std::fabs(q[(t * c.heads + h) * c.D + i] * k[(j * c.kv_heads + h / (c.heads / c.kv_heads)) * c.D + i]);
        max_score_mag = std::max(max_score_mag, mag / std::sqrt(static_cast<double>(c.D)));
      }
  for (float e : v) max_v = std::max(max_v, static_cast<double>(std::fabs(e)));
  const double tol = 2e-5 + static_cast<double>(c.D) * 0x1p-24 * max_score_mag * max_v;
  INFO("n_q=" << c.n_q << " n_kv=" << c.n_kv << " heads=" << c.heads << "/" << c.kv_heads << " D=" << c.D
              << " q_scale=" << q_scale << ": max |error| " << worst << ", tolerance " << tol);
  CHECK(worst < tol);
}

}  // namespace

TEST_CASE("attention matches the double reference: GQA ratios 1, 2, 4; head_dim 8 to 256; odd sizes") {
  std::mt19937 rng(10);
  urm::ThreadPool pool(2);
  for (std::size_t D : {8u, 64u, 128u, 256u, 3u, 17u, 100u}) {
    for (std::size_t ratio : {1u, 2u, 4u}) {
      for (std::size_t n : {1u, 3u, 17u, 70u}) check_case({n, n, 2 * ratio, 2, D}, rng, 1.0f, pool);
    }
  }
  // Longer than one query and one key block, with a 4:1 group.
  check_case({150, 150, 8, 2, 64}, rng, 1.0f, pool);
}

TEST_CASE("attention with a key/value prefix (n_kv > n_q) sees the whole prefix") {
  std::mt19937 rng(11);
  urm::ThreadPool pool(2);
  for (const Case& c : {Case{1, 2, 4, 1, 64}, Case{1, 130, 4, 2, 128}, Case{5, 69, 2, 2, 8}, Case{40, 100, 4, 1, 17},
                        Case{70, 200, 8, 2, 256}}) {
    check_case(c, rng, 1.0f, pool);
  }
}

TEST_CASE("attention is numerically stable for large scores") {
  // Scores of order ±10³: a naive exp would overflow to inf.
  std::mt19937 rng(12);
  urm::ThreadPool pool(1);
  check_case({33, 33, 4, 2, 64}, rng, 300.0f, pool);
  check_case({20, 90, 2, 1, 128}, rng, 300.0f, pool);
}

TEST_CASE("attention is bitwise identical for 1, 2 and 7 threads") {
  std::mt19937 rng(13);
  urm::ThreadPool p1(1), p2(2), p7(7);
  for (const Case& c : {Case{130, 130, 8, 2, 64}, Case{17, 150, 4, 4, 100}, Case{65, 65, 4, 1, 8}}) {
    const auto q = random_floats(c.n_q * c.heads * c.D, rng);
    const auto k = random_floats(c.n_kv * c.kv_heads * c.D, rng);
    const auto v = random_floats(c.n_kv * c.kv_heads * c.D, rng);
    std::vector<float> o1(q.size()), o2(q.size()), o7(q.size());
    urm::kernels::causal_attention(q.data(), k.data(), v.data(), o1.data(), c.n_q, c.n_kv, c.heads, c.kv_heads, c.D,
                                   p1);
    urm::kernels::causal_attention(q.data(), k.data(), v.data(), o2.data(), c.n_q, c.n_kv, c.heads, c.kv_heads, c.D,
                                   p2);
    urm::kernels::causal_attention(q.data(), k.data(), v.data(), o7.data(), c.n_q, c.n_kv, c.heads, c.kv_heads, c.D,
                                   p7);
    CHECK(same_bits(o1, o2));
    CHECK(same_bits(o1, o7));
  }
}

TEST_CASE("attention: a query row gives the same bits whatever the query block it runs in (batch invariance)") {
  // The last 150 queries of a 230-key sequence, run as one call of 150, as
  // calls of 1, 17 and 97 queries after the keys before them (prefix reuse),
  // and with 1, 2 and 3 threads: key blocks are aligned at key 0 for every
  // query, so the softmax and the sums of each row do not depend on its block.
  // head_dim 20 and 6 have scalar tails (not a multiple of the register width).
  std::mt19937 rng(21);
  for (const std::size_t D : {64u, 20u, 6u}) {
  CAPTURE(D);
  const std::size_t n_kv = 230, heads = 8, kv_heads = 2, total_q = 150;
  const auto q = random_floats(total_q * heads * D, rng, 2.0f);
  const auto k = random_floats(n_kv * kv_heads * D, rng);
  const auto v = random_floats(n_kv * kv_heads * D, rng);
  urm::ThreadPool p1(1), p2(2), p3(3);
  const std::size_t row = heads * D;
  std::vector<float> all(q.size());
  urm::kernels::causal_attention(q.data(), k.data(), v.data(), all.data(), total_q, n_kv, heads, kv_heads, D, p2);
  for (std::size_t n_q : {1u, 17u, 97u, 150u})
    for (std::size_t first : {std::size_t{0}, std::size_t{3}, total_q - n_q})
      for (urm::ThreadPool* pool : {&p1, &p2, &p3}) {
        if (first + n_q > total_q) continue;
        CAPTURE(n_q);
        CAPTURE(first);
        CAPTURE(pool->size());
        // Queries first … first + n_q − 1 of the 150 stand at positions
        // n_kv − total_q + first …: they see the keys up to there.
        const std::size_t keys = n_kv - total_q + first + n_q;
        std::vector<float> out(n_q * row);
        urm::kernels::causal_attention(q.data() + first * row, k.data(), v.data(), out.data(), n_q, keys, heads,
                                       kv_heads, D, *pool);
        REQUIRE(std::memcmp(out.data(), all.data() + first * row, out.size() * sizeof(float)) == 0);
      }
  }
}

TEST_CASE("attention may write its output over q, bit for bit as into a separate buffer") {
  std::mt19937 rng(14);
  urm::ThreadPool pool(3);
  for (const Case& c : {Case{130, 130, 8, 2, 64}, Case{17, 150, 4, 4, 100}, Case{65, 200, 6, 3, 8}}) {
    const auto q = random_floats(c.n_q * c.heads * c.D, rng);
    const auto k = random_floats(c.n_kv * c.kv_heads * c.D, rng);
    const auto v = random_floats(c.n_kv * c.kv_heads * c.D, rng);
    std::vector<float> separate(q.size()), in_place = q;
    urm::kernels::causal_attention(q.data(), k.data(), v.data(), separate.data(), c.n_q, c.n_kv, c.heads, c.kv_heads,
                                   c.D, pool);
    urm::kernels::causal_attention(in_place.data(), k.data(), v.data(), in_place.data(), c.n_q, c.n_kv, c.heads,
                                   c.kv_heads, c.D, pool);
    CHECK(same_bits(separate, in_place));
  }
}

TEST_CASE("attention rejects inconsistent shapes") {
  urm::ThreadPool pool(1);
  std::vector<float> buf(64);
  const float* b = buf.data();
  CHECK_THROWS_WITH_AS(urm::kernels::causal_attention(b, b, b, buf.data(), 1, 1, 5, 2, 8, pool),
                       "causal_attention: n_heads 5 is not a multiple of n_kv_heads 2", urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::causal_attention(b, b, b, buf.data(), 1, 1, 4, 0, 8, pool),
                       "causal_attention: n_heads 4 is not a multiple of n_kv_heads 0", urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::causal_attention(b, b, b, buf.data(), 3, 2, 2, 1, 8, pool),
                       "causal_attention: 3 queries but only 2 keys; expected n_q <= n_kv", urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::causal_attention(b, b, b, buf.data(), 1, 1, 2, 1, 0, pool),
                       "causal_attention: head_dim is 0", urm::Error);
}
