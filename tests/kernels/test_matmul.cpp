#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "support/kernel_reference.hpp"
#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/convert.hpp"
#include "urm/kernels/matmul.hpp"

using urm::DType;
using namespace urm::test;

namespace {

// Checks y against Σ_p x·w in double. A float32 sum of k products differs from
// the exact one by at most about k·2⁻²⁴·Σ|x·w| in any summation order, so the
// tolerance is that bound (plus the rounding of the result itself).
void check_against_reference(const std::vector<float>& x, std::size_t m, std::size_t k, const urm::TensorView& w,
                             const std::vector<float>& y) {
  const std::size_t n = static_cast<std::size_t>(w.dim(0));
  double worst = 0.0;  // largest |error| / tolerance
  std::size_t wi = 0, wj = 0;
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double exact = 0.0, magnitude = 0.0;
      for (std::size_t p = 0; p < k; ++p) {
        const double prod = static_cast<double>(x[i * k + p]) * w.get_f32(j * k + p);
        exact += prod;
        magnitude += std::fabs(prod);
      }
      const double tol = (static_cast<double>(k) + 2.0) * 0x1p-24 * magnitude + 1e-30;
      const double ratio = std::isnan(y[i * n + j]) ? INFINITY : std::fabs(y[i * n + j] - exact) / tol;
      if (ratio > worst) {
        worst = ratio;
        wi = i;
        wj = j;
      }
    }
  }
  INFO("m=" << m << " n=" << n << " k=" << k << " dtype=" << urm::dtype_name(w.dtype) << ": worst at (" << wi << ", "
            << wj << "), |error| / tolerance = " << worst);
  CHECK(worst <= 1.0);
}

}  // namespace

TEST_CASE("register conversions equal the scalar reference for every 16-bit pattern") {
  std::vector<std::uint16_t> all(65536 + urm::detail::simd_width);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint16_t>(i);
  const auto* bytes = reinterpret_cast<const std::byte*>(all.data());
  for (std::size_t i = 0; i < 65536; i += urm::detail::simd_width) {
    alignas(64) float f16[urm::detail::simd_width], bf16[urm::detail::simd_width];
    urm::detail::load_f32<DType::F16>(bytes, i).store_aligned(f16);
    urm::detail::load_f32<DType::BF16>(bytes, i).store_aligned(bf16);
    for (std::size_t l = 0; l < urm::detail::simd_width; ++l) {
      const auto h = static_cast<std::uint16_t>(i + l);
      const float ref16 = urm::f16_to_f32(h), refb = urm::bf16_to_f32(h);
      // NaN payloads may differ (the hardware quiets signalling NaNs).
      if (std::isnan(ref16)) {
        REQUIRE(std::isnan(f16[l]));
      } else {
        REQUIRE(std::memcmp(&f16[l], &ref16, 4) == 0);
      }
      if (std::isnan(refb)) {
        REQUIRE(std::isnan(bf16[l]));
      } else {
        REQUIRE(std::memcmp(&bf16[l], &refb, 4) == 0);
      }
    }
  }
}

TEST_CASE("matmul matches the double-precision reference on odd shapes, all weight dtypes") {
  std::mt19937 rng(1);
  urm::ThreadPool pool(2);
  const std::size_t ms[] = {1, 2, 3, 4, 5, 13, 17, 33, 100};
  const std::size_t ns[] = {1, 3, 17, 33, 100, 257};
  const std::size_t ks[] = {1, 3, 17, 33, 100, 257};
  for (DType dt : float_dtypes) {
    for (std::size_t m : ms) {
      for (std::size_t n : ns) {
        for (std::size_t k : ks) {
          const auto x = random_floats(m * k, rng);
          const auto w =
              store(random_floats(n * k, rng), dt, {static_cast<std::int64_t>(n), static_cast<std::int64_t>(k)});
          std::vector<float> y(m * n, std::nanf(""));
          urm::kernels::matmul(x.data(), m, k, w.view, y.data(), pool);
          check_against_reference(x, m, k, w.view, y);
        }
      }
    }
  }
}

namespace {
void check_random(std::size_t m, std::size_t n, std::size_t k, std::mt19937& rng, urm::ThreadPool& pool) {
  const auto x = random_floats(m * k, rng);
  for (DType dt : float_dtypes) {
    const auto w = store(random_floats(n * k, rng), dt, {static_cast<std::int64_t>(n), static_cast<std::int64_t>(k)});
    std::vector<float> y(m * n);
    urm::kernels::matmul(x.data(), m, k, w.view, y.data(), pool);
    check_against_reference(x, m, k, w.view, y);
  }
}
}  // namespace

