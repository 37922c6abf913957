// The AMX-INT8 block kernel (kernels/matmul_int8_amx.hpp) on a software
// model of its tile instructions (support/amx_tile_model.hpp), so that its
// tile addressing, strides, edges, bias start and tile configuration are
// tested on CPUs without AMX too: C bit for bit the generic kernel's on the
// edges of for_each_int8_block_edge, every tile instruction configured and
// shaped as the SDM requires, the tiles released after each call. What the
// model cannot show (the hardware's own behaviour, its speed) needs an AMX
// machine: test_matmul_int8_amx.cpp runs the real instructions there.
//
// A test program of its own: the model replaces the intrinsics by macros.
#include "support/amx_tile_model.hpp"  // first: before any urm header

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "support/kernel_reference.hpp"
#include "urm/core/cpu_features.hpp"
#include "urm/kernels/matmul_int8.hpp"

using urm::kernels::Int8Activations;
using urm::kernels::Int8Kernel;
using urm::kernels::PackedInt8Weights;
using namespace urm::test;

TEST_CASE("amx_int8 on the tile model: C bit for bit the generic kernel's, tiles configured, shaped and released") {
#if URM_HAVE_X86_KERNELS
  // The kernel hands its 8-row remainders and partial tiles to the real AVX512-VNNI kernel.
  if (!urm::cpu_features().can_avx512_vnni()) {
    MESSAGE("skipped: the AMX-INT8 kernel's remainders need AVX512-VNNI, which this CPU lacks");
    return;
  }
  amx_model::State& model = amx_model::state();
  std::size_t cases = 0, with_tiles = 0;
  for_each_int8_block_edge([&](const Int8Activations& a, const PackedInt8Weights& w, std::size_t row0,
                               std::size_t rows, std::size_t panels, const std::vector<std::size_t>& chain) {
    const std::size_t dot_products = model.dot_products;
    const auto generic = run_int8_block_chain(Int8Kernel::Generic, a, w, row0, rows, panels, chain);
    CHECK((urm::detail::int8_block_fn(Int8Kernel::AmxInt8) == &urm::detail::amx_int8_block));
    CHECK(run_int8_block_chain(Int8Kernel::AmxInt8, a, w, row0, rows, panels, chain) == generic);
    CHECK(model.fault == "");
    CHECK_FALSE(model.configured);  // amx_end after every call
    // TDPBUSD per 16 rows x 1 panel x 16 groups of the rows the tiles take.
    std::size_t expected = 0;
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) expected += (chain[i + 1] - chain[i]) / 16;
    expected *= (rows / 16) * panels;
    CHECK(model.dot_products - dot_products == expected);
    ++cases;
    with_tiles += expected > 0;
  });
  CHECK(cases == 140);
  CHECK(with_tiles == 120);  // all but the 8-row blocks
  CHECK(model.loads > 0);
  CHECK(model.stores > 0);
#else
  MESSAGE("skipped: this build has no x86 int8 kernels");
#endif
}

TEST_CASE("the tile model reports misuse") {
  amx_model::State& model = amx_model::state();
  amx_model::release();
  model.fault.clear();
  std::uint8_t row[64] = {};
  amx_model::load(4, row, 0);
  CHECK(model.fault == "tileloadd on tmm4 without a tile configuration");
  model.fault.clear();
  std::uint8_t config[64] = {};
  config[0] = 1;
  config[16] = 64;  // tmm0: 1 row x 64 bytes, the others empty
  config[48] = 1;
  amx_model::load_config(config);
  CHECK(model.configured);
  amx_model::dpbusd(0, 1, 2);
  CHECK(model.fault == "tdpbusd on tmm1, which the configuration leaves empty");
  amx_model::release();
  model.fault.clear();
}
