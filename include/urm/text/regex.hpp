// Regex — the subset of Oniguruma's regular expressions that tokenizer.json
// `Split` patterns use, compiled once (at load) and matched with
// Oniguruma's semantics: leftmost match; alternatives tried in order;
// greedy, lazy and possessive quantifiers that backtrack as Oniguruma's do.
// Hugging Face `tokenizers` matches these patterns with Oniguruma (Rust
// crate onig), so the same pattern gives the same words here.
//
// Supported (anything else is an urm::Error naming the construct and its
// byte offset in the pattern):
//   literals      any character; escapes \t \n \r \f \v \a \e \xHH \x{H..}
//                 \uHHHH and \ before any ASCII punctuation
//   classes       [...] [^...] with ranges a-z, escapes and the types below
//   types         . (any but \n), \s \S (White_Space), \d \D (Nd),
//                 \w \W (Alphabetic | M | Nd | Pc), \h \H ([0-9a-fA-F]),
//                 \p{X} \P{X} \p{^X} for X a General_Category value or
//                 group (L, Lu, Letter, Uppercase_Letter, … LC, C, Cn), or
//                 Any, Assigned, ASCII, Alpha/Alphabetic, Space/White_Space,
//                 Word, Alnum, Digit, Punct, XDigit, Blank, Cntrl (names
//                 compared without case, spaces, '-' and '_', as Oniguruma)
//   groups        (...) (captures are not kept), (?:...), (?<name>...),
//                 (?i:...), (?-i:...), (?i), (?-i), (?#...) comments
//   look-ahead    (?=...), (?!...); atomic groups (?>...)
//   quantifiers   ? * + {n} {n,} {n,m} {,m}, each greedy, lazy (…?) or, for
//                 ? * +, possessive (…+)
// Case-insensitive matching ((?i)) compares simple case foldings
// (CaseFolding.txt C and S): a literal matches the characters that fold
// like it, a bracketed class is closed under folding before it is negated,
// and \p{..}, \s, \d, \w, . outside brackets are not folded — all as
// Oniguruma. Oniguruma also matches multi-character foldings ((?i:ss)
// matches "ß"); a case-insensitive literal or class that could take part in
// one is rejected rather than matched differently.
//
// Not supported: anchors (^ $ \A \z \b …), look-behind, back-references,
// named properties other than the above (scripts, blocks), nested classes,
// class intersection (&&), POSIX brackets, a quantifier directly after a
// quantifier, and an unbounded repetition of a group that can match the
// empty string.
//
// Matching is a backtracking machine over a small program. Each character
// is looked up as a "class": code points that every set of the pattern
// treats alike share one class id (at most 255), found in a two-level table
// (256-code-point pages, equal pages stored once). A run like \p{L}+ is one
// instruction that backtracks character by character without a stack entry
// per character, and none at all when what follows cannot start with a
// character of the run (then giving characters back cannot help: the run is
// made possessive at compile time). Each alternative carries the set of
// classes it can start with, and, for each first class, the set of classes
// that can come second, so alternatives that cannot match are mostly
// skipped without being tried. A look-ahead of one character set, such as
// (?!\S), is a test of the next character, not a sub-program. The simple
// part of the machine (characters, runs that never give back, decided
// choices) runs inline in find; only runs that may give back, look-aheads
// and atomic groups go to the general backtracking loop. ASCII characters
// are tested against a mask in the instruction. A match that needs more
// backtracking steps than a budget proportional to the text throws
// (Oniguruma has a similar retry limit), so no pattern can take unbounded
// time.
#pragma once

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/text/unicode_class.hpp"
#include "urm/text/utf8.hpp"

namespace urm::detail {

// A set of code points as sorted, disjoint, non-adjacent inclusive ranges.
class CodePointSet {
 public:
  struct Interval {
    std::uint32_t first, last;
  };
  static constexpr std::uint32_t kMaxCodePoint = 0x10FFFF;

  void add(std::uint32_t first, std::uint32_t last) {
    r_.push_back({first, last});
    normalized_ = false;
  }
  void add(std::uint32_t cp) { add(cp, cp); }
  void add(const CodePointSet& s) {
    for (const Interval& i : s.intervals()) add(i.first, i.last);
  }

  const std::vector<Interval>& intervals() const {
    normalize();
    return r_;
  }

  bool contains(std::uint32_t cp) const {
    const auto& r = intervals();
    const auto it = std::upper_bound(r.begin(), r.end(), cp, [](std::uint32_t c, const Interval& i) { return c < i.first; });
    return it != r.begin() && cp <= std::prev(it)->last;
  }

  CodePointSet complement() const {
    CodePointSet out;
    std::uint32_t next = 0;
    for (const Interval& i : intervals()) {
      if (i.first > next) out.add(next, i.first - 1);
      next = i.last + 1;
    }
    if (next <= kMaxCodePoint) out.add(next, kMaxCodePoint);
    return out;
  }

  bool empty() const { return intervals().empty(); }

