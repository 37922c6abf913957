// Element types of stored tensors, and scalar conversions to float32.
//
// float16 (IEEE binary16) and bfloat16 (the top 16 bits of a float32) are the
// storage types of Hugging Face checkpoints. These scalar conversions are the
// reference semantics; kernels convert whole registers with the same results.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace urm {

enum class DType : std::uint8_t { F32, F16, BF16, I8, U8 };

constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16:
    case DType::BF16: return 2;
    case DType::I8:
    case DType::U8: return 1;
  }
  return 0;
}

// The names safetensors uses ("F32", "F16", "BF16", "I8", "U8").
constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
  }
  return "?";
}

constexpr std::optional<DType> parse_dtype(std::string_view s) {
  if (s == "F32") return DType::F32;
  if (s == "F16") return DType::F16;
  if (s == "BF16") return DType::BF16;
  if (s == "I8") return DType::I8;
  if (s == "U8") return DType::U8;
  return std::nullopt;
}

// A set of element types: the types a tensor may be stored as.
class DTypeSet {
 public:
  constexpr DTypeSet(std::initializer_list<DType> types) {
    for (const DType t : types) bits_ = static_cast<std::uint8_t>(bits_ | bit(t));
  }
  constexpr bool contains(DType t) const { return (bits_ & bit(t)) != 0; }

  // "F32, F16 or BF16": the members in the order of DType.
  std::string describe() const {
    std::string out;
    int left = std::popcount(bits_);
    for (const DType t : {DType::F32, DType::F16, DType::BF16, DType::I8, DType::U8}) {
      if (!contains(t)) continue;
      out += dtype_name(t);
      --left;
      if (left > 1) out += ", ";
      if (left == 1) out += " or ";
    }
    return out;
  }

 private:
  static constexpr std::uint8_t bit(DType t) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(t)); }
  std::uint8_t bits_ = 0;
};

// What the kernels read: floating-point weights, widened to float32 in registers.
inline constexpr DTypeSet kFloatDTypes = {DType::F32, DType::F16, DType::BF16};

// "<subject> has dtype I8, expected F32, F16 or BF16" — the one wording of a
// tensor stored in a type the code cannot read.
inline std::string dtype_mismatch(const std::string& subject, DType got, DTypeSet allowed) {
  return subject + " has dtype " + std::string(dtype_name(got)) + ", expected " + allowed.describe();
}

// bfloat16 -> float32 is exact: the bf16 bits are the high half of the f32.
constexpr float bf16_to_f32(std::uint16_t h) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}

// float32 -> bfloat16 with round-to-nearest-even (torch's rounding); NaN stays
// NaN (quiet), subnormals are kept. Written without branches so that a loop
// over it vectorises for whatever -march it is compiled for (the kernels'
// round_to_bf16 is that loop).
constexpr std::uint16_t f32_to_bf16(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const std::uint32_t quiet_nan = (u >> 16) | 0x40u;
  return static_cast<std::uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

// IEEE binary16 -> float32, exact for every input (normals, subnormals, inf, NaN).
constexpr float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t man = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {
    // Subnormal: shift the mantissa up until its leading 1 is the implicit bit.
    exp = 113;
    while ((man & 0x400u) == 0) {
      man <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((man & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

// float32 -> IEEE binary16, round-to-nearest-even, overflow to inf.
constexpr std::uint16_t f32_to_f16(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (abs < 0x38800000u) {
    // Result is subnormal or zero: value = abs_float / 2^-24, rounded to nearest even.
    if (abs < 0x33000000u) return static_cast<std::uint16_t>(sign);
    const std::uint32_t exp = abs >> 23;
    const std::uint32_t man = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126u - exp;  // 14..24 for 2^-25 <= x < 2^-14
    std::uint32_t half = man >> shift;
    const std::uint32_t rem = man & ((1u << shift) - 1u);
    const std::uint32_t mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return static_cast<std::uint16_t>(sign | half);
  }
  std::uint32_t bits = abs - 0x38000000u;  // rebias exponent 127 -> 15
  const std::uint32_t rem = bits & 0x1fffu;
  bits >>= 13;
  if (rem > 0x1000u || (rem == 0x1000u && (bits & 1u))) ++bits;
  return static_cast<std::uint16_t>(sign | bits);
}

}  // namespace urm
