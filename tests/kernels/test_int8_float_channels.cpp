// Float channels of int8 weights (kernels/int8_float_channels.hpp): the
// selection rule, packing with float input columns and float output rows,
// activations quantized without the float channels, the matmul's float
// epilogue (against a double reference, every kernel bitwise the same,
// batch invariant), and the errors.
#include <doctest/doctest.h>

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
#include "urm/kernels/int8_float_channels.hpp"
#include "urm/kernels/linear.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/kernels/matmul_int8.hpp"

using urm::DType;
using urm::kernels::Int8Activations;
using urm::kernels::Int8FloatChannels;
using urm::kernels::Int8Kernel;
using urm::kernels::PackedInt8Weights;
using urm::kernels::select_float_channels;
using namespace urm::test;

namespace {


// y = x · Wᵀ in double.
std::vector<double> exact_y(const std::vector<float>& x, const std::vector<float>& w, std::size_t m, std::size_t n,
                            std::size_t k) {
  std::vector<double> y(m * n);
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t o = 0; o < n; ++o) {
      double s = 0;
      for (std::size_t j = 0; j < k; ++j) s += static_cast<double>(x[r * k + j]) * w[o * k + j];
      y[r * n + o] = s;
    }
  return y;
}

// x [m, k] with massive input channels and W [n, k] whose rows `rows` are massive.
struct MassiveCase {
  std::size_t m = 37, n = 70, k = 300;
  std::vector<float> x, w;
  Int8FloatChannels f{.inputs = {3, 150, 299}, .outputs = {0, 17, 69}};
  explicit MassiveCase(std::uint32_t seed) {
    std::mt19937 rng(seed);
    x = random_floats(m * k, rng);
    w = random_floats(n * k, rng, 0.05f);
    const float in_factor[] = {40.0f, 200.0f, 25.0f};
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t i = 0; i < 3; ++i) x[r * k + f.inputs[i]] *= in_factor[i];
    for (std::uint32_t o : f.outputs)
      for (std::size_t j = 0; j < k; ++j) w[o * k + j] *= 1000.0f;
  }
};

// values as a tensor of dtype holds them.
std::vector<float> round_trip(const std::vector<float>& v, DType dt) {
  std::vector<float> out(v);
  for (float& e : out)
    if (dt == DType::F16) e = urm::f16_to_f32(urm::f32_to_f16(e));
    else if (dt == DType::BF16) e = urm::bf16_to_f32(urm::f32_to_bf16(e));
  return out;
}

}  // namespace