 private:
  void normalize() const {
    if (normalized_) return;
    std::sort(r_.begin(), r_.end(), [](const Interval& a, const Interval& b) { return a.first < b.first; });
    std::vector<Interval> out;
    for (const Interval& i : r_) {
      if (!out.empty() && i.first <= out.back().last + 1) out.back().last = std::max(out.back().last, i.last);
      else out.push_back(i);
    }
    r_ = std::move(out);
    normalized_ = true;
  }
  mutable std::vector<Interval> r_;
  mutable bool normalized_ = true;
};

namespace regex_detail {

// The code points of a table of (first, last, value) ranges whose value
// passes `keep`.
template <std::size_t N, class Keep>
CodePointSet set_of(const unicode_data::Range (&table)[N], Keep keep) {
  CodePointSet s;
  for (const auto& r : table)
    if (keep(r.value)) s.add(r.first, r.last);
  return s;
}

// General_Category as a set: mask bit k = category k (unlisted code points are Cn).
inline CodePointSet categories(std::uint32_t mask) {
  CodePointSet s = set_of(unicode_data::kGeneralCategory, [&](std::uint8_t v) { return ((mask >> v) & 1) != 0; });
  if ((mask >> unicode_data::kCn) & 1) {
    CodePointSet listed = set_of(unicode_data::kGeneralCategory, [](std::uint8_t) { return true; });
    s.add(listed.complement());
  }
  return s;
}

inline std::uint32_t category_bits(std::initializer_list<GeneralCategory> cs) {
  std::uint32_t m = 0;
  for (const auto c : cs) m |= std::uint32_t{1} << c;
  return m;
}

using namespace unicode_data;  // category names kLu, kLl, …
inline const std::uint32_t kLetterBits = category_bits({kLu, kLl, kLt, kLm, kLo});
inline const std::uint32_t kMarkBits = category_bits({kMn, kMc, kMe});
inline const std::uint32_t kNumberBits = category_bits({kNd, kNl, kNo});
inline const std::uint32_t kPunctuationBits = category_bits({kPc, kPd, kPs, kPe, kPi, kPf, kPo});
inline const std::uint32_t kSymbolBits = category_bits({kSm, kSc, kSk, kSo});
inline const std::uint32_t kSeparatorBits = category_bits({kZs, kZl, kZp});
inline const std::uint32_t kOtherBits = category_bits({kCc, kCf, kCs, kCo, kCn});

inline CodePointSet white_space() { return set_of(kWhiteSpace, [](std::uint8_t v) { return v != 0; }); }
inline CodePointSet alphabetic() { return set_of(kAlphabetic, [](std::uint8_t v) { return v != 0; }); }
// Oniguruma's Unicode \w (Word): Alphabetic | Mark | Decimal_Number | Connector_Punctuation.
inline CodePointSet onig_word() {
  CodePointSet s = alphabetic();
  s.add(categories(kMarkBits | category_bits({kNd, kPc})));
  return s;
}
inline CodePointSet hex_digits() {
  CodePointSet s;
  s.add('0', '9');
  s.add('A', 'F');
  s.add('a', 'f');
  return s;
}

// The set \p{name} stands for, or nullopt if the name is not supported.
inline std::optional<CodePointSet> property(std::string_view raw) {
  std::string n;  // Oniguruma compares names without case, ' ', '-' and '_'
  for (const char c : raw)
    if (c != ' ' && c != '-' && c != '_') n += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  struct Named {
    const char* name;
    std::uint32_t bits;
  };
  static const Named kCategories[] = {
      {"l", kLetterBits}, {"letter", kLetterBits},
      {"lc", category_bits({kLu, kLl, kLt})}, {"casedletter", category_bits({kLu, kLl, kLt})},
      {"lu", category_bits({kLu})}, {"uppercaseletter", category_bits({kLu})},
      {"ll", category_bits({kLl})}, {"lowercaseletter", category_bits({kLl})},
      {"lt", category_bits({kLt})}, {"titlecaseletter", category_bits({kLt})},
      {"lm", category_bits({kLm})}, {"modifierletter", category_bits({kLm})},
      {"lo", category_bits({kLo})}, {"otherletter", category_bits({kLo})},
      {"m", kMarkBits}, {"mark", kMarkBits}, {"combiningmark", kMarkBits},
      {"mn", category_bits({kMn})}, {"nonspacingmark", category_bits({kMn})},
      {"mc", category_bits({kMc})}, {"spacingmark", category_bits({kMc})},
      {"me", category_bits({kMe})}, {"enclosingmark", category_bits({kMe})},
      {"n", kNumberBits}, {"number", kNumberBits},
      {"nd", category_bits({kNd})}, {"decimalnumber", category_bits({kNd})}, {"digit", category_bits({kNd})},
      {"nl", category_bits({kNl})}, {"letternumber", category_bits({kNl})},
      {"no", category_bits({kNo})}, {"othernumber", category_bits({kNo})},
      {"p", kPunctuationBits}, {"punctuation", kPunctuationBits}, {"punct", kPunctuationBits},
      {"pc", category_bits({kPc})}, {"connectorpunctuation", category_bits({kPc})},
      {"pd", category_bits({kPd})}, {"dashpunctuation", category_bits({kPd})},
      {"ps", category_bits({kPs})}, {"openpunctuation", category_bits({kPs})},
      {"pe", category_bits({kPe})}, {"closepunctuation", category_bits({kPe})},
      {"pi", category_bits({kPi})}, {"initialpunctuation", category_bits({kPi})},
      {"pf", category_bits({kPf})}, {"finalpunctuation", category_bits({kPf})},
      {"po", category_bits({kPo})}, {"otherpunctuation", category_bits({kPo})},
      {"s", kSymbolBits}, {"symbol", kSymbolBits},
      {"sm", category_bits({kSm})}, {"mathsymbol", category_bits({kSm})},
      {"sc", category_bits({kSc})}, {"currencysymbol", category_bits({kSc})},
      {"sk", category_bits({kSk})}, {"modifiersymbol", category_bits({kSk})},
      {"so", category_bits({kSo})}, {"othersymbol", category_bits({kSo})},
      {"z", kSeparatorBits}, {"separator", kSeparatorBits},
      {"zs", category_bits({kZs})}, {"spaceseparator", category_bits({kZs})},
      {"zl", category_bits({kZl})}, {"lineseparator", category_bits({kZl})},
      {"zp", category_bits({kZp})}, {"paragraphseparator", category_bits({kZp})},
      {"c", kOtherBits}, {"other", kOtherBits},
      {"cc", category_bits({kCc})}, {"control", category_bits({kCc})}, {"cntrl", category_bits({kCc})},
      {"cf", category_bits({kCf})}, {"format", category_bits({kCf})},
      {"cs", category_bits({kCs})}, {"surrogate", category_bits({kCs})},
      {"co", category_bits({kCo})}, {"privateuse", category_bits({kCo})},
      {"cn", category_bits({kCn})}, {"unassigned", category_bits({kCn})},
  };
  for (const Named& c : kCategories)
    if (n == c.name) return categories(c.bits);
  CodePointSet s;
  if (n == "any") {
    s.add(0, CodePointSet::kMaxCodePoint);
  } else if (n == "assigned") {
    s = categories(category_bits({kCn})).complement();
  } else if (n == "ascii") {
    s.add(0, 0x7F);
  } else if (n == "alpha" || n == "alphabetic") {
    s = alphabetic();
  } else if (n == "space" || n == "whitespace") {
    s = white_space();
  } else if (n == "word") {
    s = onig_word();
  } else if (n == "alnum") {
    s = alphabetic();
    s.add(categories(category_bits({kNd})));
  } else if (n == "xdigit") {
    s = hex_digits();
  } else if (n == "blank") {
    s = categories(category_bits({kZs}));
    s.add('\t');
  } else {
    return std::nullopt;
  }
  return s;
}

// Case folding: the classes of code points with the same simple folding.
struct FoldClasses {
  std::map<std::uint32_t, std::vector<std::uint32_t>> members;  // folding -> code points folding to it (and itself)
  FoldClasses() {
    for (const auto& f : kSimpleCaseFolds) members[f.to].push_back(f.from);
    for (auto& [to, m] : members) m.push_back(to);
  }
  static const FoldClasses& get() {
    static const FoldClasses f;
    return f;
  }
  // The code points that fold like cp (cp included).
  std::vector<std::uint32_t> members_of(std::uint32_t cp) const {
    const auto it = members.find(simple_case_fold(cp));
    return it == members.end() ? std::vector<std::uint32_t>{cp} : it->second;
  }
  // Adds to s every code point that folds like one in s.
  CodePointSet close(const CodePointSet& s) const {
    CodePointSet out = s;
    for (const auto& [to, m] : members) {
      if (std::none_of(m.begin(), m.end(), [&](std::uint32_t c) { return s.contains(c); })) continue;
      for (const std::uint32_t c : m) out.add(c);
    }
    return out;
  }
};

// --- syntax tree ---------------------------------------------------------------

enum class Greed : std::uint8_t { kGreedy, kLazy, kPossessive };

struct Node {
  enum Kind : std::uint8_t { kEmpty, kSet, kConcat, kAlt, kRepeat, kLookAhead, kAtomic } kind = kEmpty;
  int set = -1;             // kSet: index into the pattern's sets
  std::vector<int> kids;    // indices into the node list
  std::uint32_t min = 0, max = 0;  // kRepeat; max == kUnbounded for no limit
  Greed greed = Greed::kGreedy;
  bool negate = false;      // kLookAhead: (?!...)
  std::size_t offset = 0;   // in the pattern, for errors
};
inline constexpr std::uint32_t kUnbounded = 0xFFFFFFFF;

// Recursive-descent parser of the pattern into nodes and code point sets.
class Parser {
 public:
  explicit Parser(std::string_view pattern) : p_(pattern) {
    if (find_invalid_utf8(p_) != std::string_view::npos) fail(find_invalid_utf8(p_), "invalid UTF-8");
  }

  std::vector<Node> nodes;
  std::vector<CodePointSet> sets;

  int parse() {
    const int root = alternation(false);
    if (i_ < p_.size()) fail(i_, "unmatched \")\"");
    return root;
  }

 private:
  static constexpr int kMaxDepth = 200;

  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    throw Error("regex: " + what + " at byte offset " + std::to_string(at) + " of the pattern");
  }
  [[noreturn]] void unsupported(std::size_t at, std::string_view construct, const std::string& what) const {
    fail(at, "unsupported " + what + " \"" + std::string(construct) + "\"");
  }

  bool more() const { return i_ < p_.size(); }
  char peek(std::size_t k = 0) const { return i_ + k < p_.size() ? p_[i_ + k] : '\0'; }
  std::uint32_t next_char() {
    const Utf8Char c = decode_utf8_at(p_, i_);
    i_ += c.len;
    return c.cp;
  }

  int add(Node n) {
    nodes.push_back(std::move(n));
    return static_cast<int>(nodes.size()) - 1;
  }
  int add_set(CodePointSet s, std::size_t offset) {
    sets.push_back(std::move(s));
    Node n;
    n.kind = Node::kSet;
    n.set = static_cast<int>(sets.size()) - 1;
    n.offset = offset;
    return add(std::move(n));
  }

  // alternation := concat ('|' concat)*; stops before ')' (or the end).
  int alternation(bool in_group) {
    if (++depth_ > kMaxDepth) fail(i_, "groups nested more than " + std::to_string(kMaxDepth) + " deep");
    const bool saved_icase = icase_;
    Node alt;
    alt.kind = Node::kAlt;
    alt.offset = i_;
    alt.kids.push_back(concat());
    while (peek() == '|') {
      ++i_;
      alt.kids.push_back(concat());
    }
    if (!in_group && more()) fail(i_, "unmatched \")\"");
    icase_ = saved_icase;  // (?i) lasts to the end of its group
    --depth_;
    return alt.kids.size() == 1 ? alt.kids[0] : add(std::move(alt));
  }

  int concat() {
    Node seq;
    seq.kind = Node::kConcat;
    seq.offset = i_;
    std::vector<std::uint32_t> literal_run;  // case-insensitive literals in a row (multi-character fold check)
    std::size_t run_start = i_;
    const auto end_run = [&] {
      check_multi_fold_run(literal_run, run_start);
      literal_run.clear();
    };
    while (more() && peek() != '|' && peek() != ')') {
      const std::size_t at = i_;
      std::uint32_t literal = 0;
      bool is_literal = false;
      const int a = atom(literal, is_literal);
      if (switched_) {
        // Oniguruma: an option switch makes the rest of the group, later
        // alternatives included, a group of its own: x(?i)y|z is x(?i:y|z).
        switched_ = false;
        end_run();
        seq.kids.push_back(alternation(true));
        break;
      }
      if (a < 0) continue;  // a comment
      const int q = quantified(a);
      if (icase_ && is_literal && q == a) {
        if (literal_run.empty()) run_start = at;
        literal_run.push_back(literal);
      } else {
        end_run();
      }
      seq.kids.push_back(q);
    }
    end_run();
    if (seq.kids.size() == 1) return seq.kids[0];
    if (seq.kids.empty()) {
      Node e;
      e.offset = seq.offset;
      return add(std::move(e));
    }
    return add(std::move(seq));
  }

