// The programs against hostile inputs and environments (issue 10): every
// line answered, the other lines of a batch still scored, exit status 1 when
// a line failed and 2 on a fatal error, the cause named exactly, and never a
// crash, a hang or output lost in silence.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/llama3_tokenizers.hpp"
#include "support/run_program.hpp"

namespace fs = std::filesystem;
using urm::test::program_path;
using urm::test::ProgramRun;
using urm::test::run_shell;
using urm::test::TempDir;
using urm::test::write_file;

namespace {

const std::string kTinyModel = std::string(URM_TEST_DATA_DIR) + "/models/tiny-urm-llama3";
const std::string kDemoModel = std::string(URM_CACHE_DIR) + "/demo-model";

// Two scorable lines around whatever a test puts between them.
const std::string kGood1 = R"({"input_ids": [128000, 9906, 1917]})";
const std::string kGood2 = R"({"input_ids": [128000, 128006, 882]})";

std::string score_command(const std::string& args) { return program_path("urm-score") + " --model " + kTinyModel + " " + args; }

bool is_score(const std::string& line) { return line.rfind("{\"reward\":", 0) == 0; }

// The three lines out for kGood1, `middle`, kGood2: two scores around `middle_error`.
void check_batch(const ProgramRun& r, const std::string& middle_error) {
  const auto lines = r.out_lines();
  REQUIRE(lines.size() == 3);
  CHECK(is_score(lines[0]));
  CHECK(lines[1] == nlohmann::json{{"error", middle_error}}.dump());
  CHECK(is_score(lines[2]));
  CHECK(r.status == 1);
}

// A folder with the demo model's tokenizer files, for tokenizer-side damage.
fs::path tokenizer_folder(const TempDir& dir) {
  const fs::path tok = dir.path() / "tok";
  fs::create_directories(tok);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    fs::create_symlink(fs::canonical(fs::path(kDemoModel) / f), tok / f);
  return tok;
}

}  // namespace

TEST_CASE("row 1: a line nested 100,000 deep gets its error; the batch goes on") {
  const TempDir dir("hostile-deep");
  const std::string deep = R"({"input_ids": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  write_file(dir.file("in"), kGood1 + "\n" + deep + "\n" + kGood2 + "\n");
  const ProgramRun r = run_shell(score_command("--input " + dir.file("in")));
  check_batch(r, "line 2: input_ids[0]: expected a 32-bit integer, got an array");
  CHECK(r.err == "urm-score: 1 of 3 lines failed\n");
}

TEST_CASE("row 2: --input a pipe or a FIFO: every line is read (counting for the progress bar consumed them)") {
  const TempDir dir("hostile-pipe");
  write_file(dir.file("in"), kGood1 + "\n" + kGood2 + "\n");
  ProgramRun r = run_shell("cat " + dir.file("in") + " | " + score_command("--input /dev/stdin"));
  CHECK(r.status == 0);
  REQUIRE(r.out_lines().size() == 2);
  CHECK(is_score(r.out_lines()[1]));
  r = run_shell(score_command("--input /dev/stdin < " + dir.file("in")));  // a regular file through /dev/stdin
  CHECK(r.status == 0);
  CHECK(r.out_lines().size() == 2);
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  r = run_shell("cat " + dir.file("in") + " > " + fifo + " & " + score_command("--input " + fifo), 60);
  CHECK(r.status == 0);
  CHECK(r.out_lines().size() == 2);
}

TEST_CASE("row 2: on a terminal, the bar counts a regular file without consuming it, and a pipe not at all") {
  if (std::system("command -v script >/dev/null 2>&1") != 0) return;
  const TempDir dir("hostile-tty");
  write_file(dir.file("in"), kGood1 + "\n" + kGood2 + "\n" + kGood1 + "\n");
  const auto on_tty = [&](const std::string& cmd) {
    write_file(dir.file("cmd.sh"), cmd + " > " + dir.file("out") + "\n");
    return run_shell("script -qec 'sh " + dir.file("cmd.sh") + "' /dev/null");
  };
  ProgramRun r = on_tty("cat " + dir.file("in") + " | " + score_command("--input /dev/stdin"));
  CHECK(r.status == 0);
  CHECK(r.out.find("\r3 lines") != std::string::npos);  // no total: a pipe is not counted
  std::string out = urm::test::read_file(dir.file("out"));
  CHECK(std::count(out.begin(), out.end(), '\n') == 3);
  r = on_tty(score_command("--input " + dir.file("in")));
  CHECK(r.status == 0);
  CHECK(r.out.find("] 3/3") != std::string::npos);
  out = urm::test::read_file(dir.file("out"));
  CHECK(std::count(out.begin(), out.end(), '\n') == 3);
}

