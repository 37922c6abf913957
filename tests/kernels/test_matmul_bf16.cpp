#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "urm/core/dtype.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "support/bf16_layout.hpp"
#include "support/kernel_reference.hpp"
#include "urm/kernels/matmul.hpp"
#include "urm/kernels/matmul_bf16.hpp"

using urm::DType;
using urm::TensorView;
using urm::ThreadPool;
using urm::kernels::Bf16Kernel;
using urm::kernels::Bf16Workspace;
using urm::kernels::PackedBf16Weights;
using urm::test::activation_at;
using urm::test::packed_at;

namespace {

struct Tensor {
  std::vector<std::byte> bytes;
  TensorView view;
};

Tensor make_tensor(std::string name, DType dtype, std::size_t rows, std::size_t cols, const std::vector<float>& v) {
  Tensor t;
  t.bytes.resize(rows * cols * urm::dtype_size(dtype));
  for (std::size_t i = 0; i < rows * cols; ++i) {
    if (dtype == DType::F32) std::memcpy(t.bytes.data() + 4 * i, &v[i], 4);
    if (dtype == DType::F16) {
      const std::uint16_t h = urm::f32_to_f16(v[i]);
      std::memcpy(t.bytes.data() + 2 * i, &h, 2);
    }
    if (dtype == DType::BF16) {
      const std::uint16_t h = urm::f32_to_bf16(v[i]);
      std::memcpy(t.bytes.data() + 2 * i, &h, 2);
    }
  }
  t.view = TensorView{std::move(name), dtype, {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols)},
                      t.bytes.data(), t.bytes.size()};
  return t;
}

std::vector<float> random_values(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

float bf16_round(float f) { return urm::bf16_to_f32(urm::f32_to_bf16(f)); }

// γ(j) = j u / (1 − j u), u = 2^-24: the relative bound of a float32 sum of j
// terms in any order (Higham, Accuracy and Stability, 4.2).
double gamma_of(double j) {
  const double u = std::ldexp(1.0, -24);
  return j * u / (1.0 - j * u);
}

// Reference: inputs rounded to bfloat16, products and sums in double.
// Also returns sum |x̂ ŵ| per output, the scale of float32 summation error.
void reference(const std::vector<float>& x, const std::vector<float>& w, std::size_t m, std::size_t n, std::size_t k,
               std::vector<double>& y, std::vector<double>& scale) {
  y.assign(m * n, 0.0);
  scale.assign(m * n, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double s = 0.0, a = 0.0;
      for (std::size_t p = 0; p < k; ++p) {
        const double t = static_cast<double>(bf16_round(x[i * k + p])) * bf16_round(w[j * k + p]);
        s += t;
        a += std::fabs(t);
      }
      y[i * n + j] = s;
      scale[i * n + j] = a;
    }
}

// Reference of split activations: x ≈ hi + lo with hi = bf16(x),
// lo = bf16(x − hi); products and sums in double. scale = Σ (|hi ŵ| + |lo ŵ|).
void split_reference(const std::vector<float>& x, const std::vector<float>& w, std::size_t m, std::size_t n,
                     std::size_t k, std::vector<double>& y, std::vector<double>& scale) {
  y.assign(m * n, 0.0);
  scale.assign(m * n, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t p = 0; p < k; ++p) {
        const float hi = bf16_round(x[i * k + p]), lo = bf16_round(x[i * k + p] - hi);
        const double wj = bf16_round(w[j * k + p]);
        y[i * n + j] += static_cast<double>(hi) * wj + static_cast<double>(lo) * wj;
        scale[i * n + j] += std::fabs(static_cast<double>(hi) * wj) + std::fabs(static_cast<double>(lo) * wj);
      }
}

}  // namespace

// Packed weights are large: moved into the model, never copied by accident.
static_assert(!std::is_copy_constructible_v<PackedBf16Weights>);
static_assert(std::is_nothrow_move_constructible_v<PackedBf16Weights>);

