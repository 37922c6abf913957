#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "support/io_files.hpp"
#include "urm/io/safetensors.hpp"

using urm::test::kModels;
using urm::test::safetensors_bytes;

namespace {

// --- an independent reference reader --------------------------------------
// Reads one element straight from the file with seekg and decodes it with
// textbook formulas (not urm's dtype code), to check what the views expose.
struct RefFile {
  std::string path;
  std::uint64_t data_start = 0;
  nlohmann::json header;

  explicit RefFile(std::string p) : path(std::move(p)) {
    std::ifstream in(path, std::ios::binary);
    unsigned char len[8];
    in.read(reinterpret_cast<char*>(len), 8);
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n += std::uint64_t{len[i]} << (8 * i);
    std::string text(n, '\0');
    in.read(text.data(), static_cast<std::streamsize>(n));
    header = nlohmann::json::parse(text);
    data_start = 8 + n;
  }

  double element(const std::string& name, std::uint64_t i) const {
    const auto& t = header.at(name);
    const std::string dtype = t.at("dtype");
    const std::uint64_t width = dtype == "F32" ? 4 : dtype == "I8" || dtype == "U8" ? 1 : 2;
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(data_start + t.at("data_offsets")[0].get<std::uint64_t>() + i * width));
    unsigned char b[4] = {0, 0, 0, 0};
    in.read(reinterpret_cast<char*>(b), static_cast<std::streamsize>(width));
    const std::uint32_t u16 = b[0] | (b[1] << 8);
    if (dtype == "F16") {  // (-1)^s · 2^(e-15) · (1 + m/1024), subnormals 2^-14 · m/1024
      const int s = (u16 >> 15) & 1, e = (u16 >> 10) & 31, m = u16 & 1023;
      const double mag = e == 0 ? std::ldexp(m / 1024.0, -14) : std::ldexp(1 + m / 1024.0, e - 15);
      return s ? -mag : mag;
    }
    if (dtype == "BF16") {  // (-1)^s · 2^(e-127) · (1 + m/128)
      const int s = (u16 >> 15) & 1, e = (u16 >> 7) & 255, m = u16 & 127;
      const double mag = e == 0 ? std::ldexp(m / 128.0, -126) : std::ldexp(1 + m / 128.0, e - 127);
      return s ? -mag : mag;
    }
    if (dtype == "F32") {
      float f;
      std::memcpy(&f, b, 4);  // the test host is little-endian like the file
      return f;
    }
    return dtype == "I8" ? static_cast<std::int8_t>(b[0]) : b[0];
  }
};

// Builds a file from a header string and `data_size` bytes 0, 1, 2, ...
std::string file_with(const std::string& header, std::size_t data_size) {
  std::string data(data_size, '\0');
  for (std::size_t i = 0; i < data_size; ++i) data[i] = static_cast<char>(i);
  return safetensors_bytes(header, data);
}

urm::SafetensorsHeader parse(const std::string& bytes, const std::string& path = "t.safetensors") {
  return urm::parse_safetensors_header(std::as_bytes(std::span(bytes.data(), bytes.size())), path);
}

}  // namespace

