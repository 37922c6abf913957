// The C ABI of include/urm/c_api.h over the header-only C++ library.
//
// Every entry point runs its body through `guarded`, which catches every
// exception (urm::Error, std::bad_alloc, anything else), stores its message
// (urm::current_exception_message) as this thread's last error and returns
// the function's failure value: no
// C++ exception crosses into the C caller, whose frames have no unwind
// information to cross.
#include "urm/c_api.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/model/score.hpp"
#include "urm/serve/score_json.hpp"
#include "urm/text/conversation.hpp"

struct urm_model {
  urm::RewardModel rm;
};

struct urm_score {
  urm::Score score;
};

namespace {

std::string& last_error() {
  thread_local std::string message;
  return message;
}

// Runs body(); on any exception records "<what>" and returns `failed`.
template <class Result, class Body>
Result guarded(Result failed, Body&& body) noexcept {
  try {
    Result r = body();
    last_error().clear();
    return r;
  } catch (...) {
    try {
      last_error() = urm::current_exception_message();
    } catch (...) {  // no memory left even for the message
      last_error().clear();
    }
  }
  return failed;
}

// The argument check every entry point makes, with the function's name in the message.
void not_null(const void* p, const char* function, const char* argument) {
  if (!p) throw urm::Error(std::string(function) + ": " + argument + " is NULL");
}

const urm::Score& score_of(const urm_score* s, const char* function) {
  not_null(s, function, "score");
  return s->score;
}

void require_count(std::size_t n, const urm::Score& s, const char* function) {
  if (n != s.attributes.size())
    throw urm::Error(std::string(function) + ": n is " + std::to_string(n) + ", the score has " +
                     std::to_string(s.attributes.size()) + " attributes");
}

}  // namespace

