// BpeWordCache — a thread-safe memo of BPE results: word bytes -> token ids.
//
// Words that are whole vocabulary entries cost one lookup already; the rest
// (rare words, identifiers, text in scripts the vocabulary covers byte by
// byte) need a full BPE merge, dozens of lookups in a table of megabytes, and
// recur often in real text. Hugging Face keeps a similar cache.
//
// Concurrency: the cache is split into shards by hash, each behind its own
// mutex, so threads encoding at once rarely wait for each other. Memory is
// bounded: words longer than kMaxWordBytes are not cached, and a shard that
// reaches kMaxEntriesPerShard is emptied before the next insertion.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace urm::detail {

class BpeWordCache {
 public:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxEntriesPerShard = 4096;
  static constexpr std::size_t kMaxWordBytes = 64;

  // Appends the cached ids of `word` (whose hash_bytes is `hash`) to out;
  // false if not cached.
  bool find(std::string_view word, std::uint64_t hash, std::vector<std::int32_t>& out) const {
    if (word.size() > kMaxWordBytes) return false;
    Shard& s = shard(hash);
    const std::lock_guard<std::mutex> lock(s.mutex);
    const auto it = s.map.find(word);
    if (it == s.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }

  void insert(std::string_view word, std::uint64_t hash, std::span<const std::int32_t> ids) const {
    if (word.size() > kMaxWordBytes) return;
    Shard& s = shard(hash);
    const std::lock_guard<std::mutex> lock(s.mutex);
    if (s.map.size() >= kMaxEntriesPerShard) s.map.clear();
    s.map.emplace(std::string(word), std::vector<std::int32_t>(ids.begin(), ids.end()));
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::int32_t>, Hash, std::equal_to<>> map;
  };
  // The shard is chosen by the top bits of the hash (the tables use the low ones).
  Shard& shard(std::uint64_t hash) const { return shards_[hash >> 60]; }

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace urm::detail
