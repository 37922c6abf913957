// PrefixCache — the K/V of recently scored token sequences, kept in a radix
// tree keyed by token ids, so that an input which starts like one scored
// before runs only its remainder through the model.
//
// Why it is exact. A decoder's K/V at position t depends only on tokens
// 0 … t (causal attention). Restoring the stored K/V of a shared prefix and
// running the rest therefore gives the same numbers as running the whole
// input, provided every kernel's result for a row does not depend on which
// other rows it was computed with (batch invariance): the score is then
// bitwise the same with and without the cache.
//
// Structure. Each node holds an edge of the tree: a run of tokens
// (positions depth … depth + n − 1 of every sequence through it) and their
// K/V block (LlamaState::copy_kv's layout). Children are keyed by their
// first token. Inserting a sequence that leaves an edge midway splits it.
//
// Bound and eviction. The bytes of all nodes (K/V, tokens and a fixed
// overhead per node) stay within capacity_bytes. Every lookup and insert
// marks the nodes on its path as used now; to make room, the least recently
// used leaf goes first (a parent is used whenever a child is, so leaves are
// always the oldest part of their branch). A sequence longer than what fits
// keeps its first positions only. capacity_bytes = 0 disables the cache.
//
// Memory per cached position: kv_floats_per_position · 4 bytes — 64 KiB for
// the Llama-3.2-1B shape (16 layers, 8 KV heads of 64), 128 KiB for Llama-3-8B.
//
// Thread safety: every method locks one mutex (copies to and from the tree
// happen under it; they are memcpy-speed, a few ms for a long prompt).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "urm/model/llama_model.hpp"

namespace urm {

struct PrefixCacheStats {
  std::uint64_t lookups = 0;          // restore() calls
  std::uint64_t hits = 0;             // of which found a cached prefix
  std::uint64_t tokens_reused = 0;    // positions restored instead of run (tokens saved)
  std::uint64_t tokens_stored = 0;    // positions copied into the tree
  std::uint64_t evictions = 0;        // nodes evicted
  std::size_t bytes = 0;              // in use now
  std::size_t capacity_bytes = 0;
  std::size_t nodes = 0;              // not counting the root
  std::size_t positions = 0;          // cached now (tokens over all nodes)
};

class PrefixCache {
 public:
  // Bytes a node costs besides its tokens and K/V (struct, map entry, LRU entry).
  static constexpr std::size_t kNodeOverhead = 256;

  PrefixCache(LlamaShape shape, std::size_t capacity_bytes)
      : shape_(std::move(shape)), capacity_(capacity_bytes), kv_per_pos_(LlamaState::kv_floats_per_position(shape_)) {}

  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  bool enabled() const { return capacity_ > 0; }
  std::size_t capacity_bytes() const { return capacity_; }
  // What caching n positions costs, one new node.
  std::size_t bytes_for(std::size_t n) const { return n * (kv_per_pos_ * sizeof(float) + sizeof(std::int32_t)) + kNodeOverhead; }

  // Clears st, then appends to it the K/V of the longest cached prefix of
  // ids that is at most max_positions long. Returns its length (0: none).
  std::size_t restore(std::span<const std::int32_t> ids, std::size_t max_positions, LlamaState& st) {
    st.clear();
    std::lock_guard lock(mutex_);
    ++stats_.lookups;
    if (!enabled()) return 0;
    const std::size_t limit = std::min(max_positions, ids.size());
    const std::uint64_t now = ++clock_;
    std::vector<std::pair<Node*, std::size_t>> path;  // node, positions of it used
    std::size_t pos = 0;
    for (Node* n = &root_; pos < limit;) {
      const auto it = n->children.find(ids[pos]);
      if (it == n->children.end()) break;
      Node* c = it->second.get();
      const std::size_t m = common_length(c->tokens, ids.subspan(pos, limit - pos));
      path.emplace_back(c, m);
      pos += m;
      if (m < c->tokens.size()) break;
      n = c;
    }
    for (const auto& [node, used] : path) {
      touch(node, now);
      st.append_kv(shape_, node->kv, node->tokens.size(), 0, used);
    }
    if (pos > 0) ++stats_.hits;
    stats_.tokens_reused += pos;
    return pos;
  }

  // Stores the K/V of ids, which st holds (st.n_past() >= ids.size()):
  // only the positions after the longest cached prefix are copied.
  void insert(std::span<const std::int32_t> ids, const LlamaState& st) {
    std::lock_guard lock(mutex_);
    if (!enabled() || ids.empty()) return;
    const std::uint64_t now = ++clock_;
    Node* n = &root_;
    std::size_t pos = 0;
    while (pos < ids.size()) {
      const auto it = n->children.find(ids[pos]);
      if (it == n->children.end()) break;
      Node* c = it->second.get();
      const std::size_t m = common_length(c->tokens, ids.subspan(pos));
      if (pos + m == ids.size()) {  // all of ids is cached already (maybe within an edge)
        touch(c, now);
        return;
      }
      if (m < c->tokens.size()) c = split(c, m);
      touch(c, now);
      pos += m;
      n = c;
    }
    // A new leaf under n for ids[pos …], as much of it as fits.
    std::size_t count = ids.size() - pos;
    make_room(bytes_for(count), now);
    const std::size_t free = capacity_ - std::min(capacity_, stats_.bytes);
    if (free < bytes_for(count)) {
      if (free <= bytes_for(0)) return;
      count = (free - kNodeOverhead) / (kv_per_pos_ * sizeof(float) + sizeof(std::int32_t));
      if (count == 0) return;
    }
    auto leaf = std::make_unique<Node>();
    leaf->tokens.assign(ids.begin() + static_cast<std::ptrdiff_t>(pos),
                        ids.begin() + static_cast<std::ptrdiff_t>(pos + count));
    leaf->kv = st.copy_kv(shape_, pos, count);
    leaf->parent = n;
    Node* raw = leaf.get();
    n->children.emplace(leaf->tokens[0], std::move(leaf));
    account(raw, +1);
    touch(raw, now);
    stats_.tokens_stored += count;
  }

