// The int8 matmul (kernels/matmul_int8.hpp): weight and activation
// quantization, every block kernel this machine runs against the generic one
// (bitwise) and against int32 products computed here from the quantized
// values, batch invariance, the kernel dispatch for given CPU features, and
// the errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/kernel_reference.hpp"
#include "urm/core/cpu_features.hpp"
#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/kernels/matmul_int8.hpp"

using urm::CpuFeatures;
using urm::DType;
using urm::kernels::Int8Activations;
using urm::kernels::Int8Kernel;
using urm::kernels::PackedInt8Weights;
using namespace urm::test;

namespace {

// q of row r, part p, channel j, read back from the activation layout.
int activation_q(const Int8Activations& a, std::size_t r, std::size_t p, std::size_t j) {
  return static_cast<int>(a.row(r * a.parts + p)[j]) - 128;
}

// y from the quantized operands: int64 sums here, then the library's epilogue formula.
std::vector<float> reference_y(const Int8Activations& a, const PackedInt8Weights& w) {
  std::vector<float> y(a.m * w.n());
  for (std::size_t r = 0; r < a.m; ++r)
    for (std::size_t o = 0; o < w.n(); ++o) {
      float acc[2] = {};
      for (std::size_t p = 0; p < a.parts; ++p) {
        std::int64_t s = 0;
        for (std::size_t j = 0; j < a.k; ++j) s += activation_q(a, r, p, j) * int8_weight_q(w, o, j);
        REQUIRE(std::abs(s) < (std::int64_t{1} << 31));
        acc[p] = static_cast<float>(s);
      }
      const float* s = a.scales.data() + r * a.parts;
      y[r * w.n() + o] = w.scales()[o] * (a.parts == 1 ? s[0] * acc[0] : std::fma(s[1], acc[1], s[0] * acc[0]));
    }
  return y;
}

}  // namespace

TEST_CASE("pack_int8: per-output symmetric scales, values in [-127, 127], bias -128 sum q, zero padding") {
  std::mt19937 rng(3);
  urm::ThreadPool pool(2);
  const std::size_t n = 21, k = 70;  // neither a whole panel nor a whole 64-k block
  auto values = random_floats(n * k, rng);
  for (std::size_t j = 0; j < k; ++j) values[5 * k + j] = 0.0f;  // a zero row
  values[7 * k + 3] = 40.0f;                                      // an outlier weight
  for (DType dt : float_dtypes) {
    CAPTURE(urm::dtype_name(dt));
    const auto t = store(values, dt, {21, 70});
    const PackedInt8Weights w = urm::kernels::pack_int8(t.view, pool);
    CHECK(w.n() == n);
    CHECK(w.k() == k);
    CHECK(w.k_padded() == 128);
    CHECK(w.n_panels() == 2);
    CHECK(w.bytes() == 2 * (16 * 128 + 16 * 8));
    for (std::size_t o = 0; o < 32; ++o) {
      float amax = 0;
      for (std::size_t j = 0; j < k && o < n; ++j) amax = std::max(amax, std::abs(t.view.get_f32(o * k + j)));
      CHECK(w.scales()[o] == amax / 127.0f);
      std::int32_t sum = 0;
      for (std::size_t j = 0; j < w.k_padded(); ++j) {
        const int q = int8_weight_q(w, o, j);
        sum += q;
        CHECK(std::abs(q) <= 127);
        if (o >= n || j >= k) CHECK(q == 0);
        else if (amax > 0)
          CHECK(q == static_cast<int>(std::nearbyint(t.view.get_f32(o * k + j) * (127.0f / amax))));
      }
      CHECK(w.bias128()[o] == -128 * sum);
    }
    CHECK(int8_weight_q(w, 7, 3) == 127);
  }
}

