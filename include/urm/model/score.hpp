// Score — what a reward model says about one input.
//
// For an uncertainty-aware (URM) model the value head predicts, for each of K
// attributes, a normal distribution N(mean_i, σ_i²) with σ_i = exp(log_std_i),
// and combines the attributes with weights w:
//
//   reward           = Σ_i w_i · mean_i
//   reward_variance  = Σ_i w_i² · σ_i²       (attributes independent, as the
//                                              URM paper models them)
//
// A plain scalar reward model has no attributes: `reward` is its one logit,
// `attributes` and `weights` are empty and `reward_variance` is 0.
//
// Heads that predict no uncertainty say so: has_uncertainty is false. Their
// attributes (ArmoRM's 19 objectives) are point values: `mean` is the
// objective's reward and `log_std` is −∞ (a standard deviation of 0, so
// samples are the means and reward_variance is 0); `weights` are still the
// coefficients with reward = Σ_i w_i · mean_i. JSON output (serve/score_json.hpp)
// leaves their log_std out.
//
// Sampling is the reparameterisation the URM paper trains with:
//   sample_i = mean_i + eps_i · σ_i,   eps_i ~ N(0, 1).
// With caller-supplied eps it is deterministic everywhere. The seeded variants
// draw eps with std::normal_distribution<float>: the engine std::mt19937_64 is
// specified exactly by the standard, but normal_distribution is not, so the
// same seed gives the same samples with the same standard library only
// (libstdc++ and libc++ differ).
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "urm/core/error.hpp"

namespace urm {

struct AttributeScore {
  std::string name;  // e.g. "helpfulness"
  float mean = 0.0f;
  float log_std = 0.0f;  // −∞ for a point value (Score::has_uncertainty false)

  float std_dev() const { return std::exp(log_std); }
  float variance() const { return std::exp(2.0f * log_std); }
};

struct Score {
  float reward = 0.0f;
  std::vector<AttributeScore> attributes;  // K entries (empty for scalar heads)
  std::vector<float> weights;              // K combination weights w_i
  float reward_variance = 0.0f;
  std::size_t n_tokens = 0;  // tokens the model read
  // The head predicts a distribution (URM): log_std and reward_variance are
  // its. False for point predictions (scalar, INF-ORM and ArmoRM heads).
  bool has_uncertainty = false;

  float reward_std() const { return std::sqrt(reward_variance); }

  // mean_i + eps_i · exp(log_std_i) for each attribute; eps has K entries.
  std::vector<float> sample_attributes(std::span<const float> eps) const {
    check_eps(eps);
    std::vector<float> s(attributes.size());
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = attributes[i].mean + eps[i] * attributes[i].std_dev();
    return s;
  }

  // One attribute sample with eps drawn from `gen` (see the portability note above).
  template <std::uniform_random_bit_generator Generator>
  std::vector<float> sample_attributes(Generator& gen) const {
    return sample_attributes(draw_eps(gen));
  }

  // The combined reward of one attribute sample: Σ_i w_i (mean_i + eps_i σ_i).
  // Heads without uncertainty have no distribution: their sample is the reward itself.
  float sample_reward(std::span<const float> eps) const {
    if (!has_uncertainty) {
      check_eps(eps);
      return reward;
    }
    const std::vector<float> s = sample_attributes(eps);
    float r = 0.0f;
    for (std::size_t i = 0; i < s.size(); ++i) r += weights[i] * s[i];
    return r;
  }

  template <std::uniform_random_bit_generator Generator>
  float sample_reward(Generator& gen) const {
    return sample_reward(draw_eps(gen));
  }

  // n reward samples from std::mt19937_64(seed).
  std::vector<float> sample_rewards(std::size_t n, std::uint64_t seed) const {
    std::mt19937_64 gen(seed);
    std::vector<float> out(n);
    for (auto& r : out) r = sample_reward(gen);
    return out;
  }

 private:
  void check_eps(std::span<const float> eps) const {
    if (eps.size() != attributes.size())
      throw Error("Score: eps has " + std::to_string(eps.size()) + " values, expected one per attribute (" +
                  std::to_string(attributes.size()) + ")");
  }

  template <std::uniform_random_bit_generator Generator>
  std::vector<float> draw_eps(Generator& gen) const {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> eps(attributes.size());
    for (auto& e : eps) e = normal(gen);
    return eps;
  }
};

}  // namespace urm
