#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "urm/core/dtype.hpp"

TEST_CASE("bfloat16 round-trips every finite value and rounds to nearest even") {
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const float f = urm::bf16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    REQUIRE(urm::f32_to_bf16(f) == h);
  }
  // 1 + 2^-8 is halfway between two bf16 values: ties go to the even one (1.0).
  CHECK(urm::f32_to_bf16(1.00390625f) == 0x3f80);
  CHECK(urm::f32_to_bf16(1.01171875f) == 0x3f82);  // 1 + 3·2^-8 ties up to even
  CHECK(std::isnan(urm::bf16_to_f32(urm::f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("float16 decodes normals, subnormals, zeros, infinities and NaN") {
  CHECK(urm::f16_to_f32(0x3c00) == 1.0f);
  CHECK(urm::f16_to_f32(0xc000) == -2.0f);
  CHECK(urm::f16_to_f32(0x7bff) == 65504.0f);
  CHECK(urm::f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(urm::f16_to_f32(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(std::signbit(urm::f16_to_f32(0x8000)));
  CHECK(std::isinf(urm::f16_to_f32(0x7c00)));
  CHECK(std::isnan(urm::f16_to_f32(0x7e00)));
  for (std::uint32_t h = 0; h < 0x10000u; ++h) {
    const float f = urm::f16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    REQUIRE(urm::f32_to_f16(f) == h);
  }
  CHECK(urm::f32_to_f16(1e6f) == 0x7c00);
  CHECK(urm::f32_to_f16(std::ldexp(1.0f, -26)) == 0x0000);  // below half the smallest subnormal
  CHECK(urm::f32_to_f16(std::ldexp(3.0f, -26)) == 0x0001);  // 0.75 ulp rounds up
}