TEST_CASE("quantize_activations: one part within s/2, two parts within s/508, padding q = 0") {
  std::mt19937 rng(4);
  urm::ThreadPool pool(2);
  const std::size_t m = 11, k = 90;
  auto x = random_floats(m * k, rng);
  x[2 * k + 5] = 300.0f;                                  // a massive activation
  std::fill(x.begin() + 4 * k, x.begin() + 5 * k, 0.0f);  // a zero row
  for (std::size_t parts : {1u, 2u}) {
    CAPTURE(parts);
    Int8Activations a;
    urm::kernels::quantize_activations(a, x.data(), m, k, pool, parts);
    CHECK(a.m_padded() == 16);
    CHECK(a.k_padded() == 128);
    for (std::size_t r = 0; r < a.m_padded(); ++r) {
      float amax = 0;
      for (std::size_t j = 0; j < k && r < m; ++j) amax = std::max(amax, std::abs(x[r * k + j]));
      const float s0 = a.scales.data()[r * parts];
      CHECK(s0 == amax / 127.0f);
      for (std::size_t j = 0; j < a.k_padded(); ++j) {
        if (r >= m || j >= k) {
          for (std::size_t p = 0; p < parts; ++p) CHECK(activation_q(a, r, p, j) == 0);
          continue;
        }
        double back = 0;
        for (std::size_t p = 0; p < parts; ++p) {
          CHECK(std::abs(activation_q(a, r, p, j)) <= 127);
          back += static_cast<double>(a.scales.data()[r * parts + p]) * activation_q(a, r, p, j);
        }
        const double bound = parts == 1 ? s0 / 2.0 : s0 / 508.0;
        CHECK(std::abs(back - x[r * k + j]) <= bound * 1.001 + 1e-12);
      }
    }
    CHECK(std::abs(activation_q(a, 2, 0, 5)) == 127);
  }
}

TEST_CASE("quantize_activations: a row with a NaN or an infinity gets scale NaN, so its outputs are NaN") {
  urm::ThreadPool pool(1);
  std::vector<float> x = {1.0f, 2.0f, std::numeric_limits<float>::quiet_NaN(), 3.0f,
                          1.0f, std::numeric_limits<float>::infinity(), 0.0f, 1.0f,
                          1.0f, 2.0f, 3.0f, 4.0f};
  const auto w = store(std::vector<float>(8, 0.5f), DType::F32, {2, 4});
  const PackedInt8Weights pw = urm::kernels::pack_int8(w.view, pool);
  Int8Activations a;
  std::vector<float> y(6);
  urm::kernels::matmul_int8(x.data(), 3, 4, pw, y.data(), pool, a, 2);
  CHECK(std::isnan(y[0]));
  CHECK(std::isnan(y[1]));
  CHECK(std::isnan(y[2]));
  CHECK(std::isnan(y[3]));
  CHECK(y[4] == doctest::Approx(5.0).epsilon(1e-4));
}

TEST_CASE("pack_int8: a weight with a NaN gets scale NaN (its outputs are NaN, which forward reports)") {
  urm::ThreadPool pool(1);
  std::vector<float> v(8, 0.5f);
  v[5] = std::numeric_limits<float>::quiet_NaN();
  const PackedInt8Weights pw = urm::kernels::pack_int8(store(v, DType::F32, {2, 4}).view, pool);
  CHECK(pw.scales()[0] == 0.5f / 127.0f);
  CHECK(std::isnan(pw.scales()[1]));
}

TEST_CASE("matmul_int8: every kernel gives the reference int32 products, bit for bit the generic kernel's") {
  std::mt19937 rng(5);
  urm::ThreadPool pool(2);
  struct Case {
    std::size_t m, n, k;
  };
  // Rows across item (32) and tile edges, outputs across panel (16) and block (64) edges,
  // k across the 64 padding and the 512 k block.
  for (const Case c : {Case{1, 16, 64}, Case{7, 33, 70}, Case{40, 100, 600}, Case{67, 130, 1100}}) {
    const auto x = random_floats(c.m * c.k, rng);
    const auto wt = store(random_floats(c.n * c.k, rng, 0.05f), DType::BF16,
                          {static_cast<std::int64_t>(c.n), static_cast<std::int64_t>(c.k)});
    const PackedInt8Weights w = urm::kernels::pack_int8(wt.view, pool);
    for (std::size_t parts : {1u, 2u}) {
      CAPTURE(c.m);
      CAPTURE(c.n);
      CAPTURE(c.k);
      CAPTURE(parts);
      Int8Activations a;
      urm::kernels::quantize_activations(a, x.data(), c.m, c.k, pool, parts);
      const std::vector<float> ref = reference_y(a, w);
      std::vector<float> generic(c.m * c.n);
      urm::kernels::matmul_int8(a, w, generic.data(), pool, Int8Kernel::Generic);
      CHECK(same_bits(generic, ref));
      for (Int8Kernel kernel : runnable_int8_kernels()) {
        CAPTURE(urm::kernels::int8_kernel_name(kernel));
        std::vector<float> y(c.m * c.n, -1.0f);
        urm::kernels::matmul_int8(a, w, y.data(), pool, kernel);
        CHECK(same_bits(y, generic));
      }
      // And the products approximate the float32 ones: 2 parts to ~1e-2 of the rows' scale.
      if (parts == 2) {
        std::vector<float> exact(c.m * c.n);
        urm::kernels::matmul(x.data(), c.m, c.k, wt.view, exact.data(), pool);
        double err = 0, norm = 0;
        for (std::size_t i = 0; i < exact.size(); ++i) {
          err = std::max(err, static_cast<double>(std::abs(generic[i] - exact[i])));
          norm = std::max(norm, static_cast<double>(std::abs(exact[i])));
        }
        CHECK(err <= 0.02 * norm);
      }
    }
  }
}

