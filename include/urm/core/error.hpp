// urm::Error — the one exception type of urm.cpp.
//
// Every failure a user can cause (a bad file, a bad JSON value, an id out of
// range, an over-long input) is reported as urm::Error with a message that
// names the file, tensor, JSON path or position at fault and what was
// expected. Nothing else is thrown on purpose (std::bad_alloc may still pass
// through from the standard library).
#pragma once

#include <stdexcept>
#include <string>

namespace urm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace urm
