// What the command-line programs share in reading their arguments.
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <string>

#include "urm/core/error.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/text/jinja/strftime.hpp"

namespace urm::cli {

// v as a whole number in [min, max] (decimal digits only: no sign, no
// spaces, no suffix), or nullopt.
inline std::optional<std::size_t> whole_number(const std::string& v, std::size_t min, std::size_t max) {
  std::size_t pos = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(v, &pos);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (pos != v.size() || v.empty() || v[0] == '-' || n < min || n > max) return std::nullopt;
  return static_cast<std::size_t>(n);
}

// The usage error for a flag whose value is not such a number.
inline std::string expects_whole_number(const std::string& flag, const std::string& v, std::size_t min,
                                        std::size_t max) {
  return flag + " expects a whole number from " + std::to_string(min) + " to " + std::to_string(max) + ", got \"" +
         v + "\"";
}

// --mode's value, or nullopt.
inline std::optional<ComputeMode> compute_mode(const std::string& v) {
  try {
    return parse_compute_mode(v);
  } catch (const Error&) {
    return std::nullopt;
  }
}
inline std::string expects_compute_mode(const std::string& v) {
  return "--mode expects " + compute_mode_names(" or ") + ", got \"" + v + "\"";
}

// --date's value (YYYY-MM-DD, a real date), as given.
inline bool valid_date(const std::string& v) { return detail::jinja::parse_date(v).has_value(); }
inline std::string expects_date(const std::string& v) {
  return "--date expects a date YYYY-MM-DD, got \"" + v + "\"";
}

}  // namespace urm::cli