TEST_CASE("matmul_int8: a row gives the same bits alone, in any batch and for any number of threads") {
  std::mt19937 rng(6);
  const std::size_t m = 45, n = 80, k = 200;
  const auto x = random_floats(m * k, rng);
  urm::ThreadPool one(1), two(2);
  const PackedInt8Weights w =
      urm::kernels::pack_int8(store(random_floats(n * k, rng, 0.05f), DType::F16, {80, 200}).view, two);
  for (Int8Kernel kernel : runnable_int8_kernels()) {
    CAPTURE(urm::kernels::int8_kernel_name(kernel));
    Int8Activations a;
    std::vector<float> all(m * n), all1(m * n);
    urm::kernels::matmul_int8(x.data(), m, k, w, all.data(), two, a, 2, kernel);
    urm::kernels::matmul_int8(x.data(), m, k, w, all1.data(), one, a, 2, kernel);
    CHECK(same_bits(all, all1));
    for (std::size_t r : {0u, 9u, 44u}) {
      std::vector<float> alone(n);
      urm::kernels::matmul_int8(x.data() + r * k, 1, k, w, alone.data(), two, a, 2, kernel);
      CHECK(same_bits(alone, std::vector<float>(all.begin() + static_cast<std::ptrdiff_t>(r * n),
                                                all.begin() + static_cast<std::ptrdiff_t>((r + 1) * n))));
    }
  }
}

TEST_CASE("pack_int8 and matmul_int8: bad inputs get exact errors") {
  urm::ThreadPool pool(1);
  const auto w = store(std::vector<float>(8, 1.0f), DType::F32, {2, 4}, 0, "layers.0.q_proj.weight");
  const PackedInt8Weights pw = urm::kernels::pack_int8(w.view, pool);
  Int8Activations a;
  std::vector<float> x(6, 1.0f), y(4);
  CHECK_THROWS_WITH_AS(urm::kernels::matmul_int8(x.data(), 2, 3, pw, y.data(), pool, a, 1),
                       "matmul_int8: activations have k = 3 but weight layers.0.q_proj.weight was packed with k = 4",
                       urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::quantize_activations(a, x.data(), 2, 3, pool, 3),
                       "quantize_activations: parts = 3, expected 1 to 2", urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::quantize_activations(a, x.data(), 2, 0, pool, 1),
                       "quantize_activations: k = 0, expected k > 0", urm::Error);

  // k past the int32 bound (255 · 127 · k < 2^31).
  const std::size_t wide = urm::detail::kInt8MaxK + 1;
  CHECK(urm::detail::kInt8MaxK == 66311);
  const auto too_wide = store(std::vector<float>(wide, 1.0f), DType::BF16, {1, static_cast<std::int64_t>(wide)}, 0, "wide");
  CHECK_THROWS_WITH_AS(urm::kernels::pack_int8(too_wide.view, pool),
                       "pack_int8: weight wide has shape [1, 66312]: k = 66312 is more than 66311, where int32 sums "
                       "of int8 products could overflow",
                       urm::Error);
  const auto at_bound = store(std::vector<float>(wide - 1, 1.0f), DType::BF16, {1, static_cast<std::int64_t>(wide - 1)});
  CHECK(urm::kernels::pack_int8(at_bound.view, pool).k() == 66311);

  urm::TensorView ints = w.view;
  ints.dtype = DType::I8;
  CHECK_THROWS_WITH_AS(urm::kernels::pack_int8(ints, pool),
                       "pack_int8: weight layers.0.q_proj.weight has dtype I8, expected F32, F16 or BF16", urm::Error);
  urm::TensorView flat = w.view;
  flat.shape = {8};
  CHECK_THROWS_WITH_AS(urm::kernels::pack_int8(flat, pool),
                       "pack_int8: weight layers.0.q_proj.weight has shape [8], expected [n, k] with n, k > 0",
                       urm::Error);
  urm::TensorView short_data = w.view;
  short_data.nbytes = 16;
  CHECK_THROWS_WITH_AS(urm::kernels::pack_int8(short_data, pool),
                       "pack_int8: weight layers.0.q_proj.weight holds 16 bytes, expected 32 for F32 [2, 4]", urm::Error);

  for (Int8Kernel k : urm::kernels::kInt8Kernels)
    if (!urm::kernels::int8_kernel_available(k, urm::cpu_features()))
      CHECK_THROWS_WITH_AS(urm::kernels::matmul_int8(x.data(), 1, 4, pw, y.data(), pool, a, 1, k),
                           ("matmul_int8: kernel " + std::string(urm::kernels::int8_kernel_name(k)) +
                            " is not available on this machine (" + urm::cpu_features().brand + ")")
                               .c_str(),
                           urm::Error);
}

