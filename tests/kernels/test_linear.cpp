// kernels::Linear: one call for every storage of a weight, one input
// prepared once for every weight that reads it.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "support/kernel_reference.hpp"
#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/linear.hpp"

using urm::DType;
using urm::kernels::Bf16Kernel;
using urm::kernels::Linear;
using urm::kernels::LinearInput;
using urm::kernels::LinearKind;
using urm::kernels::LinearPath;
using namespace urm::test;

TEST_CASE("linear on a stored weight is matmul on it") {
  std::mt19937 rng(1);
  urm::ThreadPool pool(2);
  const std::size_t m = 7, n = 33, k = 40;
  const auto x = random_floats(m * k, rng);
  for (DType dt : float_dtypes) {
    const auto w = store(random_floats(n * k, rng), dt, {33, 40});
    const Linear lin = w.view;  // a stored weight is a Linear of the stored path
    CHECK(lin.path() == urm::kernels::kStoredPath);
    CHECK(lin.own_bytes() == 0);
    LinearInput in;
    in.set(x.data(), m, k);
    std::vector<float> y(m * n), ref(m * n);
    urm::kernels::linear(in, lin, y.data(), pool);
    urm::kernels::matmul(x.data(), m, k, w.view, ref.data(), pool);
    CHECK(same_bits(y, ref));
  }
}

namespace {

// linear() on w packed for `path` gives the bits of matmul_bf16 with the
// path's kernel and parts on pack_bf16(w, path.weight_parts).
void check_linear_is_matmul_bf16(const StoredTensor& w, const LinearPath& path, const std::vector<float>& x,
                                 urm::ThreadPool& pool) {
  CAPTURE(urm::kernels::linear_path_name(path));
  const std::size_t n = static_cast<std::size_t>(w.view.dim(0)), k = static_cast<std::size_t>(w.view.dim(1));
  const std::size_t m = x.size() / k;
  const Linear packed = urm::kernels::pack_linear(w.view, path, pool);
  CHECK(packed.path() == path);
  CHECK(packed.name() == w.view.name);
  const urm::kernels::PackedBf16Weights direct = urm::kernels::pack_bf16(w.view, pool, path.weight_parts);
  CHECK(packed.own_bytes() == direct.bytes());
  LinearInput in;
  in.set(x.data(), m, k);
  std::vector<float> y(m * n), ref(m * n);
  urm::kernels::linear(in, packed, y.data(), pool);
  urm::kernels::Bf16Workspace ws;
  urm::kernels::set_activations_bf16(ws, x.data(), m, k, pool, path.parts);
  urm::kernels::matmul_bf16(ws, direct, ref.data(), pool, path.bf16_kernel);
  CHECK(same_bits(y, ref));
}

}  // namespace

TEST_CASE("linear on a packed weight is matmul_bf16 with the path's kernel and parts") {
  std::mt19937 rng(2);
  urm::ThreadPool pool(2);
  const std::size_t m = 20, n = 50, k = 70;
  const auto x = random_floats(m * k, rng);
  const auto w = store(random_floats(n * k, rng), DType::BF16, {50, 70});
  for (std::size_t parts : {1u, 2u, 3u})
    for (const LinearPath& path : bf16_paths(parts)) check_linear_is_matmul_bf16(w, path, x, pool);
}

TEST_CASE("linear on a float16 weight split in 2 parts is matmul_bf16 on pack_bf16(w, 2)") {
  std::mt19937 rng(5);
  urm::ThreadPool pool(2);
  const std::size_t m = 20, n = 50, k = 70;
  const auto x = random_floats(m * k, rng);
  const auto w = store(random_floats(n * k, rng), DType::F16, {50, 70}, 0, "model.layers.0.mlp.down_proj.weight");
  for (std::size_t parts : {2u, 3u})
    for (LinearPath path : bf16_paths(parts)) {
      path.weight_parts = 2;
      check_linear_is_matmul_bf16(w, path, x, pool);
    }
  // Split weights need a second part of x to meet lo, and float16 weights.
  LinearPath one_part = bf16_paths(1).front();
  one_part.weight_parts = 2;
  CHECK_FALSE(urm::kernels::linear_path_available(one_part));
  LinearPath split = bf16_paths(3).front();
  split.weight_parts = 2;
  const auto w32 = store(random_floats(n * k, rng), DType::F32, {50, 70}, 0, "model.layers.0.mlp.up_proj.weight");
  CHECK_THROWS_WITH_AS(urm::kernels::pack_linear(w32.view, split, pool),
                       "pack_bf16: weight model.layers.0.mlp.up_proj.weight has dtype F32; only F16 weights are split "
                       "into 2 bfloat16 parts",
                       urm::Error);
}

