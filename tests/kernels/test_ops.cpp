#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <numbers>
#include <random>
#include <vector>

#include "support/kernel_reference.hpp"
#include "urm/core/error.hpp"
#include "urm/kernels/activation.hpp"
#include "urm/kernels/embedding.hpp"
#include "urm/kernels/rmsnorm.hpp"
#include "urm/kernels/rope.hpp"
#include "urm/kernels/vector_exp.hpp"

using urm::DType;
using namespace urm::test;

namespace {
bool close(double got, double want, double rel, double abs = 1e-30) {
  return std::fabs(got - want) <= rel * std::fabs(want) + abs;
}
}  // namespace

TEST_CASE("rmsnorm matches the double reference for every weight dtype and odd widths") {
  std::mt19937 rng(20);
  for (DType dt : float_dtypes) {
    for (std::size_t dim : {1u, 3u, 17u, 33u, 100u, 257u, 4096u}) {
      const std::size_t rows = 5;
      const auto x = random_floats(rows * dim, rng, 3.0f);
      const auto w = store(random_floats(dim, rng), dt, {static_cast<std::int64_t>(dim)});
      std::vector<float> y(x.size());
      urm::kernels::rmsnorm(x.data(), w.view, 1e-5f, y.data(), rows, dim);
      for (std::size_t r = 0; r < rows; ++r) {
        double ss = 0.0;
        for (std::size_t i = 0; i < dim; ++i) ss += static_cast<double>(x[r * dim + i]) * x[r * dim + i];
        const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + 1e-5);
        for (std::size_t i = 0; i < dim; ++i) {
          const double want = w.view.get_f32(i) * (x[r * dim + i] * inv);
          INFO("dtype " << urm::dtype_name(dt) << " dim " << dim << " row " << r << " i " << i);
          REQUIRE(close(y[r * dim + i], want, 1e-5, 1e-6));
        }
      }
    }
  }
}

TEST_CASE("rmsnorm works in place") {
  std::mt19937 rng(21);
  auto x = random_floats(2 * 40, rng);
  const auto w = store(random_floats(40, rng), DType::BF16, {40});
  std::vector<float> y(x.size());
  urm::kernels::rmsnorm(x.data(), w.view, 1e-6f, y.data(), 2, 40);
  urm::kernels::rmsnorm(x.data(), w.view, 1e-6f, x.data(), 2, 40);
  CHECK(same_bits(x, y));
}

TEST_CASE("rmsnorm rejects a weight of the wrong shape or dtype") {
  std::vector<float> x(8), y(8);
  auto w = store(std::vector<float>(4), DType::F16, {4}, 0, "model.norm.weight");
  CHECK_THROWS_WITH_AS(urm::kernels::rmsnorm(x.data(), w.view, 1e-5f, y.data(), 1, 8),
                       "rmsnorm: weight model.norm.weight has shape [4], expected [8]", urm::Error);
  w.view.dtype = DType::U8;
  CHECK_THROWS_WITH_AS(urm::kernels::rmsnorm(x.data(), w.view, 1e-5f, y.data(), 2, 4),
                       "rmsnorm: weight model.norm.weight has dtype U8, expected F32, F16 or BF16", urm::Error);
}

TEST_CASE("rope_inv_freq: default frequencies are 1 / theta^(2i/D) in float32") {
  const auto inv = urm::kernels::rope_inv_freq(128, 500000.0f);
  REQUIRE(inv.size() == 64);
  CHECK(inv[0] == 1.0f);
  for (std::size_t i = 0; i < inv.size(); ++i)
    CHECK(close(inv[i], std::pow(500000.0, -2.0 * static_cast<double>(i) / 128.0), 3e-7));
}

TEST_CASE("rope_inv_freq: llama3 scaling keeps high frequencies, divides low ones, blends the band between") {
  urm::kernels::Llama3RopeScaling sc;  // factor 8, low 1, high 4, original 8192 (Llama-3.1)
  const auto base = urm::kernels::rope_inv_freq(128, 500000.0f);
  const auto inv = urm::kernels::rope_inv_freq(128, 500000.0f, &sc);
  std::size_t n_high = 0, n_low = 0, n_mid = 0;
  for (std::size_t i = 0; i < inv.size(); ++i) {
    const double wavelen = 2.0 * std::numbers::pi / base[i];
    if (wavelen < 8192.0 / 4.0) {
      CHECK(inv[i] == base[i]);
      ++n_high;
    } else if (wavelen > 8192.0 / 1.0) {
      CHECK(inv[i] == base[i] / 8.0f);
      ++n_low;
    } else {
      const double smooth = (8192.0 / wavelen - 1.0) / 3.0;
      CHECK(close(inv[i], (1.0 - smooth) * base[i] / 8.0 + smooth * base[i], 1e-6));
      CHECK(inv[i] < base[i]);
      CHECK(inv[i] > base[i] / 8.0f);
      ++n_mid;
    }
  }
  // Llama-3.1's head_dim 128, theta 5e5: all three bands are populated.
  CHECK(n_high > 0);
  CHECK(n_low > 0);
  CHECK(n_mid > 0);
}