TEST_CASE("activations are rounded to bfloat16 exactly like urm::f32_to_bf16, zero padded") {
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.0f, -0.0f, 1.0f, 1.00390625f, 1.01171875f, -3.3e38f, 3.4028235e38f, inf, -inf,
                            std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min(),
                            -1.1754942e-38f, 1e-40f, 65504.0f, 0.1f};
  const std::size_t m = 3, k = 37;
  std::vector<float> x = random_values(m * k, 1);
  for (std::size_t i = 0; i < std::size(specials); ++i) x[i * 7 % (m * k)] = specials[i];
  ThreadPool pool(2);
  Bf16Workspace ws;
  urm::kernels::set_activations_bf16(ws, x.data(), m, k, pool);
  CHECK(ws.m == m);
  CHECK(ws.k == k);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < k; ++p) REQUIRE(activation_at(ws, i, p) == urm::f32_to_bf16(x[i * k + p]));
  // Padding to 32 rows and 64 columns is zero.
  for (std::size_t i = 0; i < 32; ++i)
    for (std::size_t p = (i < m ? k : 0); p < 64; ++p) REQUIRE(activation_at(ws, i, p) == 0);
}

TEST_CASE("split activations store hi = bf16(x) and lo = bf16(x - hi), lo = 0 where hi is not finite") {
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.0f, -0.0f, 1.0f, 1.00390625f, 1.01171875f, -3.3e38f, 3.4028235e38f, inf, -inf,
                            std::numeric_limits<float>::denorm_min(), 1e-40f, 0.1f, 1.0f / 3.0f};
  const std::size_t m = 3, k = 37;
  std::vector<float> x = random_values(m * k, 1);
  for (std::size_t i = 0; i < std::size(specials); ++i) x[i * 7 % (m * k)] = specials[i];
  ThreadPool pool(2);
  Bf16Workspace ws;
  urm::kernels::set_activations_bf16(ws, x.data(), m, k, pool, 2);
  CHECK(ws.parts == 2);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < k; ++p) {
      const float v = x[i * k + p], hi = bf16_round(v);
      CAPTURE(v);
      REQUIRE(activation_at(ws, i, p, 0) == urm::f32_to_bf16(v));
      REQUIRE(activation_at(ws, i, p, 1) == (std::isfinite(hi) ? urm::f32_to_bf16(v - hi) : std::uint16_t{0}));
    }
  // 1/3 keeps 16 significant bits instead of 8.
  const float third = 1.0f / 3.0f, hi = bf16_round(third), lo = bf16_round(third - hi);
  CHECK(std::fabs(third - hi) > 1e-4f);
  CHECK(std::fabs(third - (hi + lo)) < 3e-6f);
  for (std::size_t part : {0u, 1u})
    for (std::size_t i = 0; i < 32; ++i)
      for (std::size_t p = (i < m ? k : 0); p < 64; ++p) REQUIRE(activation_at(ws, i, p, part) == 0);
  CHECK_THROWS_WITH_AS(urm::kernels::set_activations_bf16(ws, x.data(), m, k, pool, 4),
                       "set_activations_bf16: parts = 4, expected 1 to 3", urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::set_activations_bf16(ws, x.data(), m, k, pool, 0),
                       "set_activations_bf16: parts = 0, expected 1 to 3", urm::Error);
}

TEST_CASE("three parts store the rounded rest of the first two, and keep 24 significant bits") {
  const std::size_t m = 2, k = 40;
  std::vector<float> x = random_values(m * k, 3);
  x[3] = std::numeric_limits<float>::infinity();
  x[4] = 3.4028235e38f;  // rounds past the largest bfloat16: hi = inf
  ThreadPool pool(2);
  Bf16Workspace ws;
  urm::kernels::set_activations_bf16(ws, x.data(), m, k, pool, 3);
  CHECK(ws.parts == 3);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < k; ++p) {
      const float v = x[i * k + p], hi = bf16_round(v);
      CAPTURE(v);
      if (!std::isfinite(hi)) {
        REQUIRE(activation_at(ws, i, p, 1) == 0);
        REQUIRE(activation_at(ws, i, p, 2) == 0);
        continue;
      }
      const float lo = bf16_round(v - hi);
      REQUIRE(activation_at(ws, i, p, 1) == urm::f32_to_bf16(v - hi));
      REQUIRE(activation_at(ws, i, p, 2) == urm::f32_to_bf16(v - hi - lo));
      CHECK(hi + lo + bf16_round(v - hi - lo) == v);
    }
}