TEST_CASE("row 3: a full disk is a fatal error, not a silent loss") {
  const TempDir dir("hostile-full");
  write_file(dir.file("in"), kGood1 + "\n");
  ProgramRun r = run_shell(score_command("--input " + dir.file("in") + " --output /dev/full"));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: /dev/full: cannot write: No space left on device (0 lines answered before it)\n");
  r = run_shell(score_command("--input " + dir.file("in") + " > /dev/full"));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: standard output: cannot write: No space left on device (0 lines answered before it)\n");
  // Past the file size limit (a block or two: room for the message on
  // standard error, not for 10 results): EFBIG, not death by SIGXFSZ.
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += kGood1 + "\n";
  write_file(dir.file("ten"), ten);
  r = run_shell("ulimit -f 2; " + score_command("--input " + dir.file("ten") + " --output " + dir.file("out")));
  CHECK(r.status == 2);
  CHECK(r.err.rfind("urm-score: " + dir.file("out") + ": cannot write: File too large (", 0) == 0);
}

TEST_CASE("rows 5 and 10: a line over --max-line-bytes gets its error, the lines after it are scored") {
  const TempDir dir("hostile-long");
  std::string ids = R"({"input_ids": [1)";
  while (ids.size() < 1000) ids += ",1";
  ids += "]}";
  write_file(dir.file("in"), kGood1 + "\n" + ids + "\n" + kGood2 + "\n");
  ProgramRun r = run_shell(score_command("--max-line-bytes 500 --input " + dir.file("in")));
  check_batch(r, "line 2: longer than the cap of 500 bytes (--max-line-bytes)");
  // The default cap, 16 MiB (a 200 MB line of ids took several GB as a JSON tree).
  std::string big = R"({"input_ids": [1)";
  big.reserve((std::size_t{16} << 20) + 16);
  while (big.size() <= (std::size_t{16} << 20)) big += ",1";
  big += "]}";
  write_file(dir.file("big"), kGood1 + "\n" + big + "\n" + kGood2 + "\n");
  r = run_shell(score_command("--input " + dir.file("big")));
  check_batch(r, "line 2: longer than the cap of 16777216 bytes (--max-line-bytes)");
  r = run_shell(score_command("--max-line-bytes 0 --input " + dir.file("in")));
  CHECK(r.status == 2);
  CHECK(r.err.rfind("urm-score: --max-line-bytes expects a whole number from 1 to 1099511627776, got \"0\"\n", 0) == 0);
}

TEST_CASE("row 10: a read that fails is a fatal error, never the end of the input") {
  // Reading /proc/self/mem at offset 0 fails with EIO.
  const ProgramRun r = run_shell(score_command("--input /proc/self/mem"));
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "urm-score: /proc/self/mem: cannot read: Input/output error (0 lines answered before it)\n");
}

TEST_CASE("row 9: --threads is bounded, and a thread the system refuses is a clean fatal error") {
  ProgramRun r = run_shell(score_command("--threads 100000"));
  CHECK(r.status == 2);
  CHECK(r.err.rfind("urm-score: --threads expects a whole number from 1 to 1024, got \"100000\"\n", 0) == 0);
  // A 100 GB stack for every new thread: the system refuses the first one.
  const TempDir dir("hostile-threads");
  write_file(dir.file("in"), kGood1 + "\n");
  r = run_shell("ulimit -s 100000000 && " + score_command("--threads 4 --input " + dir.file("in")));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: ThreadPool: cannot start thread 2 of 4: Resource temporarily unavailable\n");
}

