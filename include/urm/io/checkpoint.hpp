// Checkpoint — the weights of a Hugging Face model folder.
//
// Two layouts, as transformers writes them (and, like transformers, the
// single file is used when both are present):
//   - single:  model.safetensors;
//   - sharded: model.safetensors.index.json whose "weight_map" maps every
//     tensor name to the shard file holding it.
// The index is authoritative: a sharded checkpoint exposes exactly the
// tensors it names, and each must be present in its shard.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/io/safetensors.hpp"

namespace urm {

class Checkpoint {
 public:
  static constexpr const char* kIndexFile = "model.safetensors.index.json";
  static constexpr const char* kSingleFile = "model.safetensors";

  static Checkpoint open(const std::string& dir) {
    namespace fs = std::filesystem;
    Checkpoint c;
    c.dir_ = dir;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      // A loop of links or a denied search is named; a path that is not there, or not a folder, is said so.
      const bool named = ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory;
      throw Error(dir + (named ? ": cannot open: " + ec.message() : std::string(": not a checkpoint folder (not a directory)")));
    }
    // transformers looks for the single file first, then the index.
    const fs::path single = fs::path(dir) / kSingleFile;
    const std::string index_path = (fs::path(dir) / kIndexFile).string();
    // (symlink_status: a dangling link is opened, and named in the error,
    // rather than taken for an absent file.)
    if (fs::exists(fs::symlink_status(single, ec))) {
      c.shards_.push_back(SafetensorsFile::open(single.string()));
      c.shard_names_.push_back(kSingleFile);
      const auto& ts = c.shards_[0].tensors();
      for (std::size_t i = 0; i < ts.size(); ++i) c.index_.emplace(ts[i].name, Location{0, i});
    } else if (fs::exists(fs::symlink_status(index_path, ec))) {
      c.open_sharded(index_path);
    } else {
      throw Error(dir + ": no " + kSingleFile + " or " + kIndexFile + " in the folder");
    }
    return c;
  }

  const std::string& dir() const { return dir_; }
  bool has(std::string_view name) const { return index_.find(name) != index_.end(); }

  const TensorView& tensor(std::string_view name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) throw Error(dir_ + ": no tensor \"" + std::string(name) + "\" in the checkpoint");
    return shards_[it->second.shard].tensors()[it->second.tensor];
  }

  // Every tensor name, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(index_.size());
    for (const auto& [name, loc] : index_) out.push_back(name);
    return out;
  }

  // The file name (relative to dir()) of the shard holding `name`.
  const std::string& shard_of(std::string_view name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) throw Error(dir_ + ": no tensor \"" + std::string(name) + "\" in the checkpoint");
    return shard_names_[it->second.shard];
  }

  // The shard file names, in the order first named by the index.
  const std::vector<std::string>& shard_names() const { return shard_names_; }

 private:
  Checkpoint() = default;

  struct Location {
    std::size_t shard;
    std::size_t tensor;  // index into shards_[shard].tensors()
  };

  void open_sharded(const std::string& index_path) {
    const nlohmann::json index = detail::read_json_file(index_path);
    if (!index.is_object()) throw Error(index_path + ": expected a JSON object");
    const auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object())
      throw Error(index_path + ": weight_map: expected an object mapping tensor names to shard files");
    std::map<std::string, std::size_t, std::less<>> shard_ids;
    for (const auto& [name, file] : wm->items()) {
      const std::string at = index_path + ": weight_map[" + detail::quote_string(name) + "]: ";
      if (!file.is_string()) throw Error(at + "expected a shard file name");
      const auto& shard = file.get_ref<const std::string&>();
      // A shard is a file inside the folder, never a path leading out of it
      // (nor one the C call would cut at a NUL: "\u0000" is valid JSON).
      if (shard.empty() || shard.find_first_of(std::string_view("/\0", 2)) != std::string::npos || shard == "." ||
          shard == "..")
        throw Error(at + detail::quote_string(shard) + " is not a file name in the checkpoint folder");
      auto [sid, inserted] = shard_ids.emplace(shard, shards_.size());
      if (inserted) {
        const std::string shard_path = (std::filesystem::path(dir_) / shard).string();
        std::error_code ec;
        if (!std::filesystem::exists(shard_path, ec)) throw Error(at + "shard file " + shard_path + " does not exist");
        shards_.push_back(SafetensorsFile::open(shard_path));
        shard_names_.push_back(shard);
      }
      const auto& ts = shards_[sid->second].tensors();
      const TensorView* t = shards_[sid->second].find(name);
      if (t == nullptr) throw Error(at + "tensor is not in shard " + shard);
      index_.emplace(name, Location{sid->second, static_cast<std::size_t>(t - ts.data())});
    }
  }

  std::string dir_;
  std::vector<SafetensorsFile> shards_;
  std::vector<std::string> shard_names_;
  std::map<std::string, Location, std::less<>> index_;
};

}  // namespace urm