TEST_CASE("every fixture safetensors file loads and its views match an independent reader") {
  for (const char* rel :
       {"tiny-urm-llama3/model-00001-of-00002.safetensors", "tiny-urm-llama3/model-00002-of-00002.safetensors",
        "small-gqa-bf16/model.safetensors", "small-urm31-gated/model.safetensors"}) {
    CAPTURE(rel);
    const std::string path = (kModels / rel).string();
    const auto f = urm::SafetensorsFile::open(path);
    const RefFile ref(path);
    CHECK(f.path() == path);
    CHECK(f.metadata() == std::map<std::string, std::string>{{"format", "pt"}});
    REQUIRE(f.tensors().size() + 1 == ref.header.size());  // + __metadata__
    for (std::size_t k = 0; k < f.tensors().size(); ++k) {
      const auto& t = f.tensors()[k];
      CAPTURE(t.name);
      if (k > 0) CHECK(f.tensors()[k - 1].name < t.name);  // sorted by name
      const auto& info = ref.header.at(t.name);
      CHECK(urm::dtype_name(t.dtype) == info.at("dtype").get<std::string>());
      CHECK(t.shape == info.at("shape").get<std::vector<std::int64_t>>());
      CHECK(t.nbytes == static_cast<std::size_t>(t.numel()) * urm::dtype_size(t.dtype));
      CHECK(f.find(t.name) == &t);
      const auto last = static_cast<std::uint64_t>(t.numel() - 1);
      CHECK(t.get_f32(0) == ref.element(t.name, 0));
      CHECK(t.get_f32(last) == ref.element(t.name, last));
      CHECK(t.get_f32(last / 2) == ref.element(t.name, last / 2));
    }
    CHECK(f.find("lm_head.weight") == nullptr);
    CHECK(f.find("") == nullptr);
  }
}

TEST_CASE("a hand-built file: views point at the right bytes, metadata and padding are tolerated") {
  const urm::test::TempDir dir("hand-built");
  const std::string path = dir.file("x.safetensors");
  // Header padded with spaces (the format allows it, to align the data area).
  const std::string header = R"({"__metadata__":{"format":"pt","note":"hi"},)"
                             R"("b":{"dtype":"U8","shape":[2,3],"data_offsets":[4,10]},)"
                             R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                             R"("empty":{"dtype":"BF16","shape":[0,7],"data_offsets":[10,10]},)"
                             R"("i":{"dtype":"I8","shape":[2],"data_offsets":[10,12]}}    )";
  std::string data = {'\x00', '\x00', '\xc0', '\x3f', 1, 2, 3, 4, 5, 6, '\xff', '\x7f'};
  urm::test::write_file(path, safetensors_bytes(header, data));
  const auto f = urm::SafetensorsFile::open(path);
  CHECK(f.metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"note", "hi"}});
  REQUIRE(f.tensors().size() == 4);
  const auto* a = f.find("a");
  REQUIRE(a != nullptr);
  CHECK(a->shape.empty());
  CHECK(a->numel() == 1);
  CHECK(a->get_f32(0) == 1.5f);
  const auto* b = f.find("b");
  REQUIRE(b != nullptr);
  CHECK(b->data == a->data + 4);
  CHECK(b->nbytes == 6);
  CHECK(b->get_f32(5) == 6.0f);
  const auto* empty = f.find("empty");
  REQUIRE(empty != nullptr);
  CHECK(empty->nbytes == 0);
  CHECK(empty->numel() == 0);
  const auto* i = f.find("i");
  REQUIRE(i != nullptr);
  CHECK(i->get_f32(0) == -1.0f);
  CHECK(i->get_f32(1) == 127.0f);

  // Moving the file keeps the views valid (they point into the same map).
  const std::byte* before = f.find("b")->data;
  auto moved = std::move(const_cast<urm::SafetensorsFile&>(f));
  CHECK(moved.find("b")->data == before);
}

TEST_CASE("an empty header and an empty data area are a valid file with no tensors") {
  const auto h = parse(safetensors_bytes("{}", ""));
  CHECK(h.entries.empty());
  CHECK(h.metadata.empty());
  CHECK(h.data_start == 10);
}