TEST_CASE("row 11: --output the same file as --input is refused before it is truncated") {
  const TempDir dir("hostile-same");
  const std::string in = dir.file("in");
  write_file(in, kGood1 + "\n");
  ProgramRun r = run_shell(score_command("--input " + in + " --output " + in));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: --output " + in + " is the same file as " + in +
                     ": writing it would truncate it before it is read\n");
  CHECK(urm::test::read_file(in) == kGood1 + "\n");
  fs::create_symlink(in, dir.path() / "link");
  r = run_shell(score_command("--input " + in + " --output " + dir.file("link")));
  CHECK(r.status == 2);
  CHECK(urm::test::read_file(in) == kGood1 + "\n");
  // Appending the results to the input would read them back as input.
  r = run_shell(score_command("--input " + in + " >> " + in));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: standard output is the same file as " + in + ": the results would be read back as input\n");
  r = run_shell(score_command("< " + in + " >> " + in));
  CHECK(r.status == 2);
  CHECK(r.err ==
        "urm-score: standard output is the same file as standard input: the results would be read back as input\n");
  CHECK(urm::test::read_file(in) == kGood1 + "\n");
}

TEST_CASE("row 12 and other unusable inputs and outputs: fatal errors naming the cause") {
  const TempDir dir("hostile-paths");
  ProgramRun r = run_shell(score_command("--input " + dir.path().string()));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: " + dir.path().string() + " is a directory, not JSON Lines\n");
  r = run_shell(score_command("< " + dir.path().string()));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: standard input is a directory, not JSON Lines\n");
  r = run_shell(score_command("--input " + dir.file("missing")));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: cannot open input " + dir.file("missing") + ": No such file or directory\n");
  fs::create_symlink(dir.path() / "loop", dir.path() / "loop");
  r = run_shell(score_command("--input " + dir.file("loop")));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: cannot open input " + dir.file("loop") + ": Too many levels of symbolic links\n");
  write_file(dir.file("in"), kGood1 + "\n");
  r = run_shell(score_command("--input " + dir.file("in") + " --output " + dir.path().string()));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: cannot open output " + dir.path().string() + ": Is a directory\n");
  // Empty input, and /dev/null: nothing to answer.
  write_file(dir.file("empty"), "");
  r = run_shell(score_command("--input " + dir.file("empty")));
  CHECK(r.status == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
  r = run_shell(score_command("--input /dev/null"));
  CHECK(r.status == 0);
  CHECK(r.out.empty());
  // A model that does not load is fatal too.
  r = run_shell(program_path("urm-score") + " --model " + dir.path().string() + " --input " + dir.file("in"));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: " + dir.path().string() + ": no model.safetensors or model.safetensors.index.json in the folder\n");
}

TEST_CASE("row 14: a raw NUL byte in a line is that line's error") {
  const TempDir dir("hostile-nul");
  write_file(dir.file("in"), kGood1 + "\n" + std::string("{\"input_ids\": [1]}\0junk", 22) + "\n" + kGood2 + "\n");
  const ProgramRun r = run_shell(score_command("--input " + dir.file("in")));
  check_batch(r, "line 2: invalid JSON: a NUL byte at byte 18");
}

TEST_CASE("row 17: errors blame the right cause, in urm-score's own words") {
  const TempDir dir("hostile-cause");
  // A million messages: the conversation, not the chat template, is what is too large.
  std::string many = R"({"messages": [)";
  for (int i = 0; i < 1'000'000; ++i) many += i ? R"(,{"role":"user","content":"a"})" : R"({"role":"user","content":"a"})";
  many += "]}";
  write_file(dir.file("in"), kGood1 + "\n" + many + "\n" + kGood2 + "\n");
  ProgramRun r = run_shell(program_path("urm-score") + " --max-line-bytes 40000000 --input " + dir.file("in"));
  REQUIRE(r.out_lines().size() == 3);
  CHECK(r.out_lines()[1] == nlohmann::json{{"error", "line 2: conversation has 1000000 messages, more than the maximum "
                                                     "of 8192 tokens (every message takes at least one)"}}
                                .dump());
  CHECK(r.status == 1);
  // A directory where tokenizer_config.json should be.
  const fs::path tok = tokenizer_folder(dir);
  fs::remove(tok / "tokenizer_config.json");
  fs::create_directory(tok / "tokenizer_config.json");
  r = run_shell(score_command("--tokenizer-dir " + tok.string() + " --input " + dir.file("in")));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: " + (tok / "tokenizer_config.json").string() + ": not a regular file (a directory)\n");
  // The options are named as urm-score spells them.
  write_file(dir.file("msg"), R"({"messages": [{"role": "user", "content": "hi"}]})" "\n");
  r = run_shell(score_command("--input " + dir.file("msg")));
  CHECK(r.out == "{\"error\":\"line 1: " + kTinyModel +
                     ": no tokenizer.json in the model folder (scoring a conversation needs tokenizer.json and "
                     "tokenizer_config.json: set --tokenizer-dir)\"}\n");
  r = run_shell(score_command("--max-tokens 2 --input " + dir.file("in")));
  CHECK(r.out_lines()[0] == R"j({"error":"line 1: input has 3 tokens, more than the maximum of 2 (choose --truncate-left to keep the last 2 tokens)"})j");
  r = run_shell(score_command("--max-tokens 9000 --input " + dir.file("in")));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: " + kTinyModel + ": --max-tokens 9000 is more than the model's max_position_embeddings (8192)\n");
}

#if defined(__SANITIZE_ADDRESS__)
const std::string kAddressLimit;
#else
const std::string kAddressLimit = "ulimit -v 4000000; ";
#endif

TEST_CASE("row 8: a FIFO or /dev/zero as a tokenizer file is an error at once, not a hang") {
  const TempDir dir("hostile-fifo");
  write_file(dir.file("in"), kGood1 + "\n");
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    CAPTURE(name);
    const TempDir sub(std::string("hostile-fifo-") + name);
    const fs::path tok = tokenizer_folder(sub);
    fs::remove(tok / name);
    REQUIRE(::mkfifo((tok / name).c_str(), 0600) == 0);
    ProgramRun r = run_shell(score_command("--tokenizer-dir " + tok.string() + " --input " + dir.file("in")), 60);
    CHECK(r.status == 2);  // not 124: it did not wait for a writer
    CHECK(r.err == "urm-score: " + (tok / name).string() + ": not a regular file (a FIFO or pipe)\n");
    fs::remove(tok / name);
    fs::create_symlink("/dev/zero", tok / name);
    // (ulimit: before, tokenizer_config.json was read from /dev/zero until
    // memory ran out. Not under AddressSanitizer, whose shadow memory alone
    // reserves terabytes of address space.)
    r = run_shell(kAddressLimit + score_command("--tokenizer-dir " + tok.string() + " --input " + dir.file("in")), 60);
    CHECK(r.status == 2);
    CHECK(r.err == "urm-score: " + (tok / name).string() + ": not a regular file (a character device)\n");
  }
}