  // A quantifier (if any) applied to node a.
  int quantified(int a) {
    const std::size_t at = i_;
    std::uint32_t min = 0, max = 0;
    if (!quantifier(min, max)) return a;
    Node r;
    r.kind = Node::kRepeat;
    r.kids = {a};
    r.min = min;
    r.max = max;
    r.offset = at;
    const bool simple = p_[at] != '{';
    if (peek() == '?') {
      ++i_;
      r.greed = Greed::kLazy;
    } else if (peek() == '+' && simple) {
      ++i_;
      r.greed = Greed::kPossessive;
    }
    if (nodes[static_cast<std::size_t>(a)].kind == Node::kLookAhead) unsupported(at, p_.substr(at, i_ - at), "quantifier on a look-ahead");
    const std::size_t after = i_;
    std::uint32_t m2 = 0, x2 = 0;
    if (quantifier(m2, x2)) unsupported(after, p_.substr(at, i_ - at), "quantifier after a quantifier");
    if (r.greed == Greed::kPossessive && nodes[static_cast<std::size_t>(a)].kind != Node::kSet) {
      // X*+ is (?>X*); a possessive run of one set is matched directly.
      r.greed = Greed::kGreedy;
      Node atomic;
      atomic.kind = Node::kAtomic;
      atomic.offset = at;
      atomic.kids = {add(std::move(r))};
      return add(std::move(atomic));
    }
    return add(std::move(r));
  }

  // Parses ? * + {n} {n,} {n,m} {,m}; false (and nothing consumed) if none.
  bool quantifier(std::uint32_t& min, std::uint32_t& max) {
    const char c = peek();
    if (c == '?' || c == '*' || c == '+') {
      ++i_;
      min = c == '+' ? 1 : 0;
      max = c == '?' ? 1 : kUnbounded;
      return true;
    }
    if (c != '{') return false;
    // Oniguruma: a '{' that does not start a valid interval is a literal.
    std::size_t k = i_ + 1;
    const auto number = [&](std::uint32_t& v) {
      const std::size_t start = k;
      std::uint64_t x = 0;
      while (k < p_.size() && p_[k] >= '0' && p_[k] <= '9') {
        x = x * 10 + static_cast<std::uint64_t>(p_[k] - '0');
        if (x > 100000) fail(start, "repetition count above 100000");
        ++k;
      }
      v = static_cast<std::uint32_t>(x);
      return k > start;
    };
    std::uint32_t lo = 0, hi = 0;
    const bool has_lo = number(lo);
    if (k < p_.size() && p_[k] == '}') {
      if (!has_lo) return false;
      hi = lo;
    } else if (k < p_.size() && p_[k] == ',') {
      ++k;
      if (!number(hi)) hi = kUnbounded;
      else if (!has_lo) lo = 0;
      if (!has_lo && hi == kUnbounded) return false;  // "{,}" is literal
      if (k >= p_.size() || p_[k] != '}') return false;
    } else {
      return false;
    }
    if (hi < lo) fail(i_, "repetition {" + std::to_string(lo) + "," + std::to_string(hi) + "} with max < min");
    i_ = k + 1;
    min = lo;
    max = hi;
    return true;
  }

  // One atom; -1 for constructs that match nothing themselves ((?i), comments).
  int atom(std::uint32_t& literal, bool& is_literal) {
    const std::size_t at = i_;
    const char c = peek();
    switch (c) {
      case '(':
        return group();
      case '[':
        return add_set(bracket_class(), at);
      case '.': {
        ++i_;
        CodePointSet s;
        s.add('\n');
        return add_set(s.complement(), at);
      }
      case '\\':
        return escape(literal, is_literal);
      case '^':
      case '$':
        unsupported(at, p_.substr(at, 1), "anchor");
      case '*':
      case '+':
      case '?':
        fail(at, "quantifier \"" + std::string(1, c) + "\" with nothing to repeat");
      case '{': {
        std::uint32_t a = 0, b = 0;
        if (quantifier(a, b)) fail(at, "quantifier \"" + std::string(p_.substr(at, i_ - at)) + "\" with nothing to repeat");
        break;
      }
      default:
        break;
    }
    literal = next_char();
    is_literal = true;
    return add_set(literal_set(literal, at), at);
  }

  // The characters a literal matches (its folding class when case-insensitive).
  CodePointSet literal_set(std::uint32_t cp, std::size_t at) const {
    CodePointSet s;
    s.add(cp);
    if (!icase_) return s;
    check_multi_fold_char(cp, at);
    return FoldClasses::get().close(s);
  }

  void check_multi_fold_char(std::uint32_t cp, std::size_t at) const {
    for (const auto& f : kMultiCaseFolds)
      if (f.from == cp || simple_case_fold(cp) == simple_case_fold(f.from))
        fail(at, "unsupported case-insensitive character U+" + hex(cp) +
                     ", which also matches a sequence of characters (a multi-character case folding)");
  }
  // A run of case-insensitive literals that spells a multi-character folding
  // (e.g. "ss", which Oniguruma also matches as "ß").
  void check_multi_fold_run(const std::vector<std::uint32_t>& run, std::size_t at) const {
    if (run.size() < 2) return;
    std::vector<std::uint32_t> folded;
    for (const std::uint32_t c : run) folded.push_back(simple_case_fold(c));
    for (const auto& f : kMultiCaseFolds) {
      const std::size_t n = f.to[2] != 0 ? 3 : 2;
      for (std::size_t k = 0; k + n <= folded.size(); ++k)
        if (std::equal(f.to, f.to + n, folded.begin() + static_cast<std::ptrdiff_t>(k)))
          fail(at, "unsupported case-insensitive sequence \"" + utf8(run) + "\", which also matches U+" + hex(f.from) +
                       " (a multi-character case folding)");
    }
  }
  static std::string hex(std::uint32_t cp) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04X", cp);
    return buf;
  }
  static std::string utf8(const std::vector<std::uint32_t>& cps) {
    std::string s;
    for (const std::uint32_t c : cps) append_utf8(s, c);
    return s;
  }

  int group() {
    const std::size_t at = i_;
    ++i_;  // '('
    Node n;
    n.offset = at;
    int body = -1;
    if (peek() == '?') {
      const char k = peek(1);
      if (k == ':' ) {
        i_ += 2;
        body = alternation(true);
      } else if (k == '=' || k == '!') {
        i_ += 2;
        n.kind = Node::kLookAhead;
        n.negate = k == '!';
        body = alternation(true);
      } else if (k == '>') {
        i_ += 2;
        n.kind = Node::kAtomic;
        body = alternation(true);
      } else if (k == '#') {
        const std::size_t close = p_.find(')', i_);
        if (close == std::string_view::npos) fail(at, "unterminated comment \"(?#\"");
        i_ = close + 1;
        return -1;
      } else if (k == '<' && (peek(2) == '=' || peek(2) == '!')) {
        unsupported(at, p_.substr(at, 4), "look-behind");
      } else if (k == '<' || k == 'P' || k == '\'') {
        // Named group: matched like any group (captures are not kept).
        const char close = k == '\'' ? '\'' : '>';
        std::size_t name = i_ + (k == 'P' ? 3 : 2);
        if (k == 'P' && peek(2) != '<') unsupported(at, p_.substr(at, 3), "group");
        const std::size_t end = p_.find(close, name);
        if (end == std::string_view::npos || end == name) fail(at, "invalid group name");
        for (std::size_t q = name; q < end; ++q) {
          const char ch = p_[q];
          if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            fail(q, "invalid group name");
        }
        i_ = end + 1;
        body = alternation(true);
      } else {
        // Option switches: (?i) (?-i) (?i:...) (?-i:...).
        std::size_t q = i_ + 1;
        bool on = true, icase = icase_, any = false;
        for (; q < p_.size(); ++q) {
          const char ch = p_[q];
          if (ch == '-' && on) {
            on = false;
          } else if (ch == 'i') {
            icase = on;
            any = true;
          } else {
            break;
          }
        }
        const char after = q < p_.size() ? p_[q] : '\0';
        if (!any || (after != ')' && after != ':')) {
          std::size_t end = q + 1;
          while (end < p_.size() && p_[end - 1] != ')' && p_[end - 1] != ':' && end - at < 6) ++end;
          unsupported(at, p_.substr(at, std::min(end, p_.size()) - at), "group or option");
        }
        i_ = q + 1;
        if (after == ')') {
          icase_ = icase;  // to the end of the enclosing group (see concat)
          switched_ = true;
          return -1;
        }
        const bool saved = icase_;
        icase_ = icase;
        body = alternation(true);
        icase_ = saved;
      }
    } else {
      body = alternation(true);
    }
    if (peek() != ')') fail(at, "unterminated group \"(\"");
    ++i_;
    if (n.kind == Node::kEmpty) return body;  // plain, non-capturing or named group
    n.kids = {body};
    return add(std::move(n));
  }

  // \ escapes outside a class.
  int escape(std::uint32_t& literal, bool& is_literal) {
    const std::size_t at = i_;
    CodePointSet s;
    bool is_type = false;
    if (escape_body(s, is_type, literal)) {
      if (!is_type) {
        is_literal = true;
        return add_set(literal_set(literal, at), at);
      }
      return add_set(std::move(s), at);  // types and properties are not case-folded outside brackets
    }
    return -1;  // not reached: escape_body throws
  }