extern "C" {

void urm_load_options_init(urm_load_options* options) {
  if (options) *options = urm_load_options{0, nullptr, 0, 0, 0, nullptr, nullptr};
}

const char* urm_last_error(void) { return last_error().c_str(); }

urm_model* urm_model_load(const char* dir, const urm_load_options* options) {
  return guarded<urm_model*>(nullptr, [&] {
    not_null(dir, "urm_model_load", "dir");
    urm::RewardModel::Options o;
    // Messages name the C fields (RewardModel::load checks threads before it starts anything).
    o.names = {"urm_load_options.threads", "urm_load_options.tokenizer_dir", "urm_load_options.max_tokens",
               "urm_load_options.truncate_left = 1"};
    if (options) {
      o.threads = options->threads;
      if (options->tokenizer_dir) o.tokenizer_dir = options->tokenizer_dir;
      o.max_tokens = options->max_tokens;
      o.truncation = options->truncate_left ? urm::Truncation::Left : urm::Truncation::Error;
      if (options->single_bos) o.bos_policy = urm::BosPolicy::Single;  // else the family's pipeline
      if (options->mode) o.compute = urm::parse_compute_mode(options->mode);
      if (options->date) o.date = options->date;
    }
    return new urm_model{urm::RewardModel::load(dir, o)};
  });
}

void urm_model_free(urm_model* model) { delete model; }

urm_score* urm_score_conversation(const urm_model* model, const char* const* roles, const char* const* contents,
                                  size_t n_messages) {
  return guarded<urm_score*>(nullptr, [&] {
    constexpr const char* fn = "urm_score_conversation";
    not_null(model, fn, "model");
    if (n_messages > 0) {
      not_null(roles, fn, "roles");
      not_null(contents, fn, "contents");
    }
    urm::Conversation conversation;
    conversation.reserve(n_messages);
    for (std::size_t i = 0; i < n_messages; ++i) {
      if (!roles[i]) throw urm::Error(std::string(fn) + ": roles[" + std::to_string(i) + "] is NULL");
      if (!contents[i]) throw urm::Error(std::string(fn) + ": contents[" + std::to_string(i) + "] is NULL");
      conversation.push_back({roles[i], contents[i]});
    }
    return new urm_score{model->rm.score(conversation)};
  });
}

urm_score* urm_score_json(const urm_model* model, const char* json) {
  return guarded<urm_score*>(nullptr, [&] {
    constexpr const char* fn = "urm_score_json";
    not_null(model, fn, "model");
    not_null(json, fn, "json");
    try {
      const urm::ScoreInput input = urm::parse_score_input(json);
      return new urm_score{model->rm.score_ids(urm::score_input_ids(model->rm, input))};
    } catch (const urm::Error& e) {
      throw urm::Error(std::string(fn) + ": " + e.what());
    }
  });
}

urm_score* urm_score_ids(const urm_model* model, const int32_t* ids, size_t n_ids) {
  return guarded<urm_score*>(nullptr, [&] {
    not_null(model, "urm_score_ids", "model");
    if (n_ids > 0) not_null(ids, "urm_score_ids", "ids");
    return new urm_score{model->rm.score_ids(std::span<const std::int32_t>(ids, n_ids))};
  });
}

void urm_score_free(urm_score* score) { delete score; }

int urm_score_reward(const urm_score* score, float* reward, float* variance) {
  return guarded(URM_ERROR, [&] {
    const urm::Score& s = score_of(score, "urm_score_reward");
    if (reward) *reward = s.reward;
    if (variance) *variance = s.reward_variance;
    return URM_OK;
  });
}

int urm_score_has_uncertainty(const urm_score* score, int* has_uncertainty) {
  return guarded(URM_ERROR, [&] {
    const urm::Score& s = score_of(score, "urm_score_has_uncertainty");
    not_null(has_uncertainty, "urm_score_has_uncertainty", "has_uncertainty");
    *has_uncertainty = s.has_uncertainty ? 1 : 0;
    return URM_OK;
  });
}

int urm_score_n_tokens(const urm_score* score, size_t* n_tokens) {
  return guarded(URM_ERROR, [&] {
    const urm::Score& s = score_of(score, "urm_score_n_tokens");
    not_null(n_tokens, "urm_score_n_tokens", "n_tokens");
    *n_tokens = s.n_tokens;
    return URM_OK;
  });
}

int urm_score_n_attributes(const urm_score* score, size_t* n_attributes) {
  return guarded(URM_ERROR, [&] {
    const urm::Score& s = score_of(score, "urm_score_n_attributes");
    not_null(n_attributes, "urm_score_n_attributes", "n_attributes");
    *n_attributes = s.attributes.size();
    return URM_OK;
  });
}

int urm_score_attribute(const urm_score* score, size_t i, const char** name, float* mean, float* log_std,
                        float* weight) {
  return guarded(URM_ERROR, [&] {
    const urm::Score& s = score_of(score, "urm_score_attribute");
    if (i >= s.attributes.size())
      throw urm::Error("urm_score_attribute: i is " + std::to_string(i) + ", the score has " +
                       std::to_string(s.attributes.size()) + " attributes");
    const urm::AttributeScore& a = s.attributes[i];
    if (name) *name = a.name.c_str();
    if (mean) *mean = a.mean;
    if (log_std) *log_std = a.log_std;
    if (weight) *weight = s.weights[i];
    return URM_OK;
  });
}

int urm_score_attributes(const urm_score* score, float* means, float* log_stds, size_t n) {
  return guarded(URM_ERROR, [&] {
    const urm::Score& s = score_of(score, "urm_score_attributes");
    require_count(n, s, "urm_score_attributes");
    for (std::size_t i = 0; i < n; ++i) {
      if (means) means[i] = s.attributes[i].mean;
      if (log_stds) log_stds[i] = s.attributes[i].log_std;
    }
    return URM_OK;
  });
}

int urm_score_sample_rewards(const urm_score* score, uint64_t seed, float* out, size_t n) {
  return guarded(URM_ERROR, [&] {
    const urm::Score& s = score_of(score, "urm_score_sample_rewards");
    if (n > 0) not_null(out, "urm_score_sample_rewards", "out");
    const std::vector<float> samples = s.sample_rewards(n, seed);
    std::copy(samples.begin(), samples.end(), out);
    return URM_OK;
  });
}

int urm_score_sample_attributes(const urm_score* score, const float* eps, float* out, size_t n) {
  return guarded(URM_ERROR, [&] {
    constexpr const char* fn = "urm_score_sample_attributes";
    const urm::Score& s = score_of(score, fn);
    require_count(n, s, fn);
    if (n > 0) {
      not_null(eps, fn, "eps");
      not_null(out, fn, "out");
    }
    const std::vector<float> sample = s.sample_attributes(std::span<const float>(eps, n));
    std::copy(sample.begin(), sample.end(), out);
    return URM_OK;
  });
}

}  // extern "C"