TEST_CASE("rope rotates each head's halves by pos · inv_freq") {
  std::mt19937 rng(22);
  for (std::size_t D : {8u, 64u, 128u, 6u, 34u, 256u}) {
    const std::size_t rows = 5, heads = 3, pos0 = 1000;
    const auto inv = urm::kernels::rope_inv_freq(D, 10000.0f);
    auto x = random_floats(rows * heads * D, rng);
    const auto x0 = x;
    urm::kernels::rope(x.data(), rows, heads, D, pos0, inv.data());
    for (std::size_t t = 0; t < rows; ++t) {
      for (std::size_t h = 0; h < heads; ++h) {
        for (std::size_t i = 0; i < D / 2; ++i) {
          const double angle = static_cast<float>(pos0 + t) * inv[i];  // float32 product, as transformers
          const double a = x0[(t * heads + h) * D + i], b = x0[(t * heads + h) * D + i + D / 2];
          INFO("D " << D << " t " << t << " h " << h << " i " << i);
          CHECK(close(x[(t * heads + h) * D + i], a * std::cos(angle) - b * std::sin(angle), 1e-5, 1e-6));
          CHECK(close(x[(t * heads + h) * D + i + D / 2], b * std::cos(angle) + a * std::sin(angle), 1e-5, 1e-6));
        }
      }
    }
  }
}

TEST_CASE("rope rejects an odd head_dim") {
  std::vector<float> x(7), inv(3, 1.0f);
  CHECK_THROWS_WITH_AS(urm::kernels::rope(x.data(), 1, 1, 7, 0, inv.data()), "rope: head_dim 7 is odd, expected even",
                       urm::Error);
}

TEST_CASE("silu_mul, add_inplace and selu_inplace match their definitions") {
  std::mt19937 rng(23);
  for (std::size_t n : {1u, 3u, 17u, 33u, 100u, 257u}) {
    auto g = random_floats(n, rng, 4.0f);
    const auto up = random_floats(n, rng);
    const auto g0 = g;
    urm::kernels::silu_mul(g.data(), up.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const double want = g0[i] / (1.0 + std::exp(-static_cast<double>(g0[i]))) * up[i];
      REQUIRE(close(g[i], want, 1e-6, 1e-7));
    }
    auto y = random_floats(n, rng);
    const auto y0 = y;
    urm::kernels::add_inplace(y.data(), up.data(), n);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(y[i] == y0[i] + up[i]);
    auto s = random_floats(n, rng, 2.0f);
    const auto s0 = s;
    urm::kernels::selu_inplace(s.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const double a = 1.6732632423543772848170429916717, sc = 1.0507009873554804934193349852946;
      const double want = s0[i] > 0 ? sc * s0[i] : sc * a * std::expm1(static_cast<double>(s0[i]));
      REQUIRE(close(s[i], want, 1e-6, 1e-7));
    }
  }
  // Saturation: silu(−∞-ish) = −0·up, silu(large) = x·up; no NaN.
  std::vector<float> g = {-200.0f, 200.0f, -1e30f, 0.0f}, up = {1.0f, 2.0f, 3.0f, 4.0f};
  std::vector<float> g16(16, -200.0f), up16(16, 1.0f);
  urm::kernels::silu_mul(g.data(), up.data(), 4);
  urm::kernels::silu_mul(g16.data(), up16.data(), 16);
  CHECK(g == std::vector<float>{0.0f, 400.0f, 0.0f, 0.0f});
  for (float e : g16) CHECK(e == 0.0f);
}

TEST_CASE("silu_mul gives an element the same bits wherever it stands in the array") {
  // The MLP calls it on [rows, ffn] at once: a row's values must not depend
  // on how many rows come before it (the vector body and the tail agree).
  std::mt19937 rng(24);
  const std::size_t n = 101;
  const auto g0 = random_floats(n, rng, 4.0f), up = random_floats(n, rng);
  auto whole = g0;
  urm::kernels::silu_mul(whole.data(), up.data(), n);
  for (std::size_t first : {1u, 5u, 37u, 100u})
    for (std::size_t len : {1u, 7u, 16u, 33u}) {
      if (first + len > n) continue;
      std::vector<float> part(g0.begin() + first, g0.begin() + first + len);
      urm::kernels::silu_mul(part.data(), up.data() + first, len);
      CAPTURE(first);
      CAPTURE(len);
      REQUIRE(std::memcmp(part.data(), whole.data() + first, len * sizeof(float)) == 0);
    }
}