  // Parses one escape at i_ ('\\'): a single character (is_type false, cp
  // set) or a character type (is_type true, s set). Throws on the rest.
  bool escape_body(CodePointSet& s, bool& is_type, std::uint32_t& cp) {
    const std::size_t at = i_;
    ++i_;
    if (!more()) fail(at, "pattern ends with \"\\\"");
    const char c = peek();
    ++i_;
    is_type = true;
    switch (c) {
      case 's': s = white_space(); return true;
      case 'S': s = white_space().complement(); return true;
      case 'd': s = categories(category_bits({kNd})); return true;
      case 'D': s = categories(category_bits({kNd})).complement(); return true;
      case 'w': s = onig_word(); return true;
      case 'W': s = onig_word().complement(); return true;
      case 'h': s = hex_digits(); return true;
      case 'H': s = hex_digits().complement(); return true;
      case 'p':
      case 'P': {
        if (peek() != '{') unsupported(at, p_.substr(at, 2), "escape");
        const std::size_t close = p_.find('}', i_);
        if (close == std::string_view::npos) fail(at, "unterminated \\" + std::string(1, c) + "{");
        std::string_view name = p_.substr(i_ + 1, close - i_ - 1);
        bool negate = c == 'P';
        if (!name.empty() && name[0] == '^') {
          negate = !negate;
          name.remove_prefix(1);
        }
        const auto prop = property(name);
        if (!prop)
          fail(at, "unsupported Unicode property \"" + std::string(p_.substr(at, close + 1 - at)) +
                       "\" (supported: General_Category values and groups, Any, Assigned, ASCII, Alpha, Space, Word, "
                       "Alnum, Digit, Punct, XDigit, Blank, Cntrl)");
        i_ = close + 1;
        s = negate ? prop->complement() : *prop;
        return true;
      }
      default:
        break;
    }
    is_type = false;
    switch (c) {
      case 't': cp = '\t'; return true;
      case 'n': cp = '\n'; return true;
      case 'r': cp = '\r'; return true;
      case 'f': cp = '\f'; return true;
      case 'v': cp = '\v'; return true;
      case 'a': cp = 0x07; return true;
      case 'e': cp = 0x1B; return true;
      case 'x': {
        if (peek() == '{') {
          const std::size_t close = p_.find('}', i_);
          if (close == std::string_view::npos || close == i_ + 1 || close - i_ - 1 > 8) fail(at, "invalid \\x{...}");
          cp = parse_hex(p_.substr(i_ + 1, close - i_ - 1), at);
          i_ = close + 1;
        } else {
          std::size_t n = 0;
          while (n < 2 && is_hex(peek(n))) ++n;
          if (n == 0) fail(at, "invalid \\x escape");
          cp = parse_hex(p_.substr(i_, n), at);
          i_ += n;
        }
        break;
      }
      case 'u': {
        std::size_t n = 0;
        while (n < 4 && is_hex(peek(n))) ++n;
        if (n != 4) fail(at, "invalid \\u escape (four hex digits expected)");
        cp = parse_hex(p_.substr(i_, 4), at);
        i_ += 4;
        break;
      }
      default: {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
          cp = u;  // escaped punctuation (or space): itself
          return true;
        }
        i_ = at;
        const std::size_t len = u < 0x80 ? 2 : 1 + decode_utf8_at(p_, at + 1).len;
        unsupported(at, p_.substr(at, len), "escape");
      }
    }
    if (cp > CodePointSet::kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) fail(at, "escape names no Unicode scalar value");
    return true;
  }

  static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
  std::uint32_t parse_hex(std::string_view h, std::size_t at) const {
    std::uint64_t v = 0;
    for (const char c : h) {
      if (!is_hex(c)) fail(at, "invalid hexadecimal digit in escape");
      v = v * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    if (v > CodePointSet::kMaxCodePoint) fail(at, "escape names no Unicode scalar value");
    return static_cast<std::uint32_t>(v);
  }

  // [...] with i_ at '['.
  CodePointSet bracket_class() {
    const std::size_t at = i_;
    ++i_;
    bool negate = false;
    if (peek() == '^') {
      negate = true;
      ++i_;
    }
    CodePointSet s;
    bool first = true;
    for (;;) {
      if (!more()) fail(at, "unterminated character class \"[\"");
      const std::size_t item = i_;
      const char c = peek();
      if (c == ']' && !first) {  // a ']' first in the class is a literal, as in Oniguruma
        ++i_;
        break;
      }
      if (c == '[') {
        unsupported(item, peek(1) == ':' ? p_.substr(item, 2) : p_.substr(item, 1),
                    peek(1) == ':' ? "POSIX bracket" : "nested character class");
      }
      if (c == '&' && peek(1) == '&') unsupported(item, "&&", "character class intersection");
      first = false;
      std::uint32_t lo = 0;
      if (c == '\\') {
        CodePointSet t;
        bool is_type = false;
        escape_body(t, is_type, lo);
        if (is_type) {
          if (peek() == '-' && peek(1) != ']') fail(item, "character class range from a character type");
          s.add(t);
          continue;
        }
      } else {
        lo = next_char();
      }
      std::uint32_t hi = lo;
      if (peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
        const std::size_t dash = i_;
        ++i_;
        if (peek() == '\\') {
          CodePointSet t;
          bool is_type = false;
          escape_body(t, is_type, hi);
          if (is_type) fail(dash, "character class range to a character type");
        } else if (peek() == '[') {
          unsupported(i_, "[", "nested character class");
        } else {
          hi = next_char();
        }
        if (hi < lo) fail(item, "character class range out of order");
      }
      if (icase_)
        for (const auto& f : kMultiCaseFolds)
          for (const std::uint32_t m : FoldClasses::get().members_of(f.from))
            if (m >= lo && m <= hi) check_multi_fold_char(m, item);
      s.add(lo, hi);
    }
    if (icase_) {
      // Oniguruma adds multi-character foldings for the literal members of a
      // class, not for its types; the literals were checked above.
      s = FoldClasses::get().close(s);
    }
    return negate ? s.complement() : s;
  }

  std::string_view p_;
  std::size_t i_ = 0;
  bool icase_ = false;
  bool switched_ = false;  // group() just read an option switch such as (?i)
  int depth_ = 0;
};

}  // namespace regex_detail

class Regex {
 public:
  struct Match {
    std::size_t begin, end;
  };

  Regex() = default;

  // Compiles `pattern`; an unsupported or malformed pattern is an urm::Error
  // "regex: … at byte offset N of the pattern".
  static Regex compile(std::string_view pattern) {
    regex_detail::Parser parser(pattern);
    const int root = parser.parse();
    Regex re;
    re.pattern_ = std::string(pattern);
    re.build_classes(parser.sets);
    Compiler c{re, parser.nodes};
    const std::int32_t start = c.emit_program(root);
    if (start != 0) throw Error("regex: internal error: the program does not start at 0");
    re.compile_assertions();
    re.compute_first_sets();
    re.index_ascii();
    re.build_split_follow();
    re.build_entry_pairs();
    return re;
  }

  const std::string& pattern() const { return pattern_; }

  // The leftmost match that starts at or after `from` in `text` (valid
  // UTF-8; `from` on a character boundary), or nullopt.
  std::optional<Match> find(std::string_view text, std::size_t from) const {
    Scratch s;
    return find(text, from, s);
  }

  // Working memory of find, reused across calls.
  struct Frame {
    std::int32_t pc;
    std::uint8_t kind;  // kRetry (resume at pc, pos), kGreedyBack, kLazyMore
    std::uint32_t pos, aux;
  };
  struct Scratch {
    // The backtracking stack (a plain buffer: push is the hot path).
    std::vector<Frame> frames = std::vector<Frame>(64);
    std::size_t size = 0;
    std::size_t budget = 0;
    [[gnu::always_inline]] void push(const Frame& f) {
      if (size == frames.size()) [[unlikely]] grow();
      frames[size++] = f;
    }
    [[gnu::noinline]] void grow() { frames.resize(2 * frames.size()); }
  };

  std::optional<Match> find(std::string_view text, std::size_t from, Scratch& s) const {
    if (text.size() > 0xFFFFFFF0u) throw Error("regex: text longer than 4 GiB");
    s.size = 0;
    s.budget = kBudgetBase + kBudgetPerByte * (text.size() - from);
    for (std::size_t start = from;;) {
      // Where the program goes first for the characters here (-1: nowhere),
      // and where to retry if that fails (-1: nowhere).
      std::int32_t entry = entry_[0], retry = -1;
      std::size_t skip = 0;  // bytes the entry has taken
      if (start < text.size()) {
        // First by the first character alone: where no match can start
        // (most places, for patterns such as \p{N}{1,3}) this is the whole
        // cost of a place.
        const auto b = static_cast<std::uint8_t>(text[start]);
        std::uint32_t len = 1;
        std::uint8_t c0;
        if (b < 0x80) {
          c0 = ascii_class_[b];
          entry = entry_ascii_[b];
        } else {
          c0 = class_at(text, start, len);
          entry = entry_[1 + std::size_t{c0}];
        }
        if (entry < 0) {
          start += len;
          continue;
        }
        if (!entry_pairs_.empty()) {
          const std::size_t next = start + len;
          std::uint32_t len1;
          const std::size_t c1 = next < text.size() ? class_at(text, next, len1) : n_classes_;
          const EntryPair& e = entry_pairs_[c0 * (n_classes_ + 1) + c1];
          entry = e.pc;
          retry = e.retry;
          skip = e.skip ? len : 0;
          if (entry < 0) {
            start += len;
            continue;
          }
        }
      }
      if (entry >= 0) {
        // The simple part of the machine here, without a call: single
        // characters, runs that never give back, one-character look-aheads,
        // jumps, and splits, which leave a retry point only when the two
        // characters at hand do not decide them. The rest (runs that may
        // give back, look-aheads, atomic groups) is run(); if that fails,
        // the retry points here are taken in order. Most words never get to
        // run().
        std::int32_t pc = entry;
        std::size_t pos = start + skip;
        s.size = 0;
        if (retry >= 0) s.push({retry, kRetry, static_cast<std::uint32_t>(start), 0});
        for (;;) {
          const Inst& in = prog_[static_cast<std::size_t>(pc)];
          std::uint32_t len;
          bool failed = false;
          // Tests in order of frequency rather than a switch: these
          // branches predict better than one indirect jump.
          if (in.op == kCharRepeat && in.greed == regex_detail::Greed::kPossessive) {
            failed = span(in, text, pos, in.max) < in.min;
            ++pc;
          } else if (in.op == kSplit) {
            const std::uint8_t ok = branches(in, text, pos);
            if (ok == 3) s.push({in.y, kRetry, static_cast<std::uint32_t>(pos), 0});
            failed = ok == 0;
            pc = ok & 1 ? in.x : in.y;
          } else if (in.op == kMatch) {
            return Match{start, pos};
          } else if (in.op == kChar) {
            failed = !in_class(in, text, pos, len);
            pos += failed ? 0 : len;
            ++pc;
          } else if (in.op == kAssert) {
            failed = in_class(in, text, pos, len) == in.negate;
            ++pc;
          } else if (in.op == kJump) {
            pc = in.x;
          } else {
            std::size_t end = 0;
            if (run(text, pc, pos, end, s, 0)) return Match{start, end};
            failed = true;
          }
          if (!failed) continue;
          if (s.size == 0) break;  // no match here
          if (s.budget-- == 0) budget_exhausted();
          const Frame& f = s.frames[--s.size];  // only kRetry frames are left here
          pc = f.pc;
          pos = f.pos;
        }
      }
      if (start >= text.size()) return std::nullopt;
      start += char_len(text, start);
    }
  }