TEST_CASE("pack_bf16 converts F32, F16 and BF16 weights once, in panel layout, zero padded") {
  const std::size_t n = 35, k = 70;
  std::vector<float> v = random_values(n * k, 2);
  v[5] = 1e-6f;  // a float16 subnormal
  v[6] = std::numeric_limits<float>::quiet_NaN();
  ThreadPool pool(3);
  for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
    CAPTURE(urm::dtype_name(dt));
    const Tensor t = make_tensor("layers.0.w", dt, n, k, v);
    const PackedBf16Weights p = urm::kernels::pack_bf16(t.view, pool);
    CHECK(p.name() == "layers.0.w");
    CHECK(p.n() == n);
    CHECK(p.k() == k);
    CHECK(p.n_panels() == 2);
    CHECK(p.k_tiles() == 3);
    CHECK(p.bytes() == 64 * 96 * 2);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t c = 0; c < k; ++c) {
        const std::size_t i = r * k + c;
        std::uint16_t expected = urm::f32_to_bf16(v[i]);
        if (dt == DType::F16) expected = urm::f32_to_bf16(urm::f16_to_f32(urm::f32_to_f16(v[i])));
        REQUIRE(packed_at(p, r, c) == expected);
      }
    for (std::size_t r = 0; r < 64; ++r)
      for (std::size_t c = (r < n ? k : 0); c < 96; ++c) REQUIRE(packed_at(p, r, c) == 0);
  }
}

TEST_CASE("pack_bf16 converts every float16 value like f16_to_f32 then f32_to_bf16") {
  // All 65536 bit patterns as a [2048, 32] F16 weight: subnormals, infinities
  // and NaNs included (the F16C path must agree with the scalar reference).
  std::vector<std::uint16_t> bits(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) bits[i] = static_cast<std::uint16_t>(i);
  const TensorView v{"all_f16", DType::F16, {2048, 32}, reinterpret_cast<const std::byte*>(bits.data()), 2 * 65536};
  ThreadPool pool(2);
  const PackedBf16Weights p = urm::kernels::pack_bf16(v, pool);
  for (std::uint32_t i = 0; i < 65536; ++i)
    REQUIRE(packed_at(p, i / 32, i % 32) == urm::f32_to_bf16(urm::f16_to_f32(static_cast<std::uint16_t>(i))));
}

TEST_CASE("split_f16_to_bf16: hi + lo is every finite float16 exactly; hi carries inf and NaN, with lo = 0") {
  std::vector<std::uint16_t> bits(65536), hi(65536), lo(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) bits[i] = static_cast<std::uint16_t>(i);
  urm::detail::split_f16_to_bf16(bits.data(), hi.data(), lo.data(), bits.size());
  std::size_t with_lo = 0;
  for (std::uint32_t i = 0; i < 65536; ++i) {
    const float w = urm::f16_to_f32(bits[i]);
    CAPTURE(i);
    REQUIRE(hi[i] == urm::f32_to_bf16(w));
    if (!std::isfinite(w)) {
      REQUIRE(lo[i] == 0);
      continue;
    }
    const float h = urm::bf16_to_f32(hi[i]), l = urm::bf16_to_f32(lo[i]);
    REQUIRE(h + l == w);  // exact: the sum is w, no rounding
    REQUIRE(std::fabs(l) <= std::ldexp(std::fabs(h), -8));
    with_lo += lo[i] != 0;
  }
  CHECK(with_lo > 40000);  // most float16 values need the second part
#if URM_HAVE_X86_KERNELS
  // The AVX-512 form (the AMX and AVX512-BF16 drivers') gives the same bits.
  if (urm::cpu_features().can_avx512()) {
    std::vector<std::uint16_t> hi2(65536, 1), lo2(65536, 1);
    urm::detail::split_f16_to_bf16_avx512(bits.data(), hi2.data(), lo2.data(), bits.size());
    CHECK(hi2 == hi);
    CHECK(lo2 == lo);
  } else {
    MESSAGE("no AVX-512 here: split_f16_to_bf16_avx512 not run");
  }
#endif
}