TEST_CASE("matmul crosses every blocking boundary (rows, features and k blocks, tails)") {
  // m > the row block mc, n spans two feature blocks (nc) per task, k spans three k blocks (kc).
  std::mt19937 rng(2);
  urm::ThreadPool pool(2);
  using G = urm::detail::Gemm;
  check_random(G::B.mc + 29, 2 * G::B.nc + 2 * 37 + 5, 2 * G::B.kc + 19, rng, pool);
}

TEST_CASE("matmul packed panels: every micro-panel height as the row tail, and 257 × 257 × 257") {
  std::mt19937 rng(6);
  urm::ThreadPool pool(2);
  // m = max_rows + 1 … + MR: the tail micro-panel has 1 … MR rows.
  const std::size_t m0 = urm::detail::GemmFew::max_rows + 1;
  for (std::size_t m = m0; m < m0 + urm::detail::Gemm::B.mr; ++m) check_random(m, 37, 21, rng, pool);
  check_random(257, 257, 257, rng, pool);
}

TEST_CASE("matmul with few rows crosses k blocks, k chunks and row tiles") {
  std::mt19937 rng(5);
  urm::ThreadPool pool(2);
  using G = urm::detail::GemmFew;
  for (std::size_t m : {4u, 31u, 40u, 95u, 96u, 97u}) check_random(m, 6 * G::B.nr + 7, 2 * G::B.kc + 77, rng, pool);
  check_random(40, 31, 2 * G::KH + 600, rng, pool);  // three k chunks
}

TEST_CASE("matmul reads weights at any byte offset") {
  std::mt19937 rng(3);
  urm::ThreadPool pool(1);
  for (DType dt : float_dtypes) {
    for (std::size_t offset : {1u, 2u, 3u}) {
      for (std::size_t m : {1u, 40u}) {
        const std::size_t n = 35, k = 70;
        const auto x = random_floats(m * k, rng);
        const auto w = store(random_floats(n * k, rng), dt, {35, 70}, offset);
        std::vector<float> y(m * n);
        urm::kernels::matmul(x.data(), m, k, w.view, y.data(), pool);
        check_against_reference(x, m, k, w.view, y);
      }
    }
  }
}

TEST_CASE("matmul is bitwise identical for 1, 2 and 7 threads") {
  std::mt19937 rng(4);
  urm::ThreadPool p1(1), p2(2), p7(7);
  struct Shape {
    std::size_t m, n, k;
  };
  for (const Shape s :
       {Shape{1, 300, 129}, Shape{3, 257, 100}, Shape{17, 1000, 100}, Shape{100, 257, 900}, Shape{64, 700, 1100}}) {
    for (DType dt : float_dtypes) {
      const auto x = random_floats(s.m * s.k, rng);
      const auto w =
          store(random_floats(s.n * s.k, rng), dt, {static_cast<std::int64_t>(s.n), static_cast<std::int64_t>(s.k)});
      std::vector<float> y1(s.m * s.n), y2(s.m * s.n), y7(s.m * s.n);
      urm::kernels::matmul(x.data(), s.m, s.k, w.view, y1.data(), p1);
      urm::kernels::matmul(x.data(), s.m, s.k, w.view, y2.data(), p2);
      urm::kernels::matmul(x.data(), s.m, s.k, w.view, y7.data(), p7);
      INFO("m=" << s.m << " n=" << s.n << " k=" << s.k << " dtype=" << urm::dtype_name(dt));
      CHECK(same_bits(y1, y2));
      CHECK(same_bits(y1, y7));
    }
  }
}

TEST_CASE("matmul with k = 0 gives zeros; m = 0 or n = 0 writes nothing") {
  urm::ThreadPool pool(2);
  const auto w = store({}, DType::F16, {3, 0});
  std::vector<float> y(6, 1.0f);
  urm::kernels::matmul(nullptr, 2, 0, w.view, y.data(), pool);
  CHECK(y == std::vector<float>(6, 0.0f));
  const auto w0 = store({}, DType::F32, {0, 4});
  urm::kernels::matmul(nullptr, 2, 4, w0.view, y.data(), pool);
  CHECK(y == std::vector<float>(6, 0.0f));
}