  // Calls emit(begin, end, is_match) for the pieces Hugging Face's Split
  // cuts `text` into (find_matches of tokenizers' onig pattern): each match
  // and each stretch between matches, in order; empty matches included.
  template <class Emit>
  void for_each_split(std::string_view text, Emit&& emit) const {
    std::size_t prev = 0, last_end = 0;
    bool have_last = false;
    std::size_t last_match_end = 0;
    Scratch scratch;
    while (last_end <= text.size()) {
      const auto m = find(text, last_end, scratch);
      if (!m) break;
      if (m->begin == m->end && have_last && last_match_end == m->end) {
        // No empty match right after a match (onig's find_iter): move on one character.
        last_end += last_end < text.size() ? char_len(text, last_end) : 1;
        continue;
      }
      last_end = m->end;
      have_last = true;
      last_match_end = m->end;
      if (prev != m->begin) emit(prev, m->begin, false);
      emit(m->begin, m->end, true);
      prev = m->end;
    }
    if (prev != text.size()) emit(prev, text.size(), false);
  }

 private:
  // Backtracking steps a find may take: kBudgetBase + kBudgetPerByte per byte searched.
  static constexpr std::size_t kBudgetBase = 1'000'000, kBudgetPerByte = 64;
  static constexpr std::size_t kMaxProgram = 10'000;
  // split_follow_ entries at most (64 bytes each).
  static constexpr std::size_t kMaxFollowEntries = 4096;
  // entry_pairs_ only for patterns of at most this many classes (12 bytes per pair: at most ~50 KB).
  static constexpr std::size_t kMaxPairClasses = 64;
  // The class id that stands for the end of the text in split_follow_
  // (build_classes makes at most 255 classes, 0..254).
  static constexpr std::size_t kEndClass = 255;

  enum Op : std::uint8_t { kChar, kCharRepeat, kSplit, kJump, kLookAhead, kAssert, kAtomic, kMatch };
  struct Inst {
    Op op = kMatch;
    regex_detail::Greed greed = regex_detail::Greed::kGreedy;
    bool negate = false;            // kLookAhead, kAssert: (?!...)
    std::uint16_t cls = 0;          // kChar, kCharRepeat, kAssert: index into set_classes_
    std::uint32_t min = 0, max = 0; // kCharRepeat
    // kChar, kCharRepeat, kAssert: bit b of ascii[b / 64] = byte b < 0x80 is in the
    // set. Most text is ASCII, and this tests it with the instruction at
    // hand instead of two table lookups (byte -> class -> set).
    std::array<std::uint64_t, 2> ascii{};
    std::int32_t x = -1, y = -1;    // kSplit: x preferred, then y; kJump: x; kLookAhead, kAtomic: x = sub-program
    std::int32_t table = -1;        // kSplit: index into split_tables_
    std::int32_t follow = -1;       // kSplit: first entry in split_follow_, or -1
  };
  using ClassBits = std::bitset<256>;

  // --- character classes -----------------------------------------------------

  // Partitions the code points by membership in each of `sets`; every set
  // becomes the bitset of the partition classes it contains.
  void build_classes(const std::vector<CodePointSet>& sets) {
    // Boundaries where membership can change.
    std::vector<std::uint32_t> cuts = {0};
    for (const CodePointSet& s : sets)
      for (const auto& i : s.intervals()) {
        cuts.push_back(i.first);
        if (i.last < CodePointSet::kMaxCodePoint) cuts.push_back(i.last + 1);
      }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    // Signature of each elementary interval: which sets contain it.
    std::vector<std::size_t> cursor(sets.size(), 0);
    std::map<std::vector<bool>, std::uint8_t> ids;
    std::vector<std::vector<bool>> signatures;
    for (std::size_t k = 0; k < cuts.size(); ++k) {
      const std::uint32_t cp = cuts[k];
      const std::uint32_t last = k + 1 < cuts.size() ? cuts[k + 1] - 1 : CodePointSet::kMaxCodePoint;
      std::vector<bool> sig(sets.size(), false);
      for (std::size_t s = 0; s < sets.size(); ++s) {
        const auto& iv = sets[s].intervals();
        std::size_t& c = cursor[s];
        while (c < iv.size() && iv[c].last < cp) ++c;
        sig[s] = c < iv.size() && iv[c].first <= cp;
      }
      auto it = ids.find(sig);
      if (it == ids.end()) {
        if (ids.size() == 255) throw Error("regex: more than 255 distinct character classes in the pattern");
        it = ids.emplace(sig, static_cast<std::uint8_t>(ids.size())).first;
        signatures.push_back(sig);
        ++n_classes_;
      }
      const std::uint8_t id = it->second;
      for (std::uint32_t a = cp; a <= last && a < 128; ++a) ascii_class_[a] = id;
      if (last >= 128) {
        const std::uint32_t first = std::max<std::uint32_t>(cp, 128);
        if (!ranges_.empty() && ranges_.back().cls == id && ranges_.back().last + 1 == first) ranges_.back().last = last;
        else ranges_.push_back({first, last, id});
      }
    }
    // Two-level table: 256-code-point pages, identical pages stored once.
    std::map<std::array<std::uint8_t, 256>, std::uint16_t> page_ids;
    page_of_.assign((CodePointSet::kMaxCodePoint + 1) >> 8, 0);
    std::size_t r = 0;
    for (std::uint32_t page = 0; page < page_of_.size(); ++page) {
      std::array<std::uint8_t, 256> classes{};
      for (std::uint32_t k = 0; k < 256; ++k) {
        const std::uint32_t cp = (page << 8) | k;
        if (cp < 128) {
          classes[k] = ascii_class_[cp];
          continue;
        }
        while (ranges_[r].last < cp) ++r;
        classes[k] = ranges_[r].cls;
      }
      const auto [it, fresh] = page_ids.emplace(classes, static_cast<std::uint16_t>(page_ids.size()));
      if (fresh) pages_.insert(pages_.end(), classes.begin(), classes.end());
      page_of_[page] = it->second;
    }
    set_classes_.assign(sets.size(), ClassBits{});
    for (std::size_t cls = 0; cls < signatures.size(); ++cls)
      for (std::size_t s = 0; s < sets.size(); ++s)
        if (signatures[cls][s]) set_classes_[s].set(cls);
  }

  static std::uint32_t char_len(std::string_view t, std::size_t p) {
    const auto b = static_cast<std::uint8_t>(t[p]);
    return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  }

