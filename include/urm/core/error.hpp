// urm::Error — the one exception type of urm.cpp.
//
// Every failure a user can cause (a bad file, a bad JSON value, an id out of
// range, an over-long input) is reported as urm::Error with a message that
// names the file, tensor, JSON path or position at fault and what was
// expected. Nothing else is thrown on purpose (std::bad_alloc may still pass
// through from the standard library: current_exception_message() below turns
// it into a message where an error must not escape).
#pragma once

#include <exception>
#include <new>
#include <stdexcept>
#include <string>

namespace urm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// The message of the exception being handled (call it inside a catch block),
// for the places that must turn every exception into an error report: a
// program's per-input loop, the C ABI. urm::Error gives its message,
// std::bad_alloc "out of memory", anything else says it was not expected.
inline std::string current_exception_message() {
  try {
    throw;
  } catch (const Error& e) {
    return e.what();
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const std::exception& e) {
    return std::string("internal error: ") + e.what();
  } catch (...) {
    return "internal error: an exception that is not a std::exception";
  }
}

}  // namespace urm
