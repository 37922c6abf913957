// A software model of the AMX instructions the AMX-INT8 kernel uses
// (LDTILECFG, TILERELEASE, TILELOADD, TILESTORED, TDPBUSD), after the
// operation sections of the Intel SDM, vol. 2. Including this header before
// any urm header replaces the intrinsics (GCC's and Clang's are macros or
// inline functions of those names) by these functions, so that
// kernels/matmul_int8_amx.hpp runs on a CPU without AMX: its tile addressing,
// strides, edges and bias start are then tested everywhere, the hardware
// itself only on an AMX machine (test_matmul_int8_amx.cpp).
//
// Only for a test program of its own: the macros would replace the real
// intrinsics in every file compiled after this one.
#pragma once

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace urm::test::amx_model {

struct Tile {
  std::size_t rows = 0, colsb = 0;  // from the configuration
  std::uint8_t bytes[16][64] = {};
};

// The state of the one thread that runs the model (tests are single-threaded
// here: the kernel is called directly, not through the thread pool).
struct State {
  bool configured = false;
  Tile tiles[8];
  std::size_t loads = 0, stores = 0, dot_products = 0;
  std::string fault;  // the first misuse, e.g. a tile instruction without a configuration
};

inline State& state() {
  static State s;
  return s;
}

inline void fault(const std::string& what) {
  if (state().fault.empty()) state().fault = what;
}

// LDTILECFG: palette 1, then per tile colsb (uint16 at 16 + 2 t) and rows (uint8 at 48 + t).
inline void load_config(const void* config) {
  const auto* c = static_cast<const std::uint8_t*>(config);
  if (c[0] != 1) return fault("ldtilecfg: palette " + std::to_string(c[0]) + ", expected 1");
  for (int t = 0; t < 8; ++t) {
    std::uint16_t colsb = 0;
    std::memcpy(&colsb, c + 16 + 2 * t, 2);
    const std::uint8_t rows = c[48 + t];
    if (colsb > 64 || rows > 16 || colsb % 4 != 0) return fault("ldtilecfg: bad shape of tile " + std::to_string(t));
    state().tiles[t] = Tile{.rows = rows, .colsb = colsb};
  }
  state().configured = true;
}

inline void release() {
  state().configured = false;
  for (Tile& t : state().tiles) t = Tile{};
}

inline Tile* usable(int t, const char* what) {
  if (!state().configured) {
    fault(std::string(what) + " on tmm" + std::to_string(t) + " without a tile configuration");
    return nullptr;
  }
  Tile& tile = state().tiles[t];
  if (tile.rows == 0) {
    fault(std::string(what) + " on tmm" + std::to_string(t) + ", which the configuration leaves empty");
    return nullptr;
  }
  return &tile;
}

inline void load(int t, const void* base, long stride) {
  Tile* tile = usable(t, "tileloadd");
  if (!tile) return;
  ++state().loads;
  for (std::size_t r = 0; r < tile->rows; ++r)
    std::memcpy(tile->bytes[r], static_cast<const std::uint8_t*>(base) + static_cast<long>(r) * stride, tile->colsb);
}

inline void store(int t, void* base, long stride) {
  Tile* tile = usable(t, "tilestored");
  if (!tile) return;
  ++state().stores;
  for (std::size_t r = 0; r < tile->rows; ++r)
    std::memcpy(static_cast<std::uint8_t*>(base) + static_cast<long>(r) * stride, tile->bytes[r], tile->colsb);
}

// TDPBUSD c, a, b: c[m].dword[n] += Σ_{k < a.colsb/4} Σ_{i<4} u8(a[m][4k + i]) · s8(b[k][4n + i]), int32
// wrapping (the SDM's DPBD), for m < c.rows, n < c.colsb / 4; a.rows = c.rows, b.rows = a.colsb / 4,
// b.colsb = c.colsb.
inline void dpbusd(int c, int a, int b) {
  Tile *tc = usable(c, "tdpbusd"), *ta = usable(a, "tdpbusd"), *tb = usable(b, "tdpbusd");
  if (!tc || !ta || !tb) return;
  if (ta->rows != tc->rows || tb->rows != ta->colsb / 4 || tb->colsb != tc->colsb)
    return fault("tdpbusd: tile shapes do not match");
  ++state().dot_products;
  for (std::size_t m = 0; m < tc->rows; ++m)
    for (std::size_t n = 0; n < tc->colsb / 4; ++n) {
      std::uint32_t acc = 0;
      std::memcpy(&acc, tc->bytes[m] + 4 * n, 4);
      for (std::size_t k = 0; k < ta->colsb / 4; ++k)
        for (std::size_t i = 0; i < 4; ++i)
          acc += static_cast<std::uint32_t>(static_cast<std::int32_t>(ta->bytes[m][4 * k + i]) *
                                            static_cast<std::int8_t>(tb->bytes[k][4 * n + i]));
      std::memcpy(tc->bytes[m] + 4 * n, &acc, 4);
    }
}

}  // namespace urm::test::amx_model

#undef _tile_loadd
#undef _tile_stored
#undef _tile_dpbusd
#undef _tile_loadconfig
#undef _tile_release
#define _tile_loadd(t, base, stride) ::urm::test::amx_model::load(t, base, stride)
#define _tile_stored(t, base, stride) ::urm::test::amx_model::store(t, base, stride)
#define _tile_dpbusd(c, a, b) ::urm::test::amx_model::dpbusd(c, a, b)
#define _tile_loadconfig(config) ::urm::test::amx_model::load_config(config)
#define _tile_release() ::urm::test::amx_model::release()

#endif  // __x86_64__