TEST_CASE("int8 mode's kernel for given CPU features: VNNI 512, VNNI 256, AVX2, else generic") {
  using urm::kernels::int8_mode_path;
  using urm::kernels::LinearKind;
  CpuFeatures f;
  CHECK(int8_mode_path(f).int8_kernel == Int8Kernel::Generic);
  CHECK(int8_mode_path(f).kind == LinearKind::PackedInt8);
  CHECK(int8_mode_path(f).parts == 2);
  f.avx2 = f.fma = f.os_avx = true;
  const bool x86 = URM_HAVE_X86_KERNELS;
  CHECK(int8_mode_path(f).int8_kernel == (x86 ? Int8Kernel::Avx2 : Int8Kernel::Generic));
  f.avx_vnni = true;
  CHECK(int8_mode_path(f).int8_kernel == (x86 ? Int8Kernel::AvxVnni : Int8Kernel::Generic));
  f.avx512f = f.avx512bw = f.avx512_vnni = true;
  CHECK(int8_mode_path(f).int8_kernel == (x86 ? Int8Kernel::AvxVnni : Int8Kernel::Generic));  // no OS support
  f.os_avx512 = true;
  CHECK(int8_mode_path(f).int8_kernel == (x86 ? Int8Kernel::Avx512Vnni : Int8Kernel::Generic));
  f.os_avx = f.os_avx512 = false;  // no vector state saved by the OS: nothing vector runs
  CHECK(int8_mode_path(f).int8_kernel == Int8Kernel::Generic);
  CHECK(urm::kernels::linear_path_available(int8_mode_path()));
  CHECK(urm::kernels::linear_path_name(int8_mode_path(f)) == "int8x2-generic");
  CHECK(urm::kernels::linear_path_name({.kind = LinearKind::PackedInt8, .parts = 1, .int8_kernel = Int8Kernel::Avx2}) ==
        "int8x1-avx2");
  CHECK(!urm::kernels::linear_path_available({.kind = LinearKind::PackedInt8, .parts = 3}));
  CHECK(!urm::kernels::linear_path_available({.kind = LinearKind::PackedInt8, .parts = 0}));
}

TEST_CASE("describe_kernels names int8 mode's kernel and its candidates") {
  CpuFeatures f;
  f.brand = "Test CPU";
  f.avx2 = f.fma = f.os_avx = true;
  const std::string s = urm::kernels::describe_kernels(f);
  if (URM_HAVE_X86_KERNELS) {
    CHECK(s.find("\nint8 mode matmul: int8x2-avx2 (int8 x int8 -> int32 on avx2, x per token in 2 int8 parts, weights "
                 "quantized per output channel at load)\n") != std::string::npos);
    CHECK(s.find("\nint8 mode candidates, fastest first: int8x2-amx_int8 [needs AMX-INT8 with the OS's tile-data "
                 "permission], int8x2-avx512_vnni [needs AVX512-VNNI], int8x2-avx_vnni [needs AVX-VNNI], int8x2-avx2, "
                 "int8x2-generic") != std::string::npos);
  }
  f.avx512_vnni = f.avx_vnni = true;
  CHECK(urm::kernels::describe_kernels(f).find("isa: avx2 fma avx512_vnni avx_vnni\n") != std::string::npos);
}