TEST_CASE("pack_bf16 with weight_parts = 2 keeps a float16 weight's bits in panel layout, zero padded") {
  const std::size_t n = 35, k = 70;
  const std::vector<float> v = random_values(n * k, 12);
  const Tensor t = make_tensor("layers.0.w", DType::F16, n, k, v);
  ThreadPool pool(3);
  const PackedBf16Weights p = urm::kernels::pack_bf16(t.view, pool, 2);
  CHECK(p.weight_parts() == 2);
  CHECK(urm::kernels::pack_bf16(t.view, pool).weight_parts() == 1);
  CHECK(p.bytes() == 64 * 96 * 2);  // as many bytes as the stored weight, padded: not 4 a weight
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < k; ++c) REQUIRE(packed_at(p, r, c) == urm::f32_to_f16(v[r * k + c]));
  for (std::size_t r = 0; r < 64; ++r)
    for (std::size_t c = (r < n ? k : 0); c < 96; ++c) REQUIRE(packed_at(p, r, c) == 0);
  for (DType dt : {DType::F32, DType::BF16}) {
    const Tensor other = make_tensor("layers.0.w", dt, n, k, v);
    CHECK_THROWS_WITH_AS(urm::kernels::pack_bf16(other.view, pool, 2),
                         ("pack_bf16: weight layers.0.w has dtype " + std::string(urm::dtype_name(dt)) +
                          "; only F16 weights are split into 2 bfloat16 parts")
                             .c_str(),
                         urm::Error);
  }
  CHECK_THROWS_WITH_AS(urm::kernels::pack_bf16(t.view, pool, 3),
                       "pack_bf16: weight layers.0.w: weight_parts = 3, expected 1 or 2", urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::pack_bf16(t.view, pool, 0),
                       "pack_bf16: weight layers.0.w: weight_parts = 0, expected 1 or 2", urm::Error);
}

TEST_CASE("matmul_bf16 with float16 weights in 2 parts and x in 3 is float32-accurate, for every kernel") {
  // x = x0 + x1 + x2 + r, w = hi + lo exactly; computed: Σ_p x_p hi + (x0 + x1) lo,
  // all exact products, 5k of them summed in float32. Left out: r w and x2 lo,
  // |r| <= 2^-24 |x|, |x2 lo| <= 2^-16 |x| 2^-9 |w|. So, with s = Σ |x w|:
  //   |ŷ - x·w| <= γ(5k + 1) (1 + 2^-7) s + 2^-23 s.
  // That bound is loose (worst case); in fact the error is that of the float32
  // FMA path (matmul on the stored weights) within a small factor (its sums
  // have 5 times the terms), which a missing product (x1 lo is 2^-17 of x w)
  // would exceed 100-fold. Weights
  // rounded to one bfloat16 part instead are far further off.
  const auto kernels = urm::test::runnable_bf16_kernels();
  ThreadPool pool(2);
  Bf16Workspace ws;
  std::uint32_t seed = 900;
  for (std::size_t m : {1u, 33u, 600u})
    for (std::size_t n : {3u, 40u, 257u})
      for (std::size_t k : {17u, 300u, 1100u}) {
        if (m * n * k > 600 * 40 * 1100) continue;
        const std::vector<float> x = random_values(m * k, ++seed);
        std::vector<float> w = random_values(n * k, ++seed);
        for (auto& v : w) v = urm::f16_to_f32(urm::f32_to_f16(v));  // the values the F16 tensor holds
        const Tensor wt = make_tensor("w", DType::F16, n, k, w);
        const PackedBf16Weights split = urm::kernels::pack_bf16(wt.view, pool, 2),
                                rounded = urm::kernels::pack_bf16(wt.view, pool);
        const double gamma = gamma_of(static_cast<double>(5 * k + 1));
        for (Bf16Kernel kernel : kernels) {
          CAPTURE(urm::kernels::bf16_kernel_name(kernel));
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          urm::kernels::set_activations_bf16(ws, x.data(), m, k, pool, 3);
          std::vector<float> y(m * n, std::numeric_limits<float>::quiet_NaN()), y1(m * n), y_fma(m * n);
          urm::kernels::matmul_bf16(ws, split, y.data(), pool, kernel);
          urm::kernels::matmul_bf16(ws, rounded, y1.data(), pool, kernel);
          urm::kernels::matmul(x.data(), m, k, wt.view, y_fma.data(), pool);
          double worst = 0.0, worst_rounded = 0.0, worst_fma = 0.0;
          for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) {
              double exact = 0.0, s = 0.0;
              for (std::size_t p = 0; p < k; ++p) {
                const double t = static_cast<double>(x[i * k + p]) * w[j * k + p];
                exact += t;
                s += std::fabs(t);
              }
              const double err = std::fabs(y[i * n + j] - exact);
              REQUIRE(err <= gamma * (1 + std::ldexp(1.0, -7)) * s + std::ldexp(s, -23) + std::ldexp(1.0, -120));
              worst = std::max(worst, err);
              worst_rounded = std::max(worst_rounded, std::fabs(y1[i * n + j] - exact));
              worst_fma = std::max(worst_fma, std::fabs(y_fma[i * n + j] - exact));
            }
          CHECK(worst <= 10 * worst_fma + std::ldexp(1.0, -120));  // measured: at most 3.1x
          CHECK(worst_rounded > 30 * worst);  // lo is really there
        }
      }
}

