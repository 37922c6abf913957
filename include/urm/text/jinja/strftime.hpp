// strftime_now(format), the global function transformers gives chat
// templates: datetime.now().strftime(format). Templates of Llama-3.2/3.3,
// Granite and others print today's date into the system prompt with it, so
// the text a reward model scores depends on the day it runs. A caller that
// needs reproducible scores fixes the date (ChatTemplate's RenderOptions,
// urm-score --date); without one the local date and time are used, as
// transformers does.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "urm/core/error.hpp"

namespace urm::detail::jinja {

// A calendar date and time of day (the local time, as datetime.now()).
struct DateTime {
  int year = 1970, month = 1, day = 1;  // month 1..12, day 1..31
  int hour = 0, minute = 0, second = 0;
};

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
// (Howard Hinnant's days_from_civil).
constexpr std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

constexpr bool is_leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr int days_in_month(int y, int m) {
  constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

// "YYYY-MM-DD" -> the date at 00:00:00; nullopt unless it is a real date in years 1..9999.
inline std::optional<DateTime> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto number = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  DateTime d;
  d.year = number(0, 4);
  d.month = number(5, 2);
  d.day = number(8, 2);
  if (d.year < 1 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > days_in_month(d.year, d.month))
    return std::nullopt;
  return d;
}

inline DateTime local_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return DateTime{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
}

// Python's datetime.strftime in the C locale (Python never sets LC_TIME),
// for the directives of the C89 standard that do not depend on the time
// zone: %a %A %b %B %d %H %I %j %m %M %p %S %y %Y %% plus %e (glibc).
// Anything else is refused rather than formatted some other way. Throws
// urm::Error with the message; the caller adds where.
inline std::string python_strftime(std::string_view format, const DateTime& d) {
  static constexpr std::array<std::string_view, 7> days = {"Sunday", "Monday", "Tuesday", "Wednesday",
                                                            "Thursday", "Friday", "Saturday"};
  static constexpr std::array<std::string_view, 12> months = {"January", "February", "March",     "April",
                                                               "May",     "June",     "July",      "August",
                                                               "September", "October", "November", "December"};
  const std::int64_t days_since_epoch = days_from_civil(d.year, d.month, d.day);
  const auto weekday = static_cast<std::size_t>(((days_since_epoch % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  const std::int64_t yday = days_since_epoch - days_from_civil(d.year, 1, 1) + 1;
  auto two = [](std::int64_t v, char pad = '0') {
    std::string s = std::to_string(v);
    return s.size() < 2 ? std::string(1, pad) + s : s;
  };
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (i + 1 >= format.size()) throw Error("strftime_now: the format ends with a lone '%'");
    const char c = format[++i];
    switch (c) {
      case 'a': out += days[weekday].substr(0, 3); break;
      case 'A': out += days[weekday]; break;
      case 'b': out += months[static_cast<std::size_t>(d.month - 1)].substr(0, 3); break;
      case 'B': out += months[static_cast<std::size_t>(d.month - 1)]; break;
      case 'd': out += two(d.day); break;
      case 'e': out += two(d.day, ' '); break;
      case 'H': out += two(d.hour); break;
      case 'I': out += two(d.hour % 12 == 0 ? 12 : d.hour % 12); break;
      case 'j': {
        std::string s = std::to_string(yday);
        out += std::string(3 - s.size(), '0') + s;
        break;
      }
      case 'm': out += two(d.month); break;
      case 'M': out += two(d.minute); break;
      case 'p': out += d.hour < 12 ? "AM" : "PM"; break;
      case 'S': out += two(d.second); break;
      case 'y': out += two(d.year % 100); break;
      case 'Y': out += std::to_string(d.year); break;
      case '%': out += '%'; break;
      default:
        throw Error(std::string("strftime_now: the directive '%") + c +
                    "' is outside the Jinja subset urm.cpp implements");
    }
  }
  return out;
}

}  // namespace urm::detail::jinja
