// StringIdMap — byte string -> token id, built once and then read-only
// (so lookups are safe from any number of threads).
//
// Open addressing with linear probing over a power-of-two table at most half
// full; keys live back to back in one arena, so a 128k-entry vocabulary is a
// few allocations rather than 128k, which keeps tokenizer loading fast.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urm::detail {

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
    h ^= h >> 29;
  }
  if (i < s.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  h *= kMul;
  return h ^ (h >> 32);
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
  bool insert(std::string_view key, std::int32_t id) {
    if (2 * (size_ + 1) > slots_.size()) rehash(slots_.empty() ? 16 : 2 * slots_.size());
    const std::uint64_t h = hash_bytes(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = Slot{static_cast<std::uint32_t>(h), static_cast<std::uint32_t>(arena_.size()),
                 static_cast<std::uint32_t>(key.size()), id};
        arena_.append(key);
        ++size_;
        return true;
      }
      if (s.hash == static_cast<std::uint32_t>(h) && key_of(s) == key) return false;
    }
  }

  std::optional<std::int32_t> find(std::string_view key) const {
    if (size_ == 0) return std::nullopt;
    const std::uint64_t h = hash_bytes(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return std::nullopt;
      if (s.hash == static_cast<std::uint32_t>(h) && key_of(s) == key) return s.id;
    }
  }

  std::size_t size() const { return size_; }

  // Calls fn(key, id) for every entry (in no particular order).
  template <class Fn>
  void for_each(Fn fn) const {
    for (const Slot& s : slots_)
      if (s.id >= 0) fn(key_of(s), s.id);
  }

 private:
  struct Slot {
    std::uint32_t hash = 0;  // low 32 bits of hash_bytes(key): cheap early reject
    std::uint32_t offset = 0, length = 0;  // key = arena_[offset, offset + length)
    std::int32_t id = -1;  // -1: empty
  };

  std::string_view key_of(const Slot& s) const { return std::string_view(arena_).substr(s.offset, s.length); }

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
