// ServerMetrics — the counters urm-serve exposes at GET /metrics, in the
// Prometheus text format (version 0.0.4):
//
//   urm_requests_total{endpoint, status}        counter  requests answered
//   urm_request_duration_seconds{endpoint}      histogram  scoring requests, arrival to answer
//   urm_inputs_scored_total, urm_tokens_scored_total  counter  inputs and the tokens the model read for them
//   urm_prefix_cache_lookups_total, _hits_total, _tokens_saved_total, _evictions_total  counter
//   urm_prefix_cache_bytes, _capacity_bytes, _positions  gauge
//   urm_queue_depth                             gauge  inputs waiting for a worker
//   urm_requests_in_flight                      gauge  requests accepted, not yet answered
//
// Endpoint labels are the fixed paths the server has ("other" for any other
// path), so the number of series is bounded whatever clients send.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/serve/prefix_cache.hpp"

namespace urm {

class ServerMetrics {
 public:
  // Upper bounds of the latency histogram's buckets, in seconds (+Inf follows).
  static constexpr std::array<double, 14> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                      1,     2.5,  5,     10,   30,  60,  120};

  // `endpoints`: the paths that get a label of their own.
  explicit ServerMetrics(std::vector<std::string> endpoints) : endpoints_(std::move(endpoints)) {}

  std::string_view label(std::string_view path) const {
    for (const auto& e : endpoints_)
      if (e == path) return e;
    return "other";
  }

  void count_request(std::string_view path, int status) {
    std::lock_guard lock(mutex_);
    ++requests_[{std::string(label(path)), status}];
  }

  void observe_latency(std::string_view path, double seconds) {
    std::lock_guard lock(mutex_);
    Histogram& h = latency_[std::string(label(path))];
    for (std::size_t b = 0; b < kBuckets.size(); ++b)
      if (seconds <= kBuckets[b]) ++h.counts[b];
    ++h.count;
    h.sum += seconds;
  }

  void add_scored(std::size_t inputs, std::size_t tokens) {
    std::lock_guard lock(mutex_);
    inputs_scored_ += inputs;
    tokens_scored_ += tokens;
  }

  std::string prometheus(const PrefixCacheStats& cache, std::size_t queue_depth, std::size_t in_flight) const {
    std::lock_guard lock(mutex_);
    std::ostringstream o;
    auto head = [&](const char* name, const char* type, const char* help) {
      o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    };
    head("urm_requests_total", "counter", "Requests answered, by endpoint and HTTP status.");
    for (const auto& [key, n] : requests_)
      o << "urm_requests_total{endpoint=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << '\n';
    head("urm_request_duration_seconds", "histogram", "Scoring requests, from arrival to answer.");
    for (const auto& [endpoint, h] : latency_) {
      for (std::size_t b = 0; b < kBuckets.size(); ++b)
        o << "urm_request_duration_seconds_bucket{endpoint=\"" << endpoint << "\",le=\"" << kBuckets[b] << "\"} "
          << h.counts[b] << '\n';
      o << "urm_request_duration_seconds_bucket{endpoint=\"" << endpoint << "\",le=\"+Inf\"} " << h.count << '\n';
      o << "urm_request_duration_seconds_sum{endpoint=\"" << endpoint << "\"} " << h.sum << '\n';
      o << "urm_request_duration_seconds_count{endpoint=\"" << endpoint << "\"} " << h.count << '\n';
    }
    auto one = [&](const char* name, const char* type, const char* help, auto value) {
      head(name, type, help);
      o << name << ' ' << value << '\n';
    };
    one("urm_inputs_scored_total", "counter", "Inputs scored.", inputs_scored_);
    one("urm_tokens_scored_total", "counter", "Tokens of the inputs scored (what the model read, cached or not).",
        tokens_scored_);
    one("urm_prefix_cache_lookups_total", "counter", "Prefix-cache lookups (one per input scored).", cache.lookups);
    one("urm_prefix_cache_hits_total", "counter", "Lookups that found a cached prefix.", cache.hits);
    one("urm_prefix_cache_tokens_saved_total", "counter", "Positions restored from the cache instead of run.",
        cache.tokens_reused);
    one("urm_prefix_cache_evictions_total", "counter", "Cache nodes evicted (least recently used first).",
        cache.evictions);
    one("urm_prefix_cache_bytes", "gauge", "Bytes the prefix cache holds.", cache.bytes);
    one("urm_prefix_cache_capacity_bytes", "gauge", "The prefix cache's bound (--prefix-cache-mb).",
        cache.capacity_bytes);
    one("urm_prefix_cache_positions", "gauge", "Token positions the prefix cache holds.", cache.positions);
    one("urm_queue_depth", "gauge", "Inputs waiting for a worker.", queue_depth);
    one("urm_requests_in_flight", "gauge", "Requests accepted and not yet answered.", in_flight);
    return o.str();
  }

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> counts{};
    std::uint64_t count = 0;
    double sum = 0;
  };

  std::vector<std::string> endpoints_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::uint64_t inputs_scored_ = 0, tokens_scored_ = 0;
};

}  // namespace urm