TEST_CASE("one LinearInput feeds weights of several paths, each its own form of x") {
  std::mt19937 rng(3);
  urm::ThreadPool pool(2);
  const std::size_t m = 5, k = 64;
  const auto x = random_floats(m * k, rng), x2 = random_floats(m * k, rng);
  const auto wa = store(random_floats(40 * k, rng), DType::F16, {40, 64});
  const auto wb = store(random_floats(8 * k, rng), DType::F32, {8, 64});
  const LinearPath bf16 = bf16_paths().front(), bf16_single = bf16_paths(1).front();
  const Linear stored_a = wa.view, packed_a = urm::kernels::pack_linear(wa.view, bf16, pool);
  const Linear packed_b = urm::kernels::pack_linear(wb.view, bf16_single, pool);
  const auto alone = [&](const std::vector<float>& xs, const Linear& w, std::size_t n) {
    LinearInput fresh;
    fresh.set(xs.data(), m, k);
    std::vector<float> y(m * n);
    urm::kernels::linear(fresh, w, y.data(), pool);
    return y;
  };
  LinearInput in;
  in.set(x.data(), m, k);
  std::vector<float> y1(m * 40), y2(m * 40), y3(m * 8), y4(m * 40);
  urm::kernels::linear(in, packed_a, y1.data(), pool);
  urm::kernels::linear(in, stored_a, y2.data(), pool);
  urm::kernels::linear(in, packed_b, y3.data(), pool);  // another number of parts: converted again
  urm::kernels::linear(in, packed_a, y4.data(), pool);
  CHECK(same_bits(y1, alone(x, packed_a, 40)));
  CHECK(same_bits(y2, alone(x, stored_a, 40)));
  CHECK(same_bits(y3, alone(x, packed_b, 8)));
  CHECK(same_bits(y4, y1));
  // set() starts a new input: nothing of the last one's forms is reused.
  in.set(x2.data(), m, k);
  urm::kernels::linear(in, packed_a, y1.data(), pool);
  CHECK(same_bits(y1, alone(x2, packed_a, 40)));
}

TEST_CASE("pack_linear keeps a Linear already on the path and refuses a path this machine cannot run") {
  urm::ThreadPool pool(1);
  std::mt19937 rng(4);
  const auto w = store(random_floats(4 * 8, rng), DType::F32, {4, 8}, 0, "model.layers.0.mlp.up_proj.weight");
  const Linear packed = urm::kernels::pack_linear(w.view, bf16_paths().front(), pool);
  const Linear again = urm::kernels::pack_linear(packed, bf16_paths().front(), pool);
  CHECK(again.own_bytes() == packed.own_bytes());
  const Linear back = urm::kernels::pack_linear(packed, urm::kernels::kStoredPath, pool);
  CHECK(back.path() == urm::kernels::kStoredPath);
  CHECK(back.own_bytes() == 0);
  CHECK(back.stored().data == w.view.data);
  for (Bf16Kernel kernel : {Bf16Kernel::Amx, Bf16Kernel::Avx512Bf16}) {
    const LinearPath path{LinearKind::PackedBf16, kernel, 2};
    if (urm::kernels::bf16_kernel_available(kernel, urm::cpu_features())) continue;
    CHECK_THROWS_WITH_AS(urm::kernels::pack_linear(w.view, path, pool),
                         ("pack_linear: path " + urm::kernels::linear_path_name(path) +
                          " for model.layers.0.mlp.up_proj.weight is not available on this machine (" +
                          urm::cpu_features().brand + ")")
                             .c_str(),
                         urm::Error);
  }
  const LinearPath no_parts{LinearKind::PackedBf16, Bf16Kernel::Generic, 0};
  CHECK_THROWS_WITH_AS(urm::kernels::pack_linear(w.view, no_parts, pool),
                       ("pack_linear: path bf16x0-generic for model.layers.0.mlp.up_proj.weight is not available on "
                        "this machine (" +
                        urm::cpu_features().brand + ")")
                           .c_str(),
                       urm::Error);
}

TEST_CASE("linear path names") {
  CHECK(urm::kernels::linear_path_name(urm::kernels::kStoredPath) == "float32");
  CHECK(urm::kernels::linear_path_name({LinearKind::PackedBf16, Bf16Kernel::Amx, 2}) == "bf16x2-amx");
  CHECK(urm::kernels::linear_path_name({LinearKind::PackedBf16, Bf16Kernel::Avx512Bf16, 1}) == "bf16x1-avx512_bf16");
  CHECK(urm::kernels::linear_path_name({LinearKind::PackedBf16, Bf16Kernel::Generic, 3}) == "bf16x3-generic");
  CHECK(urm::kernels::linear_path_name(
            {.kind = LinearKind::PackedBf16, .bf16_kernel = Bf16Kernel::Amx, .parts = 3, .weight_parts = 2}) ==
        "bf16x3w2-amx");
}
