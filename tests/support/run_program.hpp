// Runs one of the repository's command-line programs (built into URM_BIN_DIR)
// as a user does: arguments through the shell, stdin from a file, stdout and
// stderr captured.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/io_files.hpp"

namespace urm::test {

struct ProgramRun {
  int status = -1;  // exit status; -1 if the program did not exit normally (a signal)
  std::string out, err;

  // stdout cut into lines (without their '\n').
  std::vector<std::string> out_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

// `program args < stdin_text > out 2> err`; without stdin_text the program's
// stdin is /dev/null.
inline ProgramRun run_program(const std::string& program, const std::string& args,
                              const std::optional<std::string>& stdin_text = std::nullopt) {
  const TempDir tmp("run-" + program);
  std::string in = "/dev/null";
  if (stdin_text) {
    in = tmp.file("in");
    write_file(in, *stdin_text);
  }
  const std::string cmd = std::string(URM_BIN_DIR) + "/" + program + " " + args + " <" + in + " >" + tmp.file("out") +
                          " 2>" + tmp.file("err");
  const int raw = std::system(cmd.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_file(tmp.file("out")), read_file(tmp.file("err"))};
}

// The path of one of the repository's programs.
inline std::string program_path(const std::string& program) { return std::string(URM_BIN_DIR) + "/" + program; }

// `sh -c command`, its stdout and stderr captured: for what a plain run
// cannot set up (pipes, FIFOs, closed descriptors, limits). The command's
// own redirections of descriptors 1 and 2 win over the capture. A command
// still running after `timeout_seconds` is killed (status 124): a program
// that hangs fails its test instead of stopping the suite.
inline ProgramRun run_shell(const std::string& command, int timeout_seconds = 300) {
  const TempDir tmp("shell");
  write_file(tmp.file("cmd.sh"), command + "\n");
  const std::string cmd = "timeout " + std::to_string(timeout_seconds) + " sh " + tmp.file("cmd.sh") + " >" +
                          tmp.file("out") + " 2>" + tmp.file("err") + " </dev/null";
  const int raw = std::system(cmd.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_file(tmp.file("out")), read_file(tmp.file("err"))};
}

}  // namespace urm::test
