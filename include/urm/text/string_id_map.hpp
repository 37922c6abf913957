// StringIdMap — byte string -> token id, built once and then read-only
// (so lookups are safe from any number of threads).
//
// Open addressing with linear probing over a power-of-two table at most half
// full; keys live back to back in one arena, so a 128k-entry vocabulary is a
// few allocations rather than 128k, which keeps tokenizer loading fast.
// Keys may total at most 4 GiB.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "urm/core/error.hpp"

namespace urm::detail {

// The n <= 8 bytes at p as a little-endian word, zero padded (what
// std::memcpy(&w, p, n) into w = 0 gives, without calling memcpy for a
// length known only at run time: two fixed-size loads that overlap).
inline std::uint64_t load_up_to_8(const char* p, std::size_t n) {
  if (n >= 4) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    return lo | (static_cast<std::uint64_t>(hi) << (8 * (n - 4)));
  }
  if (n == 0) return 0;
  const auto byte = [&](std::size_t k) { return static_cast<std::uint64_t>(static_cast<std::uint8_t>(p[k])) << (8 * k); };
  return byte(0) | byte(n / 2) | byte(n - 1);
}

// A fast non-cryptographic hash of a short byte string: 8 bytes at a time,
// each folded in by a multiply (the 64-bit golden ratio) and a shift.
inline std::uint64_t hash_bytes(std::string_view s) {
  constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
  std::uint64_t h = 0x243F6A8885A308D3ull ^ (s.size() * kMul);
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * kMul;
  }
  if (i < s.size()) h = (h ^ load_up_to_8(s.data() + i, s.size() - i)) * kMul;
  // MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 33);
}

class StringIdMap {
 public:
  StringIdMap() = default;

  void reserve(std::size_t n) {
    std::size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
  }

  // Inserts key -> id; returns false (and changes nothing) if key is present.
  bool insert(std::string_view key, std::int32_t id) { return insert(key, id, hash_bytes(key)); }

  // insert() with h = hash_bytes(key) already known.
  bool insert(std::string_view key, std::int32_t id, std::uint64_t h) {
    if (2 * (size_ + 1) > slots_.size()) rehash(slots_.empty() ? 16 : 2 * slots_.size());
    const std::uint64_t word = word_of(key, h);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        if (key.size() > kInline) {
          if (arena_.size() + key.size() > 0xFFFFFFFFull) throw Error("StringIdMap: more than 4 GiB of keys");
          s.word = (h & 0xFFFFFFFF00000000ull) | arena_.size();
          arena_.append(key);
        } else {
          s.word = word;
        }
        s.length = static_cast<std::uint32_t>(key.size());
        s.id = id;
        ++size_;
        return true;
      }
      if (equal(s, key, word)) return false;
    }
  }

  std::optional<std::int32_t> find(std::string_view key) const { return find(key, hash_bytes(key)); }

  // find() with h = hash_bytes(key) already known.
  std::optional<std::int32_t> find(std::string_view key, std::uint64_t h) const {
    if (size_ == 0) return std::nullopt;
    const std::uint64_t word = word_of(key, h);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return std::nullopt;
      if (equal(s, key, word)) return s.id;
    }
  }

  // Starts loading the slot of a key with hash h into the cache: bulk
  // lookups issue these a batch ahead, so the memory latencies overlap.
  void prefetch(std::uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & mask_]);
  }

  std::size_t size() const { return size_; }

 private:
  // Keys of up to 8 bytes live in the slot itself, so most lookups touch one
  // cache line; longer ones in arena_. Loading a vocabulary is mostly
  // lookups (three per merge), so this halves its cache misses.
  static constexpr std::size_t kInline = 8;
  struct Slot {
    // length <= 8: the key's bytes (zero padded); else hash tag in the high
    // 32 bits (cheap early reject) and the arena offset in the low 32.
    std::uint64_t word = 0;
    std::uint32_t length = 0;
    std::int32_t id = -1;  // -1: empty
  };

  static std::uint64_t word_of(std::string_view key, std::uint64_t h) {
    if (key.size() > kInline) return h & 0xFFFFFFFF00000000ull;
    return load_up_to_8(key.data(), key.size());
  }
  bool equal(const Slot& s, std::string_view key, std::uint64_t word) const {
    if (s.length != key.size()) return false;
    if (key.size() <= kInline) return s.word == word;
    return (s.word & 0xFFFFFFFF00000000ull) == word &&
           std::memcmp(arena_.data() + (s.word & 0xFFFFFFFFull), key.data(), key.size()) == 0;
  }
  std::string_view key_of(const Slot& s) const {
    if (s.length <= kInline) return std::string_view(reinterpret_cast<const char*>(&s.word), s.length);
    return std::string_view(arena_).substr(s.word & 0xFFFFFFFFull, s.length);
  }

  void rehash(std::size_t cap) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (s.id < 0) continue;
      const std::uint64_t h = hash_bytes(key_of(s));
      std::size_t i = h & mask_;
      while (slots_[i].id >= 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace urm::detail