TEST_CASE("matmul_bf16 refuses split float16 weights with activations in one part") {
  const std::vector<float> w = random_values(4 * 8, 32), x = random_values(2 * 8, 33);
  const Tensor t = make_tensor("model.layers.1.self_attn.o_proj.weight", DType::F16, 4, 8, w);
  ThreadPool pool(1);
  const PackedBf16Weights p = urm::kernels::pack_bf16(t.view, pool, 2);
  Bf16Workspace ws;
  urm::kernels::set_activations_bf16(ws, x.data(), 2, 8, pool, 1);
  std::vector<float> y(8, 5.0f);
  CHECK_THROWS_WITH_AS(urm::kernels::matmul_bf16(ws, p, y.data(), pool, Bf16Kernel::Generic),
                       "matmul_bf16: weight model.layers.1.self_attn.o_proj.weight is split into 2 bfloat16 parts "
                       "(float16), which needs activations in 2 or more parts, not 1",
                       urm::Error);
  CHECK(y == std::vector<float>(8, 5.0f));
}

TEST_CASE("pack_bf16 rejects weights it cannot pack, naming the tensor") {
  std::vector<std::byte> bytes(64);
  TensorView v{"model.norm.weight", DType::F32, {16}, bytes.data(), 64};
  CHECK_THROWS_WITH_AS(urm::kernels::pack_bf16(v),
                       "pack_bf16: weight model.norm.weight has shape [16], expected [n, k] with n, k > 0",
                       urm::Error);
  v = TensorView{"q", DType::I8, {8, 8}, bytes.data(), 64};
  CHECK_THROWS_WITH_AS(urm::kernels::pack_bf16(v), "pack_bf16: weight q has dtype I8, expected F32, F16 or BF16",
                       urm::Error);
  v = TensorView{"q", DType::F16, {8, 8}, bytes.data(), 64};
  CHECK_THROWS_WITH_AS(urm::kernels::pack_bf16(v), "pack_bf16: weight q holds 64 bytes, expected 128 for F16 [8, 8]",
                       urm::Error);
  v = TensorView{"q", DType::F16, {0, 8}, bytes.data(), 0};
  CHECK_THROWS_WITH_AS(urm::kernels::pack_bf16(v), "pack_bf16: weight q has shape [0, 8], expected [n, k] with n, k > 0",
                       urm::Error);
  v = TensorView{"huge", DType::F32, {std::int64_t{1} << 40, std::int64_t{1} << 40}, bytes.data(), 64};
  CHECK_THROWS_WITH_AS(urm::kernels::pack_bf16(v),
                       "pack_bf16: weight huge has shape [1099511627776, 1099511627776], too large to address",
                       urm::Error);
}