  // Drops everything cached (the statistics' counters stay).
  void clear() {
    std::lock_guard lock(mutex_);
    root_.children.clear();
    lru_.clear();
    stats_.bytes = stats_.nodes = stats_.positions = 0;
  }

  PrefixCacheStats stats() const {
    std::lock_guard lock(mutex_);
    PrefixCacheStats s = stats_;
    s.capacity_bytes = capacity_;
    return s;
  }

 private:
  struct Node {
    std::vector<std::int32_t> tokens;  // the edge: positions depth … depth + tokens.size() − 1
    std::vector<float> kv;             // their K/V block (LlamaState::copy_kv layout)
    Node* parent = nullptr;
    std::map<std::int32_t, std::unique_ptr<Node>> children;  // by first token
    std::uint64_t last_use = 0;
  };

  static std::size_t common_length(const std::vector<std::int32_t>& edge, std::span<const std::int32_t> ids) {
    const std::size_t n = std::min(edge.size(), ids.size());
    return static_cast<std::size_t>(std::mismatch(edge.begin(), edge.begin() + static_cast<std::ptrdiff_t>(n), ids.begin()).first -
                                    edge.begin());
  }

  std::size_t node_bytes(const Node& n) const {
    return n.kv.size() * sizeof(float) + n.tokens.size() * sizeof(std::int32_t) + kNodeOverhead;
  }

  void account(const Node* n, int sign) {
    if (sign > 0) {
      stats_.bytes += node_bytes(*n);
      stats_.positions += n->tokens.size();
      ++stats_.nodes;
    } else {
      stats_.bytes -= node_bytes(*n);
      stats_.positions -= n->tokens.size();
      --stats_.nodes;
    }
  }

  void touch(Node* n, std::uint64_t now) {
    if (n->last_use != 0) lru_.erase({n->last_use, n});
    n->last_use = now;
    lru_.insert({now, n});
  }

  // Positions [first, first + n) of a K/V block of `rows` positions, as a block of their own.
  std::vector<float> sub_block(const std::vector<float>& kv, std::size_t rows, std::size_t first, std::size_t n) const {
    const std::size_t KV = shape_.kv_dim();
    std::vector<float> out(2 * shape_.n_layers * n * KV);
    for (std::size_t b = 0; b < 2 * shape_.n_layers; ++b)  // b = 2·layer + (0: K, 1: V)
      std::copy_n(kv.data() + (b * rows + first) * KV, n * KV, out.data() + b * n * KV);
    return out;
  }

  // Cuts c's edge after its first m tokens (0 < m < size): a new node with
  // them takes c's place, and c, keeping the rest, becomes its only child.
  Node* split(Node* c, std::size_t m) {
    Node* parent = c->parent;
    auto owned = std::move(parent->children.at(c->tokens[0]));
    account(c, -1);
    auto top = std::make_unique<Node>();
    const std::size_t rows = c->tokens.size();
    top->tokens.assign(c->tokens.begin(), c->tokens.begin() + static_cast<std::ptrdiff_t>(m));
    top->kv = sub_block(c->kv, rows, 0, m);
    top->parent = parent;
    c->kv = sub_block(c->kv, rows, m, rows - m);
    c->tokens.erase(c->tokens.begin(), c->tokens.begin() + static_cast<std::ptrdiff_t>(m));
    c->parent = top.get();
    account(c, +1);
    account(top.get(), +1);
    Node* t = top.get();
    t->children.emplace(c->tokens[0], std::move(owned));
    parent->children[t->tokens[0]] = std::move(top);
    touch(t, c->last_use);
    return t;
  }

  // Evicts least recently used leaves (never one used at `now`: the path
  // being inserted under) until `need` more bytes fit or none is left.
  void make_room(std::size_t need, std::uint64_t now) {
    while (stats_.bytes + need > capacity_) {
      auto it = std::find_if(lru_.begin(), lru_.end(), [&](const auto& e) {
        return e.first != now && e.second->children.empty();
      });
      if (it == lru_.end()) return;
      Node* leaf = it->second;
      lru_.erase(it);
      account(leaf, -1);
      ++stats_.evictions;
      leaf->parent->children.erase(leaf->tokens[0]);  // frees it
    }
  }

  LlamaShape shape_;
  std::size_t capacity_;
  std::size_t kv_per_pos_;
  mutable std::mutex mutex_;  // guards everything below
  Node root_;
  std::set<std::pair<std::uint64_t, Node*>> lru_;  // every node but the root, by last use
  std::uint64_t clock_ = 0;
  PrefixCacheStats stats_;
};

}  // namespace urm
