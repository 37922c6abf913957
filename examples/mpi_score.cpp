// mpi_score — urm-score across machines with MPI: the same JSON Lines in and
// out (byte-identical to a single urm-score run), the lines shared out across
// the ranks.
//
//   mpirun -np R mpi_score [--model DIR] [--threads N] --input FILE [--output FILE|-]
//
// Rank 0 reads FILE and broadcasts it; rank r scores the non-blank lines
// k with k mod R = r (round-robin, so long and short lines spread evenly);
// rank 0 gathers the results and writes them in input order. Every rank loads
// the model once: the weights are memory-mapped, so ranks on one node share
// one copy through the page cache. Exit status 1 if any line failed (its
// output line is {"error": "line N: …"}), 2 on a fatal error, as urm-score.
//
// On a cluster (see README "Scale-out with MPI"): one rank per socket,
// --threads = cores per socket, e.g. for nodes with 2 sockets × 32 cores
//   mpirun --hostfile hosts --map-by ppr:1:socket --bind-to socket mpi_score --threads 32 ...
#include <mpi.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "urm/core/thread_pool.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/serve/score_json.hpp"

namespace {

constexpr const char* kUsage =
    "usage: mpirun -np R mpi_score [--model DIR] [--threads N] --input FILE [--output FILE|-]\n";

struct Args {
  std::string model = URM_DEMO_MODEL_DIR;
  urm::RewardModel::Options options;
  std::string input, output = "-";
};

// Parsed identically on every rank, so they all agree on success.
std::optional<Args> parse_args(int argc, char** argv, std::string& error) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (i + 1 >= argc) {
      error = f + " needs a value";
      return std::nullopt;
    }
    const std::string v = argv[++i];
    if (f == "--model") {
      a.model = v;
    } else if (f == "--threads") {
      char* end = nullptr;
      const unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || v[0] == '-' || n < 1 || n > urm::ThreadPool::kMaxThreads) {
        error = "--threads expects a whole number from 1 to " + std::to_string(urm::ThreadPool::kMaxThreads) +
                ", got \"" + v + "\"";
        return std::nullopt;
      }
      a.options.threads = n;
    } else if (f == "--input") {
      a.input = v;
    } else if (f == "--output") {
      a.output = v;
    } else {
      error = "unknown argument \"" + f + "\"";
      return std::nullopt;
    }
  }
  if (a.input.empty()) {
    error = "--input FILE is required";
    return std::nullopt;
  }
  return a;
}

// MPI counts are int: refuse what does not fit rather than truncate.
int checked_count(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX)) {
    std::cerr << "mpi_score: " << what << " is larger than 2 GiB; split the input\n";
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  return static_cast<int>(n);
}

// Rank 0's string on every rank.
std::string broadcast(std::string s) {
  unsigned long long n = s.size();
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  s.resize(n);
  MPI_Bcast(s.data(), checked_count(n, "the input"), MPI_CHAR, 0, MPI_COMM_WORLD);
  return s;
}

// Every rank's string, concatenated in rank order, on rank 0 (with their sizes).
std::string gather(const std::string& mine, int rank, int n_ranks, std::vector<int>& sizes) {
  const int n = checked_count(mine.size(), "one rank's results");
  sizes.assign(static_cast<std::size_t>(n_ranks), 0);
  MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(static_cast<std::size_t>(n_ranks), 0);
  std::size_t total = 0;
  for (int r = 0; r < n_ranks; ++r) {
    offsets[static_cast<std::size_t>(r)] = checked_count(total, "the results");
    total += static_cast<std::size_t>(sizes[static_cast<std::size_t>(r)]);
  }
  std::string all(rank == 0 ? total : 0, '\0');
  MPI_Gatherv(mine.data(), n, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  return all;
}

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, n_ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);

  std::string arg_error;
  const std::optional<Args> args = parse_args(argc, argv, arg_error);
  if (!args) {
    if (rank == 0) std::cerr << "mpi_score: " << arg_error << "\n\n" << kUsage;
    MPI_Finalize();
    return 2;
  }

  // Rank 0 reads the file (it need not be on a filesystem the others see).
  std::string text;
  int readable = 1;
  if (rank == 0) {
    std::ifstream f(args->input, std::ios::binary);
    std::ostringstream ss;
    if (f) ss << f.rdbuf();
    readable = f ? 1 : 0;
    text = ss.str();
  }
  MPI_Bcast(&readable, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!readable) {
    if (rank == 0) std::cerr << "mpi_score: cannot open input " << args->input << "\n";
    MPI_Finalize();
    return 2;
  }
  text = broadcast(std::move(text));

  // Every rank loads the model; if any cannot, all stop (rank 0 reports).
  std::optional<urm::RewardModel> rm;
  std::string load_error;
  try {
    rm.emplace(urm::RewardModel::load(args->model, args->options));
  } catch (...) {
    load_error = urm::current_exception_message();
  }
  int loaded = load_error.empty() ? 1 : 0, all_loaded = 0;
  MPI_Allreduce(&loaded, &all_loaded, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all_loaded) {
    if (!loaded) std::cerr << "mpi_score: rank " << rank << ": " << load_error << "\n";
    MPI_Finalize();
    return 2;
  }

  // This rank's share: non-blank line k goes to rank k mod R. One result line each.
  std::string mine;
  std::istringstream in(text);
  std::string line;
  std::size_t line_no = 0, k = 0;
  long long failed = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (blank(line)) continue;
    if (k++ % static_cast<std::size_t>(n_ranks) != static_cast<std::size_t>(rank)) continue;
    const urm::LineResult result = urm::score_line(*rm, line, line_no, /*emit_ids=*/false);
    if (!result.ok) ++failed;
    mine += urm::json_line(result.json);
    mine += '\n';
  }
  const std::size_t n_inputs = k;

  std::vector<int> sizes;
  const std::string all = gather(mine, rank, n_ranks, sizes);
  long long total_failed = 0;
  MPI_Reduce(&failed, &total_failed, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);

  int status = 0;
  if (rank == 0) {
    // Rank r's block holds the results of inputs r, r + R, r + 2R, … in order:
    // take one line from each block in turn.
    std::vector<std::size_t> cursor(static_cast<std::size_t>(n_ranks));
    for (std::size_t r = 1; r < cursor.size(); ++r) cursor[r] = cursor[r - 1] + static_cast<std::size_t>(sizes[r - 1]);
    std::ofstream out_file;
    std::ostream* out = &std::cout;
    if (args->output != "-") {
      out_file.open(args->output, std::ios::binary);
      out = &out_file;
    }
    if (!*out) {
      std::cerr << "mpi_score: cannot open output " << args->output << "\n";
      status = 2;
    } else {
      for (std::size_t i = 0; i < n_inputs; ++i) {
        std::size_t& c = cursor[i % cursor.size()];
        const std::size_t end = all.find('\n', c) + 1;
        out->write(all.data() + c, static_cast<std::streamsize>(end - c));
        c = end;
      }
      out->flush();
      if (!*out) {
        std::cerr << "mpi_score: cannot write output " << args->output << "\n";
        status = 2;
      } else if (total_failed) {
        std::cerr << "mpi_score: " << total_failed << " of " << n_inputs << " lines failed\n";
        status = 1;
      }
    }
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return status;
}