TEST_CASE("matmul_bf16 is exact on small integers, for every kernel") {
  // Integers |v| <= 8 are exact in bfloat16, and every partial sum is an
  // integer of magnitude <= 64 k < 2^24: any kernel must give the exact
  // answer, so a layout or indexing mistake cannot hide inside a tolerance.
  const std::size_t m = 45, n = 50, k = 97;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> dist(-8, 8);
  std::vector<float> x(m * k), w(n * k);
  for (auto& v : x) v = static_cast<float>(dist(rng));
  for (auto& v : w) v = static_cast<float>(dist(rng));
  const Tensor wt = make_tensor("w", DType::F32, n, k, w);
  ThreadPool pool(2);
  const PackedBf16Weights p = urm::kernels::pack_bf16(wt.view, pool);
  for (Bf16Kernel kernel : urm::test::runnable_bf16_kernels()) {
    CAPTURE(urm::kernels::bf16_kernel_name(kernel));
    Bf16Workspace ws;
    std::vector<float> y(m * n, -1.0f);
    urm::kernels::matmul_bf16(x.data(), m, k, p, y.data(), pool, ws, kernel);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0.0;
        for (std::size_t q = 0; q < k; ++q) s += static_cast<double>(x[i * k + q]) * w[j * k + q];
        REQUIRE(y[i * n + j] == static_cast<float>(s));
      }
  }
}

TEST_CASE("matmul_bf16 matches a double reference on ragged shapes, for every kernel") {
  // Products of two bfloat16 are exact in float32, so the only error is the
  // float32 summation of k products plus the start value: for any order of
  // additions |ŷ - y| <= γ(k+1) · Σ|x̂ ŵ| with γ(j) = j u / (1 - j u),
  // u = 2^-24 (Higham, Accuracy and Stability, 4.2). AMX flushes subnormal
  // partial results; each flush costs at most 2^-126.
  const std::size_t sizes[] = {1, 3, 17, 33, 100, 257};
  const auto kernels = urm::test::runnable_bf16_kernels();
  ThreadPool pool(2);
  Bf16Workspace ws;  // reused across shapes: buffers grow and shrink logically
  std::uint32_t seed = 10;
  std::size_t checked = 0;
  for (std::size_t m : sizes)
    for (std::size_t n : sizes)
      for (std::size_t k : {std::size_t{1}, std::size_t{17}, std::size_t{100}, std::size_t{257}, std::size_t{1100}}) {
        if (k == 1100 && m * n > 3000) continue;  // the long-k case on small outputs only
        const std::vector<float> x = random_values(m * k, ++seed), w = random_values(n * k, ++seed);
        std::vector<double> ref, scale;
        reference(x, w, m, n, k, ref, scale);
        const Tensor wt = make_tensor("w", DType::F32, n, k, w);
        const PackedBf16Weights p = urm::kernels::pack_bf16(wt.view, pool);
        const double j = static_cast<double>(k + 1), gamma = gamma_of(j);
        for (Bf16Kernel kernel : kernels) {
          CAPTURE(urm::kernels::bf16_kernel_name(kernel));
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          std::vector<float> y(m * n, std::numeric_limits<float>::quiet_NaN());
          urm::kernels::matmul_bf16(x.data(), m, k, p, y.data(), pool, ws, kernel);
          for (std::size_t i = 0; i < m * n; ++i) {
            const double bound = gamma * scale[i] + j * std::ldexp(1.0, -126);
            if (!(std::fabs(y[i] - ref[i]) <= bound)) {
              CAPTURE(i);
              CAPTURE(y[i]);
              CAPTURE(ref[i]);
              CAPTURE(bound);
              REQUIRE(std::fabs(y[i] - ref[i]) <= bound);
            }
          }
          ++checked;
        }
      }
  CHECK(checked >= 3 * 36);
}