TEST_CASE("row 8: a FIFO as a shard or config.json: urm-inspect does not wait for a writer") {
  const TempDir dir("hostile-fifo-model");
  for (const char* f : {"config.json", "model-00001-of-00002.safetensors", "model.safetensors.index.json"})
    fs::create_symlink(fs::path(kTinyModel) / f, dir.path() / f);
  REQUIRE(::mkfifo(dir.file("model-00002-of-00002.safetensors").c_str(), 0600) == 0);
  ProgramRun r = run_shell(program_path("urm-inspect") + " " + dir.path().string(), 60);
  CHECK(r.status == 1);
  CHECK(r.err == "error: " + dir.file("model-00002-of-00002.safetensors") + ": not a regular file (a FIFO or pipe)\n");
  fs::remove(dir.path() / "model-00002-of-00002.safetensors");
  fs::create_symlink(fs::path(kTinyModel) / "model-00002-of-00002.safetensors", dir.path() / "model-00002-of-00002.safetensors");
  fs::remove(dir.path() / "config.json");
  REQUIRE(::mkfifo(dir.file("config.json").c_str(), 0600) == 0);
  r = run_shell(program_path("urm-inspect") + " " + dir.path().string(), 60);
  CHECK(r.status == 1);
  CHECK(r.err == "error: " + dir.file("config.json") + ": not a regular file (a FIFO or pipe)\n");
}