TEST_CASE("corrupted safetensors files are rejected with exact messages") {
  const std::string ok_entry = R"("w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]})";
  struct Case {
    const char* what;
    std::string bytes;
    std::string message;  // after "t.safetensors: "
  };
  const std::vector<Case> cases = {
      {"empty file", "", "file is 0 bytes, too short for the 8-byte safetensors header length"},
      {"truncated header length", std::string("\x10\x00\x00", 3),
       "file is 3 bytes, too short for the 8-byte safetensors header length"},
      {"truncated header", urm::test::le64(100) + "{\"w\":", "header length 100 runs past the end of the file (13 bytes)"},
      {"header length larger than the file", urm::test::le64(~std::uint64_t{0}) + "{}",
       "header length 18446744073709551615 exceeds the cap of 100000000 bytes"},
      {"header length just above the cap", urm::test::le64(100'000'001) + "{}",
       "header length 100000001 exceeds the cap of 100000000 bytes"},
      {"invalid JSON", file_with(R"({"w": {"dtype": "F16",)", 0),
       "header is not valid JSON: [json.exception.parse_error.101] parse error at line 1, column 23: syntax error "
       "while parsing object key - unexpected end of input; expected string literal"},
      {"empty header", file_with("", 0),
       "header is not valid JSON: [json.exception.parse_error.101] parse error at line 1, column 1: syntax error "
       "while parsing value - unexpected end of input; expected '[', '{', or a literal"},
      {"header not an object", file_with("[1,2]", 0), "header: expected a JSON object"},
      {"duplicate tensor name", file_with("{" + ok_entry + "," + ok_entry + "}", 8), "header: duplicate key \"w\""},
      {"entry not an object", file_with(R"({"w":[1,2]})", 8),
       "tensor \"w\": expected an object with dtype, shape and data_offsets"},
      {"unknown dtype", file_with(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8),
       "tensor \"w\": unsupported dtype \"F64\" (expected F32, F16, BF16, I8 or U8)"},
      {"dtype not a string", file_with(R"({"w":{"dtype":2,"shape":[1],"data_offsets":[0,2]}})", 8),
       "tensor \"w\": dtype: expected a string"},
      {"missing shape", file_with(R"({"w":{"dtype":"F16","data_offsets":[0,2]}})", 8),
       "tensor \"w\": shape: expected an array of dimensions"},
      {"negative dimension", file_with(R"({"w":{"dtype":"F16","shape":[2,-1],"data_offsets":[0,8]}})", 8),
       "tensor \"w\": shape[1] is -1, expected a non-negative integer"},
      {"fractional dimension", file_with(R"({"w":{"dtype":"F16","shape":[2.5],"data_offsets":[0,8]}})", 8),
       "tensor \"w\": shape[0] is 2.5, expected a non-negative integer"},
      {"dimension beyond u64", file_with(R"({"w":{"dtype":"F16","shape":[1e30],"data_offsets":[0,8]}})", 8),
       "tensor \"w\": shape[0] is 1e+30, expected a non-negative integer"},
      {"dimension beyond i64",
       file_with(R"({"w":{"dtype":"F16","shape":[9223372036854775808],"data_offsets":[0,8]}})", 8),
       "tensor \"w\": shape[0] is 9223372036854775808, expected a non-negative integer"},
      {"huge dimensions whose byte size overflows",
       file_with(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
       "tensor \"w\": shape [4294967296, 4294967296] is too large (2^63 bytes or more)"},
      {"huge dimensions whose byte size wraps to the span",
       // 2^62 · 4 bytes wraps to 0 in 64 bits: must not pass as an empty tensor.
       file_with(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", 8),
       "tensor \"w\": shape [4611686018427387904] is too large (2^63 bytes or more)"},
      {"huge dimensions in an empty tensor",
       // numel() multiplies left to right: 2^32 · 2^32 would overflow before the 0.
       file_with(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", 8),
       "tensor \"w\": shape [4294967296, 4294967296, 0] is too large (2^63 bytes or more)"},
      {"byte size of 2^63", file_with(R"({"w":{"dtype":"F16","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8),
       "tensor \"w\": shape [4611686018427387904] is too large (2^63 bytes or more)"},
      {"shape/offset mismatch", file_with(R"({"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,8]}})", 8),
       "tensor \"w\": shape [2, 3] of BF16 is 12 bytes but data_offsets [0, 8] span 8 bytes"},
      {"offsets past the end", file_with(R"({"w":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]}})", 8),
       "tensor \"w\": data_offsets [0, 16] run past the end of the data area (8 bytes)"},
      {"offsets far past the end",
       file_with(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,18446744073709551615]}})", 8),
       "tensor \"w\": data_offsets [18446744073709551615, 18446744073709551615] run past the end of the data area "
       "(8 bytes)"},
      {"reversed offsets", file_with(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[4,2]}})", 8),
       "tensor \"w\": data_offsets [4, 2]: begin is after end"},
      {"negative offset", file_with(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[-2,0]}})", 8),
       "tensor \"w\": data_offsets: expected [begin, end] with non-negative integers"},
      {"three offsets", file_with(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2,4]}})", 8),
       "tensor \"w\": data_offsets: expected [begin, end] with non-negative integers"},
      {"overlapping tensors",
       file_with(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                 R"("b":{"dtype":"U8","shape":[4],"data_offsets":[3,7]}})",
                 8),
       "tensors \"a\" [0, 4] and \"b\" [3, 7] overlap"},
      {"identical tensors",
       file_with(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                 R"("b":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})",
                 8),
       "tensors \"a\" [0, 4] and \"b\" [0, 4] overlap"},
      {"one tensor inside another",
       file_with(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"U8","shape":[1],"data_offsets":[7,8]}})",
                 8),
       "tensors \"a\" [0, 8] and \"b\" [7, 8] overlap"},
      {"gap between tensors",
       file_with(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                 R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
                 8),
       "2 bytes between tensors \"a\" [0, 4] and \"b\" [6, 8] belong to no tensor"},
      {"data before the first tensor", file_with(R"({"a":{"dtype":"U8","shape":[6],"data_offsets":[2,8]}})", 8),
       "the data area begins with 2 bytes that belong to no tensor (the first, \"a\", starts at 2)"},
      {"bytes after the last tensor", file_with(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 8),
       "4 bytes at the end of the file belong to no tensor (the last, \"a\", ends at 4 of the 8-byte data area)"},
      {"data but no tensor", file_with(R"({})", 8),
       "8 bytes at the end of the file belong to no tensor (the header lists none)"},
      {"empty tensor inside another",
       file_with(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                 R"("e":{"dtype":"U8","shape":[0],"data_offsets":[3,3]}})",
                 8),
       "tensors \"a\" [0, 8] and \"e\" [3, 3] overlap"},
      {"metadata not an object", file_with(R"({"__metadata__":"pt"})", 0),
       "__metadata__: expected an object of strings"},
      {"metadata value not a string", file_with(R"({"__metadata__":{"format":1}})", 0),
       "__metadata__[\"format\"]: expected a string, got 1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK_THROWS_WITH_AS(parse(c.bytes), ("t.safetensors: " + c.message).c_str(), urm::Error);
  }
}

TEST_CASE("SafetensorsFile::open names the file for I/O errors and corrupted contents") {
  const urm::test::TempDir dir("open-errors");
  const std::string missing = dir.file("missing.safetensors");
  CHECK_THROWS_WITH_AS(urm::SafetensorsFile::open(missing),
                       (missing + ": cannot open: No such file or directory").c_str(), urm::Error);
  CHECK_THROWS_WITH_AS(urm::SafetensorsFile::open(dir.path().string()),
                       (dir.path().string() + ": not a regular file (a directory)").c_str(), urm::Error);
  const std::string bad = dir.file("bad.safetensors");
  urm::test::write_file(bad, file_with(R"({"w":{"dtype":"F16","shape":[8],"data_offsets":[0,16]}})", 4));
  CHECK_THROWS_WITH_AS(
      urm::SafetensorsFile::open(bad),
      (bad + ": tensor \"w\": data_offsets [0, 16] run past the end of the data area (4 bytes)").c_str(), urm::Error);
}