TEST_CASE("embedding gathers rows in float32 for every dtype") {
  std::mt19937 rng(24);
  for (DType dt : float_dtypes) {
    for (std::size_t dim : {1u, 17u, 40u}) {
      const std::size_t vocab = 11;
      const auto table = store(random_floats(vocab * dim, rng), dt,
                               {static_cast<std::int64_t>(vocab), static_cast<std::int64_t>(dim)}, 1);
      const std::vector<std::int32_t> ids = {3, 0, 10, 3};
      std::vector<float> out(ids.size() * dim);
      urm::kernels::embedding(table.view, ids.data(), ids.size(), out.data());
      for (std::size_t t = 0; t < ids.size(); ++t)
        for (std::size_t i = 0; i < dim; ++i)
          REQUIRE(out[t * dim + i] == table.view.get_f32(static_cast<std::size_t>(ids[t]) * dim + i));
    }
  }
}

TEST_CASE("embedding rejects out-of-range ids and malformed tables") {
  const auto table = store(std::vector<float>(12), DType::F16, {3, 4}, 0, "model.embed_tokens.weight");
  std::vector<float> out(8);
  const std::vector<std::int32_t> bad_hi = {0, 3}, bad_lo = {-1};
  CHECK_THROWS_WITH_AS(urm::kernels::embedding(table.view, bad_hi.data(), 2, out.data()),
                       "token id 3 at position 1 is out of range [0, 3)", urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::embedding(table.view, bad_lo.data(), 1, out.data()),
                       "token id -1 at position 0 is out of range [0, 3)", urm::Error);
  auto flat = table;
  flat.view.shape = {12};
  CHECK_THROWS_WITH_AS(urm::kernels::embedding(flat.view, bad_lo.data(), 1, out.data()),
                       "embedding: table model.embed_tokens.weight has shape [12], expected [vocab, dim]", urm::Error);
  auto i8 = table;
  i8.view.dtype = DType::I8;
  CHECK_THROWS_WITH_AS(urm::kernels::embedding(i8.view, bad_lo.data(), 1, out.data()),
                       "embedding: table model.embed_tokens.weight has dtype I8, expected F32, F16 or BF16",
                       urm::Error);
}

TEST_CASE("exp_f32 is within 2 ulp of exp over the float range, 0 below it and inf above") {
  constexpr std::size_t L = urm::detail::simd_width;
  std::vector<float> xs;
  for (float x = -87.3f; x < 88.7f; x += 0.0123f) xs.push_back(x);
  for (float x : {0.0f, -0.0f, 1e-8f, -1e-8f, 0.5f, -0.5f, 88.72f, 88.5f, -87.33f}) xs.push_back(x);
  while (xs.size() % L) xs.push_back(0.0f);
  double worst_ulp = 0.0;
  for (std::size_t i = 0; i < xs.size(); i += L) {
    alignas(64) float out[L];
    urm::detail::exp_f32(urm::detail::fbatch::load_unaligned(xs.data() + i)).store_aligned(out);
    for (std::size_t l = 0; l < L; ++l) {
      const double want = std::exp(static_cast<double>(xs[i + l]));
      const double ulp = std::ldexp(1.0, std::ilogb(static_cast<float>(want)) - 23);
      worst_ulp = std::max(worst_ulp, std::fabs(out[l] - want) / ulp);
    }
  }
  CHECK(worst_ulp <= 2.0);
  alignas(64) float edge_in[L], edge_out[L];
  for (std::size_t l = 0; l < L; ++l)
    edge_in[l] = l % 4 == 0 ? -INFINITY : l % 4 == 1 ? -100.0f : l % 4 == 2 ? INFINITY : 100.0f;
  urm::detail::exp_f32(urm::detail::fbatch::load_aligned(edge_in)).store_aligned(edge_out);
  for (std::size_t l = 0; l < L; ++l) CHECK(edge_out[l] == (l % 4 < 2 ? 0.0f : INFINITY));
  edge_in[0] = NAN;
  urm::detail::exp_f32(urm::detail::fbatch::load_aligned(edge_in)).store_aligned(edge_out);
  CHECK(std::isnan(edge_out[0]));
}