TEST_CASE("urm-inspect: a folder that is not one is named before its config.json") {
  ProgramRun r = run_shell(program_path("urm-inspect") + " " + kTinyModel + "/config.json");
  CHECK(r.status == 1);
  CHECK(r.err == "error: " + kTinyModel + "/config.json: not a checkpoint folder (not a directory)\n");
  const TempDir dir("hostile-loop-folder");
  fs::create_symlink(dir.path() / "loop", dir.path() / "loop");
  r = run_shell(program_path("urm-inspect") + " " + dir.file("loop"));
  CHECK(r.status == 1);
  CHECK(r.err == "error: " + dir.file("loop") + ": cannot open: Too many levels of symbolic links\n");
}

TEST_CASE("rows 14 and 15: NUL bytes in a model folder's files are errors, not the end of the file") {
  const TempDir dir("hostile-nul-model");
  const auto copy_of_tiny = [&](const std::string& sub) {
    const fs::path d = dir.path() / sub;
    fs::create_directories(d);
    for (const auto& e : fs::directory_iterator(kTinyModel)) fs::copy_file(e.path(), d / e.path().filename());
    return d;
  };
  const auto inspect = [](const fs::path& d) { return run_shell(program_path("urm-inspect") + " " + d.string(), 60); };
  // config.json with a NUL and junk after it.
  fs::path d = copy_of_tiny("config");
  const std::string config = urm::test::read_file((d / "config.json").string());
  write_file((d / "config.json").string(), config + std::string("\0junk", 5));
  ProgramRun r = inspect(d);
  CHECK(r.status == 1);
  CHECK(r.err == "error: " + (d / "config.json").string() + ": not valid JSON: a NUL byte at byte " +
                     std::to_string(config.size()) + "\n");
  // A safetensors header padded with NUL bytes instead of spaces.
  d = copy_of_tiny("header");
  const std::string shard = (d / "model-00002-of-00002.safetensors").string();
  std::string bytes = urm::test::read_file(shard);
  const std::size_t n = static_cast<unsigned char>(bytes[0]) | static_cast<std::size_t>(static_cast<unsigned char>(bytes[1])) << 8;
  REQUIRE(bytes[8 + n - 1] == ' ');  // the writer pads the header with spaces
  bytes[8 + n - 1] = '\0';
  write_file(shard, bytes);
  r = inspect(d);
  CHECK(r.status == 1);
  CHECK(r.err == "error: " + shard + ": header is not valid JSON: a NUL byte at byte " + std::to_string(n - 1) + "\n");
  // A shard named "<shard>\u0000junk" in the index: cut at the NUL it would open the real shard.
  d = copy_of_tiny("index");
  nlohmann::json index = nlohmann::json::parse(urm::test::read_file((d / "model.safetensors.index.json").string()));
  index["weight_map"]["score.weight"] = "model-00002-of-00002.safetensors" + std::string(1, '\0') + "junk";
  write_file((d / "model.safetensors.index.json").string(), index.dump());
  r = inspect(d);
  CHECK(r.status == 1);
  CHECK(r.err == "error: " + (d / "model.safetensors.index.json").string() +
                     ": weight_map[\"score.weight\"]: \"model-00002-of-00002.safetensors\\u0000junk\" is not a file "
                     "name in the checkpoint folder\n");
  // tokenizer.json with a NUL: urm-tokenize refuses it.
  const fs::path tok = tokenizer_folder(dir);
  const std::string tok_json = urm::test::read_file((tok / "tokenizer.json").string());
  fs::remove(tok / "tokenizer.json");
  write_file((tok / "tokenizer.json").string(), tok_json + std::string("\0", 1));
  r = run_shell(program_path("urm-tokenize") + " --tokenizer " + (tok / "tokenizer.json").string(), 60);
  CHECK(r.status == 2);
  CHECK(r.err == "urm-tokenize: " + (tok / "tokenizer.json").string() + ": invalid JSON: a NUL byte at byte " +
                     std::to_string(tok_json.size()) + "\n");
}