TEST_CASE("matmul_bf16 with split activations matches a double reference of (hi + lo) w, for every kernel") {
  // 2k exact products summed in float32: |ŷ - y| <= γ(2k+1) · Σ(|hi ŵ| + |lo ŵ|).
  const auto kernels = urm::test::runnable_bf16_kernels();
  ThreadPool pool(2);
  Bf16Workspace ws;
  std::uint32_t seed = 500;
  for (std::size_t m : {1u, 33u, 100u, 600u})
    for (std::size_t n : {3u, 40u, 257u})
      for (std::size_t k : {17u, 300u}) {
        if (m * n * k > 600 * 40 * 300) continue;
        const std::vector<float> x = random_values(m * k, ++seed), w = random_values(n * k, ++seed);
        std::vector<double> ref, scale, single, single_scale;
        split_reference(x, w, m, n, k, ref, scale);
        reference(x, w, m, n, k, single, single_scale);
        const Tensor wt = make_tensor("w", DType::BF16, n, k, w);
        const PackedBf16Weights p = urm::kernels::pack_bf16(wt.view, pool);
        const double j = static_cast<double>(2 * k + 1), gamma = gamma_of(j);
        for (Bf16Kernel kernel : kernels) {
          CAPTURE(urm::kernels::bf16_kernel_name(kernel));
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          urm::kernels::set_activations_bf16(ws, x.data(), m, k, pool, 2);
          std::vector<float> y(m * n, std::numeric_limits<float>::quiet_NaN());
          urm::kernels::matmul_bf16(ws, p, y.data(), pool, kernel);
          double worst_split = 0.0, worst_single = 0.0;
          for (std::size_t i = 0; i < m * n; ++i) {
            const double bound = gamma * scale[i] + j * std::ldexp(1.0, -126);
            REQUIRE(std::fabs(y[i] - ref[i]) <= bound);
            worst_split = std::max(worst_split, std::fabs(y[i] - ref[i]));
            worst_single = std::max(worst_single, std::fabs(single[i] - ref[i]));
          }
          // The lo part is really there: one rounding is far further off.
          CHECK(worst_single > 100 * worst_split);
        }
      }
}

TEST_CASE("matmul_bf16 is bitwise identical for 1, 2 and 7 threads, for every kernel") {
  // 600 rows x 300 outputs x 700 k: two row items (512 rows each), two
  // output items (256 outputs), three k blocks (256), ragged in all three.
  const std::size_t m = 600, n = 300, k = 700;
  const std::vector<float> x = random_values(m * k, 7), w = random_values(n * k, 8);
  const Tensor wt = make_tensor("w", DType::BF16, n, k, w);
  ThreadPool one(1), two(2), seven(7);
  const PackedBf16Weights p = urm::kernels::pack_bf16(wt.view, seven);
  // And a float16 weight split in two (exact mode's AMX path for F16).
  const Tensor wt16 = make_tensor("w16", DType::F16, n, k, w);
  const PackedBf16Weights p16 = urm::kernels::pack_bf16(wt16.view, seven, 2);
  for (Bf16Kernel kernel : urm::test::runnable_bf16_kernels())
    for (std::size_t parts : {1u, 2u, 3u}) {
      CAPTURE(urm::kernels::bf16_kernel_name(kernel));
      CAPTURE(parts);
      const PackedBf16Weights& pw = parts == 3 ? p16 : p;
      std::vector<float> y1(m * n), y2(m * n), y7(m * n);
      Bf16Workspace ws1, ws2, ws7;
      urm::kernels::set_activations_bf16(ws1, x.data(), m, k, one, parts);
      urm::kernels::set_activations_bf16(ws2, x.data(), m, k, two, parts);
      urm::kernels::set_activations_bf16(ws7, x.data(), m, k, seven, parts);
      urm::kernels::matmul_bf16(ws1, pw, y1.data(), one, kernel);
      urm::kernels::matmul_bf16(ws2, pw, y2.data(), two, kernel);
      urm::kernels::matmul_bf16(ws7, pw, y7.data(), seven, kernel);
      CHECK(std::memcmp(y1.data(), y2.data(), 4 * m * n) == 0);
      CHECK(std::memcmp(y1.data(), y7.data(), 4 * m * n) == 0);
    }
}