  // Class of the character at p (< t.size()) of valid UTF-8, and its length.
  [[gnu::always_inline]] std::uint8_t class_at(std::string_view t, std::size_t p, std::uint32_t& len) const {
    const auto b0 = static_cast<std::uint8_t>(t[p]);
    if (b0 < 0x80) {
      len = 1;
      return ascii_class_[b0];
    }
    std::uint32_t cp;
    const auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<std::uint8_t>(t[p + k]) & 0x3F); };
    if (b0 < 0xE0) {
      len = 2;
      cp = ((b0 & 0x1Fu) << 6) | b(1);
    } else if (b0 < 0xF0) {
      len = 3;
      cp = ((b0 & 0x0Fu) << 12) | (b(1) << 6) | b(2);
    } else {
      len = 4;
      cp = ((b0 & 0x07u) << 18) | (b(1) << 12) | (b(2) << 6) | b(3);
    }
    return pages_[(std::size_t{page_of_[cp >> 8]} << 8) | (cp & 0xFF)];
  }

  // --- compilation ------------------------------------------------------------

  struct Compiler {
    Regex& re;
    const std::vector<regex_detail::Node>& nodes;
    std::vector<std::pair<std::int32_t, int>> pending_subs = {};  // (instruction whose x to set, node)

    std::int32_t emit(Inst in) {
      if (re.prog_.size() >= kMaxProgram)
        throw Error("regex: the compiled pattern has more than " + std::to_string(kMaxProgram) +
                    " instructions (repetition counts too large)");
      re.prog_.push_back(in);
      return static_cast<std::int32_t>(re.prog_.size()) - 1;
    }
    std::int32_t here() const { return static_cast<std::int32_t>(re.prog_.size()); }

    std::int32_t emit_program(int root) {
      const std::int32_t start = here();
      node(root);
      emit({});  // kMatch
      // Look-ahead and atomic bodies: separate sub-programs ending in kMatch.
      while (!pending_subs.empty()) {
        const auto [inst, n] = pending_subs.back();
        pending_subs.pop_back();
        const std::int32_t sub = here();
        node(n);
        emit({});
        re.prog_[static_cast<std::size_t>(inst)].x = sub;
      }
      return start;
    }

    bool nullable(int n) const {
      const auto& nd = nodes[static_cast<std::size_t>(n)];
      switch (nd.kind) {
        case regex_detail::Node::kEmpty: return true;
        case regex_detail::Node::kSet: return false;
        case regex_detail::Node::kConcat:
          return std::all_of(nd.kids.begin(), nd.kids.end(), [&](int k) { return nullable(k); });
        case regex_detail::Node::kAlt:
          return std::any_of(nd.kids.begin(), nd.kids.end(), [&](int k) { return nullable(k); });
        case regex_detail::Node::kRepeat: return nd.min == 0 || nullable(nd.kids[0]);
        case regex_detail::Node::kLookAhead: return true;
        case regex_detail::Node::kAtomic: return nullable(nd.kids[0]);
      }
      return true;
    }

    void node(int n) {
      const auto& nd = nodes[static_cast<std::size_t>(n)];
      using regex_detail::Node;
      switch (nd.kind) {
        case Node::kEmpty:
          return;
        case Node::kSet: {
          Inst in;
          in.op = kChar;
          in.cls = static_cast<std::uint16_t>(nd.set);
          emit(in);
          return;
        }
        case Node::kConcat:
          for (const int k : nd.kids) node(k);
          return;
        case Node::kAlt: {
          std::vector<std::int32_t> jumps;
          for (std::size_t k = 0; k < nd.kids.size(); ++k) {
            std::int32_t split = -1;
            if (k + 1 < nd.kids.size()) {
              Inst s;
              s.op = kSplit;
              split = emit(s);
              re.prog_[static_cast<std::size_t>(split)].x = here();
            }
            node(nd.kids[k]);
            if (k + 1 < nd.kids.size()) {
              Inst j;
              j.op = kJump;
              jumps.push_back(emit(j));
              re.prog_[static_cast<std::size_t>(split)].y = here();
            }
          }
          for (const std::int32_t j : jumps) re.prog_[static_cast<std::size_t>(j)].x = here();
          return;
        }
        case Node::kLookAhead:
        case Node::kAtomic: {
          Inst in;
          in.op = nd.kind == Node::kLookAhead ? kLookAhead : kAtomic;
          in.negate = nd.negate;
          pending_subs.emplace_back(emit(in), nd.kids[0]);
          return;
        }
        case Node::kRepeat:
          repeat(nd);
          return;
      }
    }

    void repeat(const regex_detail::Node& nd) {
      using regex_detail::Greed;
      using regex_detail::Node;
      const int body = nd.kids[0];
      const auto& b = nodes[static_cast<std::size_t>(body)];
      if (nd.max == 0) return;
      if (b.kind == Node::kSet) {  // one instruction: the fast path
        Inst in;
        in.op = kCharRepeat;
        in.cls = static_cast<std::uint16_t>(b.set);
        in.min = nd.min;
        in.max = nd.max;
        in.greed = nd.greed;
        emit(in);
        return;
      }
      for (std::uint32_t k = 0; k < nd.min; ++k) node(body);
      const bool lazy = nd.greed == Greed::kLazy;
      if (nd.max == regex_detail::kUnbounded) {
        if (nullable(body))
          throw Error("regex: unsupported unbounded repetition of a group that can match the empty string at byte offset " +
                      std::to_string(nd.offset) + " of the pattern");
        Inst s;
        s.op = kSplit;
        const std::int32_t loop = emit(s);
        const std::int32_t in_body = here();
        node(body);
        Inst j;
        j.op = kJump;
        j.x = loop;
        emit(j);
        set_split(loop, in_body, here(), lazy);
        return;
      }
      // (X(X(X)?)?)? for the max - min optional copies.
      std::vector<std::int32_t> splits;
      for (std::uint32_t k = nd.min; k < nd.max; ++k) {
        Inst s;
        s.op = kSplit;
        splits.push_back(emit(s));
        re.prog_[static_cast<std::size_t>(splits.back())].x = here();  // provisional: body follows
        node(body);
      }
      const std::int32_t end = here();
      for (const std::int32_t s : splits) set_split(s, s + 1, end, lazy);
    }

    void set_split(std::int32_t s, std::int32_t body, std::int32_t exit, bool lazy) {
      Inst& in = re.prog_[static_cast<std::size_t>(s)];
      in.x = lazy ? exit : body;
      in.y = lazy ? body : exit;
    }

  };

  // first_[pc]: the classes a match from pc can start with; nullable_[pc]:
  // whether it can match without consuming (then first_ does not filter).
  void compute_first_sets() {
    const std::size_t n = prog_.size();
    first_.assign(n, ClassBits{});
    nullable_.assign(n, false);
    std::vector<std::uint8_t> state(n, 0);  // 0 new, 1 in progress, 2 done
    // Iterative DFS would be longer; the recursion depth is bounded by the
    // chains of splits and jumps, at most the program size (<= kMaxProgram).
    struct Walker {
      Regex& re;
      std::vector<std::uint8_t>& state;
      void visit(std::size_t pc) {
        if (state[pc] == 2) return;
        if (state[pc] == 1) {  // a loop back through splits/jumps: be conservative
          re.nullable_[pc] = true;
          return;
        }
        state[pc] = 1;
        const Inst& in = re.prog_[pc];
        ClassBits f;
        bool null = false;
        switch (in.op) {
          case kChar:
            f = re.set_classes_[in.cls];
            break;
          case kCharRepeat:
            f = re.set_classes_[in.cls];
            if (in.min == 0) {
              visit(pc + 1);
              f |= re.first_[pc + 1];
              null = re.nullable_[pc + 1];
            }
            break;
          case kSplit:
            visit(static_cast<std::size_t>(in.x));
            visit(static_cast<std::size_t>(in.y));
            f = re.first_[static_cast<std::size_t>(in.x)] | re.first_[static_cast<std::size_t>(in.y)];
            null = re.nullable_[static_cast<std::size_t>(in.x)] || re.nullable_[static_cast<std::size_t>(in.y)];
            break;
          case kJump:
            visit(static_cast<std::size_t>(in.x));
            f = re.first_[static_cast<std::size_t>(in.x)];
            null = re.nullable_[static_cast<std::size_t>(in.x)];
            break;
          case kLookAhead:
          case kAssert:
          case kAtomic:
          case kMatch:
            null = true;  // no filtering through these
            break;
        }
        re.first_[pc] = f;
        re.nullable_[pc] = re.nullable_[pc] || null;
        state[pc] = 2;
      }
    };
    Walker w{*this, state};
    for (std::size_t pc = n; pc-- > 0;) w.visit(pc);
    make_runs_possessive();
    // Per split, per class (index 0: the end of the text): which branches may match.
    for (Inst& in : prog_) {
      if (in.op != kSplit) continue;
      std::array<std::uint8_t, 257> t{};
      const auto sx = static_cast<std::size_t>(in.x), sy = static_cast<std::size_t>(in.y);
      for (std::size_t c = 0; c < 257; ++c) {
        const bool x = nullable_[sx] || (c > 0 && first_[sx][c - 1]);
        const bool y = nullable_[sy] || (c > 0 && first_[sy][c - 1]);
        t[c] = static_cast<std::uint8_t>((x ? 1 : 0) | (y ? 2 : 0));
      }
      const auto it = std::find(split_tables_.begin(), split_tables_.end(), t);
      in.table = static_cast<std::int32_t>(it - split_tables_.begin());
      if (it == split_tables_.end()) split_tables_.push_back(t);
    }
    // A jump to a jump or to kMatch: straight there.
    for (Inst& in : prog_) {
      if (in.op != kJump) continue;
      std::size_t target = static_cast<std::size_t>(in.x);
      for (int hops = 0; prog_[target].op == kJump && hops < 64; ++hops) target = static_cast<std::size_t>(prog_[target].x);
      if (prog_[target].op == kMatch) in = Inst{};  // kMatch
      else in.x = static_cast<std::int32_t>(target);
    }
    // entry_[1 + class] (entry_[0]: at the end of the text): the instruction
    // the program reaches from 0 through the splits and jumps whose choice
    // that class decides, or -1 if no branch can match.
    for (std::size_t c = 0; c < entry_.size(); ++c) {
      std::int32_t pc = 0;
      for (int hops = 0; hops < 10000; ++hops) {
        const Inst& in = prog_[static_cast<std::size_t>(pc)];
        if (in.op == kJump) {
          pc = in.x;
          continue;
        }
        // An optional run that cannot take this character matches nothing
        // here (the [^\r\n\p{L}\p{N}]? before \p{L}+ at a letter).
        if (in.op == kCharRepeat && in.min == 0 && c > 0 && !set_classes_[in.cls][c - 1]) {
          ++pc;
          continue;
        }
        // Nothing from here can start with this character: no match.
        if (!nullable_[static_cast<std::size_t>(pc)] && (c == 0 || !first_[static_cast<std::size_t>(pc)][c - 1])) {
          pc = -1;
          break;
        }
        if (in.op != kSplit) break;
        const std::uint8_t ok = split_tables_[static_cast<std::size_t>(in.table)][c];
        if (ok == 3) break;
        pc = ok == 1 ? in.x : ok == 2 ? in.y : -1;
        if (pc < 0) break;
      }
      entry_[c] = pc;
    }
  }

  // A look-ahead of one character set, such as (?!\S), becomes kAssert: a
  // test of the character at the position (or of the end of the text),
  // instead of running a sub-program for it. (Its sub-program stays in
  // prog_, unreached.)
  void compile_assertions() {
    for (Inst& in : prog_) {
      if (in.op != kLookAhead) continue;
      const auto sub = static_cast<std::size_t>(in.x);
      if (prog_[sub].op != kChar || prog_[sub + 1].op != kMatch) continue;
      in.op = kAssert;
      in.cls = prog_[sub].cls;
    }
  }

  // split_follow_ (see kSplit in branches()): for each split and each class
  // c that both its branches can start with, the classes that can come
  // right after a first character of class c in a match of each branch.
  // Alternations such as [^\r\n\p{L}\p{N}]?\p{L}+ | ... | \s+ mostly differ
  // in their second character, so this settles most of the choices that the
  // first character leaves open, without trying a branch that must fail.
  // Skipped (follow = -1) when the tables would be large (many splits and
  // classes): then the splits just try both branches.
  void build_split_follow() {
    std::size_t splits = 0;
    for (const Inst& in : prog_) splits += in.op == kSplit ? 1 : 0;
    if (splits * n_classes_ > kMaxFollowEntries) return;
    for (Inst& in : prog_) {
      if (in.op != kSplit) continue;
      in.follow = static_cast<std::int32_t>(split_follow_.size());
      for (std::size_t c = 0; c < n_classes_; ++c) {
        SplitFollow f;
        if (split_tables_[static_cast<std::size_t>(in.table)][1 + c] == 3) {
          f.x = follow(static_cast<std::size_t>(in.x), c);
          f.y = follow(static_cast<std::size_t>(in.y), c);
        }
        split_follow_.push_back(f);
      }
    }
  }

  // The classes (bit kEndClass: the end of the text) that can follow a first
  // character of class c in a match from pc; a superset (possessive runs
  // are taken as greedy), and every class when the match may end, or look
  // ahead, before that character or right after it.
  ClassBits follow(std::size_t pc, std::size_t c) const {
    ClassBits all;
    all.set();
    const auto after = [&](std::size_t q) { return nullable_[q] ? all : first_[q]; };
    ClassBits out;
    std::vector<std::uint8_t> seen(prog_.size(), 0);
    std::vector<std::size_t> todo = {pc};
    while (!todo.empty()) {
      const std::size_t q = todo.back();
      todo.pop_back();
      if (seen[q]) continue;
      seen[q] = 1;
      const Inst& in = prog_[q];
      switch (in.op) {
        case kChar:
          if (set_classes_[in.cls][c]) out |= after(q + 1);
          break;
        case kCharRepeat:
          if (set_classes_[in.cls][c]) {
            if (in.max > 1) out |= set_classes_[in.cls];
            if (in.min <= 1) out |= after(q + 1);
          }
          if (in.min == 0) todo.push_back(q + 1);
          break;
        case kSplit:
          todo.push_back(static_cast<std::size_t>(in.y));
          todo.push_back(static_cast<std::size_t>(in.x));
          break;
        case kJump:
          todo.push_back(static_cast<std::size_t>(in.x));
          break;
        case kLookAhead:
        case kAssert:
        case kAtomic:
        case kMatch:
          return all;
      }
    }
    return out;
  }

  // entry_pairs_: like entry_, for the first two characters, through the
  // splits that split_follow_ decides for them; at most one split that they
  // leave open is passed, its second branch becoming the retry point. (At
  // a '.' the Llama-3 program goes straight to the run of symbols, past four
  // splits.) Only for patterns with few classes, so that the table stays
  // small.
  void build_entry_pairs() {
    const bool splits = std::any_of(prog_.begin(), prog_.end(), [](const Inst& in) { return in.op == kSplit; });
    if (n_classes_ > kMaxPairClasses || (splits && split_follow_.empty())) return;
    const std::size_t n1 = n_classes_ + 1;  // the second: a class, or n_classes_ for the end of the text
    entry_pairs_.assign(n_classes_ * n1, EntryPair{});
    for (std::size_t c0 = 0; c0 < n_classes_; ++c0) {
      for (std::size_t c1 = 0; c1 < n1; ++c1) {
        const std::size_t second = c1 == n_classes_ ? kEndClass : c1;
        std::int32_t pc = 0, retry = -1;
        bool consumed = false;  // the first character is taken (then the second is the one at hand)
        const auto in_set = [&](const Inst& in, std::size_t c) { return c < n_classes_ && set_classes_[in.cls][c]; };
        for (int hops = 0; pc >= 0 && hops < 10000; ++hops) {
          const Inst& in = prog_[static_cast<std::size_t>(pc)];
          const std::size_t here = consumed ? c1 : c0;
          if (in.op == kJump) {
            pc = in.x;
            continue;
          }
          if (in.op == kCharRepeat && in.min == 0 && !in_set(in, here)) {  // matches nothing here
            ++pc;
            continue;
          }
          // Nothing from here can start with the character at hand: this
          // way fails; what is left is the retry point, at the start.
          if (!nullable_[static_cast<std::size_t>(pc)] && !(here < n_classes_ && first_[static_cast<std::size_t>(pc)][here])) {
            pc = retry;
            retry = -1;
            consumed = false;
            continue;
          }
          // The first character, where taking it is no choice.
          const bool takes_one = in.op == kChar || (in.op == kCharRepeat && in.greed == regex_detail::Greed::kPossessive && in.max == 1);
          if (!consumed && takes_one && in_set(in, c0)) {
            consumed = true;
            ++pc;
            continue;
          }
          if (in.op != kSplit) break;
          std::uint8_t ok = split_tables_[static_cast<std::size_t>(in.table)][consumed ? (c1 == n_classes_ ? 0 : 1 + c1) : 1 + c0];
          if (ok == 3 && !consumed) {
            const SplitFollow& f = split_follow_[static_cast<std::size_t>(in.follow) + c0];
            ok = static_cast<std::uint8_t>((f.x[second] ? 1 : 0) | (f.y[second] ? 2 : 0));
          }
          if (ok == 3) {
            // A second open choice, or one after the first character (the
            // retry point would be elsewhere): the machine takes it from here.
            if (retry >= 0 || consumed) break;
            retry = in.y;
            pc = in.x;
          } else if (ok == 0) {  // neither branch: what is left is the retry point, at the start
            pc = retry;
            retry = -1;
            consumed = false;
          } else {
            pc = ok == 1 ? in.x : in.y;
          }
        }
        entry_pairs_[c0 * n1 + c1] = {pc, retry, consumed};
      }
    }
  }

  // The ASCII masks of the character instructions and entry_ascii_.
  void index_ascii() {
    for (Inst& in : prog_) {
      if (in.op != kChar && in.op != kCharRepeat && in.op != kAssert) continue;
      in.ascii = {};
      for (std::uint32_t b = 0; b < 128; ++b)
        if (set_classes_[in.cls][ascii_class_[b]]) in.ascii[b >> 6] |= std::uint64_t{1} << (b & 63);
    }
    for (std::uint32_t b = 0; b < 128; ++b) entry_ascii_[b] = entry_[1 + std::size_t{ascii_class_[b]}];
  }

  // A greedy run followed by something that cannot start with a character
  // of the run never needs to give characters back: the continuation would
  // then have to start with one. Unless the continuation can match empty
  // through a look-ahead (whose outcome depends on the position), e.g.
  // \s+(?!\S); an empty path without one succeeds anywhere, so from the
  // run's longest end already.
  void make_runs_possessive() {
    std::vector<std::uint8_t> pure(prog_.size(), 2);  // 0 no, 1 yes, 2 unknown: continuation nullable only through look-ahead-free paths
    for (std::size_t pc = 0; pc < prog_.size(); ++pc) {
      Inst& in = prog_[pc];
      if (in.op != kCharRepeat || in.greed != regex_detail::Greed::kGreedy) continue;
      const std::size_t next = pc + 1;
      if ((first_[next] & set_classes_[in.cls]).any()) continue;
      if (nullable_[next] && !empty_path_without_look(next, pure, 0)) continue;
      in.greed = regex_detail::Greed::kPossessive;
    }
  }
  // Whether from pc a kMatch is reachable without consuming and without a
  // look-ahead or atomic group on the way (conservatively false).
  bool empty_path_without_look(std::size_t pc, std::vector<std::uint8_t>& memo, int depth) const {
    if (memo[pc] != 2) return memo[pc] == 1;
    if (depth > 64) return false;
    memo[pc] = 0;  // cycles: no
    const Inst& in = prog_[pc];
    bool r = false;
    switch (in.op) {
      case kMatch: r = true; break;
      case kJump: r = empty_path_without_look(static_cast<std::size_t>(in.x), memo, depth + 1); break;
      case kSplit:
        r = empty_path_without_look(static_cast<std::size_t>(in.x), memo, depth + 1) ||
            empty_path_without_look(static_cast<std::size_t>(in.y), memo, depth + 1);
        break;
      case kCharRepeat: r = in.min == 0 && empty_path_without_look(pc + 1, memo, depth + 1); break;
      default: r = false;
    }
    memo[pc] = r ? 1 : 0;
    return r;
  }

  // --- matching ---------------------------------------------------------------

  static constexpr std::uint8_t kRetry = 0, kGreedyBack = 1, kLazyMore = 2;

  [[gnu::always_inline]] bool in_class(const Inst& in, std::string_view t, std::size_t p, std::uint32_t& len) const {
    if (p >= t.size()) return false;
    const auto b = static_cast<std::uint8_t>(t[p]);
    if (b < 0x80) {
      len = 1;
      return ((in.ascii[b >> 6] >> (b & 63)) & 1) != 0;
    }
    return set_classes_[in.cls][class_at(t, p, len)];
  }

  // Moves pos over up to `max` characters of the set of `in` (kChar or
  // kCharRepeat); returns how many. The loop of every run such as \p{L}+,
  // where most of the matching time goes: ASCII bytes are tested against
  // the instruction's own mask, in registers.
  [[gnu::always_inline]] std::uint32_t span(const Inst& in, std::string_view t, std::size_t& pos, std::uint32_t max) const {
    const std::uint64_t lo = in.ascii[0], hi = in.ascii[1];
    const ClassBits& set = set_classes_[in.cls];
    const char* const data = t.data();
    const std::size_t n = t.size();
    std::size_t p = pos;
    std::uint32_t count = 0;
    while (count < max && p < n) {
      const auto b = static_cast<std::uint8_t>(data[p]);
      if (b < 0x80) {
        if ((((b < 64 ? lo : hi) >> (b & 63)) & 1) == 0) break;
        ++p;
      } else {
        std::uint32_t len;
        if (!set[class_at(t, p, len)]) break;
        p += len;
      }
      ++count;
    }
    pos = p;
    return count;
  }

  // Which branches of the split `in` may match at pos: bit 0 x, bit 1 y.
  // split_tables_ has them per class of the character at pos (index 0: the
  // end of the text); when both may, split_follow_ looks at the character
  // after it.
  [[gnu::always_inline]] std::uint8_t branches(const Inst& in, std::string_view t, std::size_t pos) const {
    const auto& table = split_tables_[static_cast<std::size_t>(in.table)];
    if (pos >= t.size()) return table[0];
    std::uint32_t len;
    const std::uint8_t c0 = class_at(t, pos, len);
    const std::uint8_t ok = table[1 + std::size_t{c0}];
    if (ok != 3 || in.follow < 0) return ok;
    const std::size_t next = pos + len;
    std::size_t c1 = kEndClass;
    if (next < t.size()) c1 = class_at(t, next, len);
    const SplitFollow& f = split_follow_[static_cast<std::size_t>(in.follow) + c0];
    return static_cast<std::uint8_t>((f.x[c1] ? 1 : 0) | (f.y[c1] ? 2 : 0));
  }

  [[noreturn, gnu::noinline]] void budget_exhausted() const {
    throw Error("regex: more than " + std::to_string(kBudgetBase) + " + " + std::to_string(kBudgetPerByte) +
                " per byte backtracking steps (pattern " + pattern_ + ")");
  }

  // Runs the program from pc at pos; true with `end` set if it reaches kMatch.
  bool run(std::string_view t, std::int32_t pc, std::size_t pos, std::size_t& end, Scratch& s, int depth) const {
    if (depth > 64) throw Error("regex: look-ahead and atomic groups nested too deeply");
    const std::size_t base = s.size;
    const auto push = [&](std::int32_t p, std::uint8_t kind, std::size_t at, std::uint32_t aux) {
      s.push({p, kind, static_cast<std::uint32_t>(at), aux});
    };
    for (;;) {
      const Inst& in = prog_[static_cast<std::size_t>(pc)];
      switch (in.op) {
        case kChar: {
          std::uint32_t len;
          if (in_class(in, t, pos, len)) {
            pos += len;
            ++pc;
            continue;
          }
          goto fail;
        }
        case kCharRepeat: {
          std::uint32_t count = 0;
          if (in.greed == regex_detail::Greed::kPossessive) {
            count = span(in, t, pos, in.max);
            if (count < in.min) goto fail;
            ++pc;
            continue;
          }
          if (in.greed == regex_detail::Greed::kLazy) {
            count = span(in, t, pos, in.min);
            if (count < in.min) goto fail;
            if (count < in.max) push(pc, kLazyMore, pos, count);
            ++pc;
            continue;
          }
          count = span(in, t, pos, in.min);
          if (count < in.min) goto fail;
          const std::size_t min_pos = pos;
          if (span(in, t, pos, in.max - in.min) > 0) push(pc, kGreedyBack, pos, static_cast<std::uint32_t>(min_pos));
          ++pc;
          continue;
        }
        case kSplit: {
          const std::uint8_t ok = branches(in, t, pos);
          if (ok & 1) {
            if (ok & 2) push(in.y, kRetry, pos, 0);
            pc = in.x;
            continue;
          }
          if (ok & 2) {
            pc = in.y;
            continue;
          }
          goto fail;
        }
        case kJump:
          pc = in.x;
          continue;
        case kAssert: {
          std::uint32_t len;
          if (in_class(in, t, pos, len) != in.negate) {
            ++pc;
            continue;
          }
          goto fail;
        }
        case kLookAhead: {
          std::size_t e;
          const bool ok = run(t, in.x, pos, e, s, depth + 1);
          if (ok != in.negate) {
            ++pc;
            continue;
          }
          goto fail;
        }
        case kAtomic: {
          std::size_t e;
          if (run(t, in.x, pos, e, s, depth + 1)) {
            pos = e;
            ++pc;
            continue;
          }
          goto fail;
        }
        case kMatch:
          end = pos;
          s.size = base;
          return true;
      }
    fail:
      for (;;) {
        if (s.budget-- == 0) budget_exhausted();
        if (s.size == base) return false;
        const Frame f = s.frames[--s.size];
        if (f.kind == kRetry) {
          pc = f.pc;
          pos = f.pos;
          break;
        }
        const Inst& r = prog_[static_cast<std::size_t>(f.pc)];
        if (f.kind == kGreedyBack) {
          // One character back; when what follows cannot match empty, on
          // back to a character it can start with (e.g. \s*[\r\n]+ goes
          // straight to the run's last newline).
          // With a one-character look-ahead next (\s+(?!\S)), on back to
          // a character that passes it.
          const auto next = static_cast<std::size_t>(f.pc) + 1;
          const Inst& after = prog_[next];
          const bool filter = !nullable_[next], assert_next = after.op == kAssert;
          std::size_t p = f.pos;
          bool found = true;
          for (;;) {
            do --p;
            while ((static_cast<std::uint8_t>(t[p]) & 0xC0) == 0x80);
            std::uint32_t len;
            if (assert_next ? in_class(after, t, p, len) != after.negate : !filter || first_[next][class_at(t, p, len)]) break;
            if (p <= f.aux) {
              found = false;
              break;
            }
          }
          if (!found) continue;
          if (p > f.aux) push(f.pc, kGreedyBack, p, f.aux);
          pos = p;
          pc = f.pc + 1;
          break;
        }
        // kLazyMore: one more character, if it is in the class.
        std::uint32_t len;
        if (!in_class(r, t, f.pos, len)) continue;
        pos = f.pos + len;
        const std::uint32_t count = f.aux + 1;
        if (count < r.max) push(f.pc, kLazyMore, pos, count);
        pc = f.pc + 1;
        break;
      }
    }
  }

  struct ClassRange {
    std::uint32_t first, last;
    std::uint8_t cls;
  };

  std::string pattern_;
  std::vector<Inst> prog_;
  std::vector<ClassBits> set_classes_;      // per set of the pattern: its classes
  std::array<std::uint8_t, 128> ascii_class_{};
  std::vector<ClassRange> ranges_;          // classes of code points >= 128, coalesced
  std::vector<std::uint16_t> page_of_;      // code point >> 8 -> page
  std::vector<std::uint8_t> pages_;         // 256 classes per page
  std::vector<ClassBits> first_;            // per instruction
  std::vector<std::uint8_t> nullable_;      // per instruction: bool
  std::vector<std::array<std::uint8_t, 257>> split_tables_;  // see kSplit
  std::array<std::int32_t, 257> entry_{};   // see compute_first_sets
  std::array<std::int32_t, 128> entry_ascii_{};  // entry_ of each ASCII byte's class
  struct SplitFollow {
    ClassBits x, y;  // see build_split_follow
  };
  std::vector<SplitFollow> split_follow_;   // per split with follow >= 0: n_classes_ entries
  struct EntryPair {
    std::int32_t pc = -1, retry = -1;  // see build_entry_pairs
    bool skip = false;                 // pc is after the first character
  };
  std::vector<EntryPair> entry_pairs_;      // [first class * (n_classes_ + 1) + second class or n_classes_]
  std::size_t n_classes_ = 0;
};

}  // namespace urm::detail