TEST_CASE("row 20 and closed descriptors: a closed standard input or output is fatal; a closed stderr is harmless") {
  const TempDir dir("hostile-closed");
  write_file(dir.file("in"), kGood1 + "\nnot json\n");
  ProgramRun r = run_shell(score_command("<&-"));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: standard input is closed\n");
  r = run_shell(score_command("--input " + dir.file("in") + " >&-"));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-score: standard output is closed\n");
  r = run_shell(score_command("--input " + dir.file("in") + " --output " + dir.file("out") + " 2>&-"));
  CHECK(r.status == 1);  // line 2 failed; nothing to tell it on, but the status says so
  const std::string out = urm::test::read_file(dir.file("out"));
  CHECK(out.rfind("{\"reward\":", 0) == 0);
  CHECK(out.find("{\"error\":\"line 2: invalid JSON") != std::string::npos);
  CHECK(out.find("lines failed") == std::string::npos);  // stderr's text did not land in the output
}

TEST_CASE("a reader that closes the pipe (| head -1): what it read is whole, urm-score stops with status 2") {
  const TempDir dir("hostile-sigpipe");
  std::string in;
  for (int i = 0; i < 3000; ++i) in += kGood1 + "\n";  // more output than a pipe holds
  write_file(dir.file("in"), in);
  const ProgramRun r = run_shell("{ " + score_command("--input " + dir.file("in")) + "; echo \"status $?\" >&2; } | head -n 1");
  REQUIRE(r.out_lines().size() == 1);
  CHECK(is_score(r.out_lines()[0]));
  CHECK(nlohmann::json::parse(r.out_lines()[0]).contains("n_tokens"));  // the line is whole
  CHECK(r.err.rfind("urm-score: standard output: cannot write: Broken pipe (", 0) == 0);
  CHECK(r.err.find(" lines answered before it)\nstatus 2\n") != std::string::npos);
}

TEST_CASE("urm-tokenize: the same guarantees") {
  urm::test::require_llama3_tokenizer();
  const std::string tok = program_path("urm-tokenize") + " --tokenizer " + urm::test::llama3_tokenizer_path();
  const TempDir dir("hostile-tokenize");
  write_file(dir.file("in"), "\"Hi\"\n" + std::string("\"Hi\"\0junk", 9) + "\n\"" + std::string(600, 'a') + "\"\n\"Hi\"\n");
  ProgramRun r = run_shell(tok + " --max-line-bytes 500 < " + dir.file("in"));
  CHECK(r.status == 1);
  CHECK(r.out ==
        "[13347]\n"
        "{\"error\":\"line 2: not valid JSON: a NUL byte at byte 4\"}\n"
        "{\"error\":\"line 3: longer than the cap of 500 bytes (--max-line-bytes)\"}\n"
        "[13347]\n");
  r = run_shell(tok + " < " + dir.file("in") + " > /dev/full");
  CHECK(r.status == 2);
  CHECK(r.err == "urm-tokenize: standard output: cannot write: No space left on device (0 lines answered before it)\n");
  r = run_shell(tok + " <&-");
  CHECK(r.status == 2);
  CHECK(r.err == "urm-tokenize: standard input is closed\n");
  const std::string fifo = dir.file("tokenizer.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  r = run_shell(program_path("urm-tokenize") + " --tokenizer " + fifo + " < " + dir.file("in"));
  CHECK(r.status == 2);
  CHECK(r.err == "urm-tokenize: " + fifo + ": not a regular file (a FIFO or pipe)\n");
}

TEST_CASE("urm-inspect: output that cannot be written and bad arguments exit 2") {
  ProgramRun r = run_shell(program_path("urm-inspect") + " " + kTinyModel + " > /dev/full");
  CHECK(r.status == 2);
  CHECK(r.err == "error: cannot write standard output: No space left on device\n");
  r = run_shell(program_path("urm-inspect") + " " + kTinyModel + " >&-");
  CHECK(r.status == 2);
  CHECK(r.err == "error: standard output is closed\n");
  r = run_shell(program_path("urm-inspect") + " --frobnicate");
  CHECK(r.status == 2);
}