TEST_CASE("one set of activations multiplies several weights") {
  const std::size_t m = 20, k = 64;
  const std::vector<float> x = random_values(m * k, 20), wa = random_values(40 * k, 21), wb = random_values(8 * k, 22);
  const Tensor ta = make_tensor("a", DType::F32, 40, k, wa), tb = make_tensor("b", DType::F32, 8, k, wb);
  ThreadPool pool(2);
  const PackedBf16Weights pa = urm::kernels::pack_bf16(ta.view, pool), pb = urm::kernels::pack_bf16(tb.view, pool);
  Bf16Workspace ws;
  urm::kernels::set_activations_bf16(ws, x.data(), m, k, pool);
  std::vector<float> ya(m * 40), yb(m * 8), ya_alone(m * 40), yb_alone(m * 8);
  urm::kernels::matmul_bf16(ws, pa, ya.data(), pool);
  urm::kernels::matmul_bf16(ws, pb, yb.data(), pool);
  Bf16Workspace fresh;
  urm::kernels::matmul_bf16(x.data(), m, k, pa, ya_alone.data(), pool, fresh);
  urm::kernels::matmul_bf16(x.data(), m, k, pb, yb_alone.data(), pool, fresh);
  CHECK(ya == ya_alone);
  CHECK(yb == yb_alone);
}

TEST_CASE("matmul_bf16 rejects a weight of another k and leaves y alone for m = 0") {
  const std::vector<float> w = random_values(4 * 8, 30), x = random_values(2 * 9, 31);
  const Tensor t = make_tensor("model.layers.3.mlp.down_proj.weight", DType::F32, 4, 8, w);
  ThreadPool pool(1);
  const PackedBf16Weights p = urm::kernels::pack_bf16(t.view, pool);
  Bf16Workspace ws;
  std::vector<float> y(8, 5.0f);
  CHECK_THROWS_WITH_AS(urm::kernels::matmul_bf16(x.data(), 2, 9, p, y.data(), pool, ws),
                       "matmul_bf16: activations have k = 9 but weight model.layers.3.mlp.down_proj.weight was "
                       "packed with k = 8",
                       urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::set_activations_bf16(ws, x.data(), 2, 0, pool),
                       "set_activations_bf16: k = 0, expected k > 0", urm::Error);
  urm::kernels::matmul_bf16(x.data(), 0, 8, p, y.data(), pool, ws);
  CHECK(y == std::vector<float>(8, 5.0f));
}

TEST_CASE("matmul_bf16: a row gives the same bits for any m and row offset, for every kernel and parts") {
  // Rows alone (1), in a partial block (3, 17), across row blocks (97) and
  // items (600 > 512); k = 700 spans several k blocks.
  const std::size_t total = 600, n = 70, k = 700;
  const std::vector<float> x = random_values(total * k, 40), w = random_values(n * k, 41);
  const Tensor wt = make_tensor("w", DType::BF16, n, k, w);
  ThreadPool p1(1), p3(3);
  const PackedBf16Weights bf16 = urm::kernels::pack_bf16(wt.view, p3);
  const Tensor wt16 = make_tensor("w16", DType::F16, n, k, w);
  const PackedBf16Weights split = urm::kernels::pack_bf16(wt16.view, p3, 2);  // parts 4, 5: parts 2, 3 of x
  for (Bf16Kernel kernel : urm::test::runnable_bf16_kernels())
    for (std::size_t variant : {1u, 2u, 3u, 4u, 5u}) {
      const std::size_t parts = variant <= 3 ? variant : variant - 2;
      const PackedBf16Weights& p = variant <= 3 ? bf16 : split;
      CAPTURE(urm::kernels::bf16_kernel_name(kernel));
      CAPTURE(parts);
      CAPTURE(p.weight_parts());
      Bf16Workspace ws;
      std::vector<float> all(total * n);
      urm::kernels::set_activations_bf16(ws, x.data(), total, k, p3, parts);
      urm::kernels::matmul_bf16(ws, p, all.data(), p3, kernel);
      for (std::size_t m : {1u, 3u, 17u, 97u, 600u})
        for (std::size_t offset : {std::size_t{0}, std::size_t{5}, total - m})
          for (ThreadPool* pool : {&p1, &p3}) {
            if (offset + m > total) continue;
            CAPTURE(m);
            CAPTURE(offset);
            std::vector<float> y(m * n);
            urm::kernels::set_activations_bf16(ws, x.data() + offset * k, m, k, *pool, parts);
            urm::kernels::matmul_bf16(ws, p, y.data(), *pool, kernel);
            REQUIRE(std::memcmp(y.data(), all.data() + offset * n, y.size() * sizeof(float)) == 0);
          }
    }
}