TEST_CASE("select_float_channels: channels above 6x the median, at most max(8, k / 64), ascending") {
  std::vector<float> mx(200, 1.0f);
  for (std::size_t j = 0; j < mx.size(); ++j) mx[j] = 1.0f + 0.001f * static_cast<float>(j % 7);  // median 1.003
  mx[150] = 100.0f;
  mx[7] = 6.5f;
  mx[42] = 6.0f;  // not above 6x the median
  CHECK(select_float_channels(mx, "w") == std::vector<std::uint32_t>{7, 150});
  // No channel stands out: none (plain int8).
  CHECK(select_float_channels(std::vector<float>(64, 2.0f), "w").empty());
  CHECK(select_float_channels(std::vector<float>{}, "w").empty());
  // A median of 0 gives no scale: none.
  std::vector<float> sparse(10, 0.0f);
  sparse[3] = 5.0f;
  CHECK(select_float_channels(sparse, "w").empty());
  // The cap: k = 128 allows 8 (the minimum), k = 1024 allows 16; the largest win.
  std::vector<float> many(128, 1.0f);
  for (std::size_t j = 0; j < 20; ++j) many[5 * j] = 10.0f + static_cast<float>(j);  // channels 0, 5, …, 95
  CHECK(select_float_channels(many, "w") == std::vector<std::uint32_t>{60, 65, 70, 75, 80, 85, 90, 95});
  std::vector<float> wide(1024, 1.0f);
  for (std::size_t j = 0; j < 20; ++j) wide[j] = 100.0f;  // ties: the lower channels
  std::vector<std::uint32_t> first16(16);
  for (std::uint32_t j = 0; j < 16; ++j) first16[j] = j;
  CHECK(select_float_channels(wide, "w") == first16);

  std::vector<float> bad(8, 1.0f);
  bad[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(select_float_channels(bad, "layers.0.q_proj.weight (inputs)"),
                       "select_float_channels: layers.0.q_proj.weight (inputs): channel 3 has maximum nan, expected a "
                       "finite value >= 0",
                       urm::Error);
}

TEST_CASE("pack_int8 with float channels: float columns and rows, int8 scales from the rest") {
  const MassiveCase c(21);
  urm::ThreadPool pool(2);
  for (DType dt : float_dtypes) {
    CAPTURE(urm::dtype_name(dt));
    const auto t = store(c.w, dt, {70, 300});
    const std::vector<float> wv = round_trip(c.w, dt);  // the weights as stored
    const PackedInt8Weights p = urm::kernels::pack_int8(t.view, pool, c.f);
    CHECK(p.float_channels() == c.f);
    CHECK(p.bytes() == urm::kernels::pack_int8(t.view, pool).bytes() + 3 * (4 + 70 * 4) + 3 * (4 + 300 * 4));
    for (std::size_t o = 0; o < c.n; ++o) {
      CAPTURE(o);
      const bool float_row = o == 0 || o == 17 || o == 69;
      float amax = 0.0f;
      for (std::size_t j = 0; j < c.k; ++j)
        if (j != 3 && j != 150 && j != 299) amax = std::max(amax, std::abs(wv[o * c.k + j]));
      CHECK(p.scales()[o] == (float_row ? 0.0f : amax / 127.0f));
      for (std::uint32_t j : c.f.inputs) CHECK(int8_weight_q(p, o, j) == 0);
      for (std::size_t i = 0; i < 3; ++i)
        CHECK(p.input_weights()[i * c.n + o] == (float_row ? 0.0f : wv[o * c.k + c.f.inputs[i]]));
      if (float_row) {
        const std::size_t i = o == 0 ? 0 : o == 17 ? 1 : 2;
        for (std::size_t j = 0; j < c.k; ++j) {
          CHECK(int8_weight_q(p, o, j) == 0);
          CHECK(p.output_weights()[i * c.k + j] == wv[o * c.k + j]);
        }
      }
    }
  }
}

TEST_CASE("quantize_activations with float channels: those are 0, the scale comes from the others") {
  std::mt19937 rng(5);
  urm::ThreadPool pool(2);
  const std::size_t m = 3, k = 40;
  auto x = random_floats(m * k, rng);
  for (std::size_t r = 0; r < m; ++r) x[r * k + 11] = 500.0f;
  const std::vector<std::uint32_t> f = {11, 39};
  Int8Activations a;
  urm::kernels::quantize_activations(a, x.data(), m, k, pool, 2, f);
  CHECK(a.float_channels == f);
  CHECK(a.x == x.data());
  for (std::size_t r = 0; r < m; ++r) {
    float amax = 0.0f;
    for (std::size_t j = 0; j < k; ++j)
      if (j != 11 && j != 39) amax = std::max(amax, std::abs(x[r * k + j]));
    CHECK(a.scales.data()[r * 2] == amax / 127.0f);
    for (std::uint32_t j : f)
      for (std::size_t p = 0; p < 2; ++p) CHECK(a.row(r * 2 + p)[j] == 128);
  }
}

TEST_CASE("matmul_int8 with float channels: massive channels kept near exact, every kernel bitwise the same") {
  const MassiveCase c(22);
  urm::ThreadPool pool(2), one(1);
  const auto t = store(c.w, DType::F32, {70, 300});
  const std::vector<double> ref = exact_y(c.x, c.w, c.m, c.n, c.k);
  const PackedInt8Weights plain = urm::kernels::pack_int8(t.view, pool);
  const PackedInt8Weights split = urm::kernels::pack_int8(t.view, pool, c.f);
  Int8Activations a;
  std::vector<float> y_plain(c.m * c.n), y_split(c.m * c.n);
  urm::kernels::matmul_int8(c.x.data(), c.m, c.k, plain, y_plain.data(), pool, a, 2);
  urm::kernels::matmul_int8(c.x.data(), c.m, c.k, split, y_split.data(), pool, a, 2);
  // Error relative to the row's (output's) typical size: the ordinary
  // outputs' rms, and for the massive rows their own rms.
  double err_plain = 0, err_split = 0, err_rows = 0, size = 0;
  for (std::size_t r = 0; r < c.m; ++r)
    for (std::size_t o = 0; o < c.n; ++o) {
      const std::size_t i = r * c.n + o;
      if (o == 0 || o == 17 || o == 69) {
        // A float row: one float32 dot product of k terms.
        err_rows = std::max(err_rows, std::abs(y_split[i] - ref[i]) / std::abs(ref[i]));
        continue;
      }
      size += ref[i] * ref[i];
      err_plain = std::max(err_plain, std::abs(y_plain[i] - ref[i]));
      err_split = std::max(err_split, std::abs(y_split[i] - ref[i]));
    }
  size = std::sqrt(size / static_cast<double>(c.m * (c.n - 3)));
  MESSAGE("max |y - exact| / rms(y): plain int8 " << err_plain / size << ", with float channels " << err_split / size
                                                  << "; float rows: max relative " << err_rows);
  // Measured: plain 0.030, with float channels 0.0021 (the int8 weights of
  // the ordinary columns), float rows 4.4e-6 (float32 sums of 300 terms).
  CHECK(err_split / size < 0.005);
  CHECK(err_plain > 5 * err_split);
  CHECK(err_rows < 1e-4);

  for (Int8Kernel kernel : urm::kernels::kInt8Kernels) {
    if (!urm::kernels::int8_kernel_available(kernel, urm::cpu_features())) continue;
    CAPTURE(urm::kernels::int8_kernel_name(kernel));
    std::vector<float> y(c.m * c.n), y1(c.m * c.n);
    urm::kernels::matmul_int8(c.x.data(), c.m, c.k, split, y.data(), pool, a, 2, kernel);
    CHECK(same_bits(y, y_split));
    urm::kernels::matmul_int8(c.x.data(), c.m, c.k, split, y1.data(), one, a, 2, kernel);
    CHECK(same_bits(y1, y_split));
    for (std::size_t r : {0u, 20u, 36u}) {
      std::vector<float> alone(c.n);
      urm::kernels::matmul_int8(c.x.data() + r * c.k, 1, c.k, split, alone.data(), pool, a, 2, kernel);
      CHECK(same_bits(alone, std::vector<float>(y_split.begin() + static_cast<std::ptrdiff_t>(r * c.n),
                                                y_split.begin() + static_cast<std::ptrdiff_t>((r + 1) * c.n))));
    }
  }
}

TEST_CASE("Linear: an int8 path with float channels, and the errors") {
  const MassiveCase c(23);
  urm::ThreadPool pool(2);
  const auto t = store(c.w, DType::BF16, {70, 300}, 0, "layers.0.o_proj.weight");
  const urm::kernels::Linear stored(t.view);
  const urm::kernels::LinearPath int8 = urm::kernels::int8_mode_path();
  const urm::kernels::Linear packed = urm::kernels::pack_linear(stored, int8, pool, c.f);
  CHECK(packed.float_channels() == c.f);
  CHECK(stored.float_channels().empty());
  CHECK(urm::kernels::pack_linear(stored, int8, pool).float_channels().empty());
  // One input read by weights of one channel set is quantized once; its result is the one-shot matmul's.
  urm::kernels::LinearInput in;
  in.set(c.x.data(), c.m, c.k);
  std::vector<float> y(c.m * c.n), y_direct(c.m * c.n);
  urm::kernels::linear(in, packed, y.data(), pool);
  Int8Activations a;
  const PackedInt8Weights split = urm::kernels::pack_int8(t.view, pool, c.f);
  urm::kernels::matmul_int8(c.x.data(), c.m, c.k, split, y_direct.data(), pool, a, int8.parts, int8.int8_kernel);
  CHECK(same_bits(y, y_direct));
  // Then a weight without float channels on the same input: quantized again, without them.
  const urm::kernels::Linear plain = urm::kernels::pack_linear(stored, int8, pool);
  std::vector<float> y_plain(c.m * c.n), y_plain_direct(c.m * c.n);
  urm::kernels::linear(in, plain, y_plain.data(), pool);
  urm::kernels::matmul_int8(c.x.data(), c.m, c.k, urm::kernels::pack_int8(t.view, pool), y_plain_direct.data(), pool, a,
                            int8.parts, int8.int8_kernel);
  CHECK(same_bits(y_plain, y_plain_direct));

  CHECK_THROWS_WITH_AS(urm::kernels::pack_linear(stored, urm::kernels::kStoredPath, pool, c.f),
                       "pack_linear: path float32 for layers.0.o_proj.weight takes no float channels (only int8 paths "
                       "do)",
                       urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::pack_int8(t.view, pool, {.inputs = {3, 300}, .outputs = {}}),
                       "pack_int8: weight layers.0.o_proj.weight: float channel 300 is out of range for k = 300",
                       urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::pack_int8(t.view, pool, {.inputs = {5, 5}, .outputs = {}}),
                       "pack_int8: weight layers.0.o_proj.weight: float channels must be strictly ascending, but 5 "
                       "follows 5",
                       urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::pack_int8(t.view, pool, {.inputs = {}, .outputs = {70}}),
                       "pack_int8: weight layers.0.o_proj.weight: float output 70 is out of range for n = 70",
                       urm::Error);
  CHECK_THROWS_WITH_AS(urm::kernels::pack_int8(t.view, pool, {.inputs = {}, .outputs = {9, 2}}),
                       "pack_int8: weight layers.0.o_proj.weight: float outputs must be strictly ascending, but 2 "
                       "follows 9",
                       urm::Error);
  const std::vector<std::uint32_t> wrong = {4};
  CHECK_THROWS_WITH_AS(urm::kernels::quantize_activations(a, c.x.data(), c.m, c.k, pool, 2, std::vector<std::uint32_t>{301}),
                       "quantize_activations: float channel 301 is out of range for k = 300", urm::Error);
  urm::kernels::quantize_activations(a, c.x.data(), c.m, c.k, pool, 2, wrong);
  std::vector<float> out(c.m * c.n);
  CHECK_THROWS_WITH_AS(urm::kernels::matmul_int8(a, split, out.data(), pool),
                       "matmul_int8: activations were quantized with 1 float channels, not with the 3 of weight "
                       "layers.0.o_proj.weight",
                       urm::Error);
}