TEST_CASE("matmul rejects a weight of the wrong shape, dtype or size") {
  urm::ThreadPool pool(1);
  std::vector<float> x(8), y(8);
  auto w = store(std::vector<float>(12), DType::F32, {3, 4}, 0, "model.layers.0.mlp.up_proj.weight");
  CHECK_THROWS_WITH_AS(urm::kernels::matmul(x.data(), 1, 5, w.view, y.data(), pool),
                       "matmul: weight model.layers.0.mlp.up_proj.weight has shape [3, 4], expected [n, 5]",
                       urm::Error);
  auto bad_rank = w;
  bad_rank.view.shape = {12};
  CHECK_THROWS_WITH_AS(urm::kernels::matmul(x.data(), 1, 4, bad_rank.view, y.data(), pool),
                       "matmul: weight model.layers.0.mlp.up_proj.weight has shape [12], expected [n, 4]", urm::Error);
  auto i8 = w;
  i8.view.dtype = DType::I8;
  CHECK_THROWS_WITH_AS(urm::kernels::matmul(x.data(), 1, 4, i8.view, y.data(), pool),
                       "matmul: weight model.layers.0.mlp.up_proj.weight has dtype I8, expected F32, F16 or BF16",
                       urm::Error);
  auto short_data = w;
  short_data.view.nbytes = 40;
  CHECK_THROWS_WITH_AS(urm::kernels::matmul(x.data(), 1, 4, short_data.view, y.data(), pool),
                       "matmul: weight model.layers.0.mlp.up_proj.weight has 40 bytes, expected 48", urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::matmul(x.data(), 1, 4, w.view.data, DType::U8, 3, y.data(), pool),
                       "matmul: weight has dtype U8, expected F32, F16 or BF16", urm::Error);
}

#if defined(__FMA__)
namespace {

// The order every form promises: s ← 0; s ← fma(x[i, p], w[j, p], s) for p in order.
// (Only with FMA hardware does detail::fma round once, as std::fma does.)
std::vector<float> fma_chain_reference(const std::vector<float>& x, std::size_t m, std::size_t k,
                                       const urm::TensorView& w) {
  const std::size_t n = static_cast<std::size_t>(w.dim(0));
  std::vector<float> y(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      float s = 0.0f;
      for (std::size_t p = 0; p < k; ++p) s = std::fma(x[i * k + p], w.get_f32(j * k + p), s);
      y[i * n + j] = s;
    }
  return y;
}

}  // namespace
#endif

TEST_CASE("matmul: a row gives the same bits for any m, row offset and thread count (batch invariance)") {
  // m = 1 and 3 (rows read in place), 17 and 97 (few rows, 97 just past it:
  // packed panels), 600 (packed, several micro-panels); k crosses the k blocks
  // of both forms (384 and 512) and, in the second shape, a k chunk (4096).
  std::mt19937 rng(11);
  urm::ThreadPool p1(1), p2(2), p3(3);
  struct Shape {
    std::size_t n, k;
  };
  for (const Shape s : {Shape{77, 1100}, Shape{29, 4500}}) {
    const std::size_t total = 600;
    const auto x = random_floats(total * s.k, rng);
    for (DType dt : float_dtypes) {
      const auto w =
          store(random_floats(s.n * s.k, rng), dt, {static_cast<std::int64_t>(s.n), static_cast<std::int64_t>(s.k)});
      std::vector<float> all(total * s.n);
      urm::kernels::matmul(x.data(), total, s.k, w.view, all.data(), p2);
#if defined(__FMA__)
      // With FMA hardware detail::fma rounds once, as std::fma does: the result
      // is exactly the chain, whatever the kernel's blocking.
      CHECK(same_bits(all, fma_chain_reference(x, total, s.k, w.view)));
#endif
      for (std::size_t m : {1u, 3u, 17u, 97u, 600u})
        for (std::size_t offset : {std::size_t{0}, std::size_t{5}, total - m}) {
          if (offset + m > total) continue;
          for (urm::ThreadPool* pool : {&p1, &p2, &p3}) {
            CAPTURE(m);
            CAPTURE(offset);
            CAPTURE(pool->size());
            CAPTURE(urm::dtype_name(dt));
            std::vector<float> y(m * s.n);
            urm::kernels::matmul(x.data() + offset * s.k, m, s.k, w.view, y.data(), *pool);
            REQUIRE(std::memcmp(y.data(), all.data() + offset * s.n, y.size() * sizeof(float)) == 0);
          }
        }
    }
  }
}
