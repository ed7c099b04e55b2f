#include "mirror_config.h"

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <optional>
#include <tuple>

#include "io/atomic_file.h"
#include "reference/reference.h"
#include "reference/transport_ref.h"

namespace sluice {
namespace {

constexpr uint64_t kMaxConfigSize = 16u << 20;

constexpr std::initializer_list<const char*> kTopKeys = {"version", "authfile", "images", "charts",
                                                         "files"};
constexpr std::initializer_list<const char*> kImageKeys = {"name",    "tags",    "tagPattern",
                                                           "digests", "allTags", "platforms"};
constexpr std::initializer_list<const char*> kPathKeys = {"path"};

// A map's value under one key, and the key itself, for positions.
struct Field {
  YAML::Node key;
  YAML::Node value;
};
using Fields = std::map<std::string, Field>;

std::string KindOf(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a string";
    default:
      return "nothing";
  }
}

std::string JoinKeys(std::initializer_list<const char*> keys) {
  std::string out;
  for (const char* key : keys) out += (out.empty() ? "" : ", ") + std::string(key);
  return out;
}

// What an image entry's name stands for.
struct ImageName {
  TransportRef ref;                   // the path taken from the config's directory
  std::optional<Reference> registry;  // docker:// only
  bool picks_image = false;           // names a tag or a digest (archives: an image)
};

class ConfigReader {
 public:
  ConfigReader(io::FileSystem* fs, std::string path)
      : fs_(fs), path_(std::move(path)), dir_(io::Dirname(path_)) {}

  // The refs of the config `text`, in file order.
  Result<std::vector<SourceRef>> Read(const std::string& text) {
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    if (documents.empty() || documents[0].IsNull()) {
      return Status::InvalidArgument(path_ +
                                     ": the config is empty; it lists images:, charts: "
                                     "or files:");
    }
    if (documents.size() > 1) {
      return Error(documents[1], "a second YAML document: a config is one document (no ---)");
    }
    const YAML::Node& root = documents[0];
    if (!root.IsMap()) {
      return Error(root, "a config is a map (" + JoinKeys(kTopKeys) + "), not " + KindOf(root));
    }
    SLUICE_ASSIGN_OR_RETURN(Fields fields, MapFields(root, "the config", kTopKeys));
    if (auto it = fields.find("version"); it != fields.end()) {
      SLUICE_ASSIGN_OR_RETURN(std::string version, String("version", it->second));
      if (version != "1") {
        return Error(it->second.value,
                     "version: '" + version + "' is not a version this sluice reads (1)");
      }
    }
    if (auto it = fields.find("authfile"); it != fields.end()) {
      SLUICE_ASSIGN_OR_RETURN(std::string auth_file, String("authfile", it->second));
      auth_file_ = Resolve(auth_file);
      // Explicitly named: a missing one would otherwise read as "no
      // credentials", and the registry's 401 would not say why.
      if (!fs_->Exists(auth_file_)) {
        return Status::NotFound(Where(it->second.value) + ": authfile: '" + auth_file_ +
                                "' does not exist");
      }
    }
    bool declared = false;
    if (auto it = fields.find("images"); it != fields.end()) {
      SLUICE_ASSIGN_OR_RETURN(std::vector<YAML::Node> images, List("images", it->second));
      for (const YAML::Node& image : images) SLUICE_RETURN_IF_ERROR(ReadImage(image));
      declared = true;
    }
    for (const auto& [key, what, transport] :
         {std::tuple{"charts", "a chart", "helm:"}, std::tuple{"files", "a file", "file:"}}) {
      auto it = fields.find(key);
      if (it == fields.end()) continue;
      SLUICE_ASSIGN_OR_RETURN(std::vector<YAML::Node> entries, List(key, it->second));
      for (const YAML::Node& entry : entries) {
        SLUICE_RETURN_IF_ERROR(ReadPathEntry(entry, key, what, transport));
      }
      declared = true;
    }
    if (!declared) {
      return Error(root, "the config declares nothing to export: add images:, charts: or files:");
    }
    return std::move(refs_);
  }

  // "FILE:LINE:COLUMN", 1-based as editors count.
  std::string Where(const YAML::Mark& mark) const {
    if (mark.is_null()) return path_;
    return path_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }

 private:
  std::string Where(const YAML::Node& node) const { return Where(node.Mark()); }

  Status Error(const YAML::Node& node, const std::string& message) const {
    return Status::InvalidArgument(Where(node) + ": " + message);
  }
  // A wrong value is shown where it is; a missing one (`tags:` and nothing)
  // has no place of its own, so at its key.
  Status Error(const Field& field, const std::string& message) const {
    return Error(field.value.Mark().is_null() || field.value.IsNull() ? field.key : field.value,
                 message);
  }

  // The entries of map `node` (`what`, for messages), each key one of
  // `known`, none twice.
  Result<Fields> MapFields(const YAML::Node& node, const std::string& what,
                           std::initializer_list<const char*> known) const {
    Fields fields;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // By value: the iterator hands out a temporary pair of handles.
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        return Error(key, "a key of " + what + " is " + KindOf(key) + "; keys are names (" +
                              JoinKeys(known) + ")");
      }
      const std::string& name = key.Scalar();
      bool is_known = false;
      for (const char* k : known) is_known = is_known || name == k;
      if (!is_known) {
        return Error(
            key, "unknown key '" + name + "' in " + what + " (it takes " + JoinKeys(known) + ")");
      }
      if (!fields.try_emplace(name, Field{key, it->second}).second) {
        return Error(key, "key '" + name + "' is given twice in " + what);
      }
    }
    return fields;
  }

  Result<std::string> String(const std::string& key, const Field& field) const {
    if (!field.value.IsScalar()) {
      return Error(field, "'" + key + "' must be a string, not " + KindOf(field.value));
    }
    if (field.value.Scalar().empty()) return Error(field, "'" + key + "' is empty");
    return field.value.Scalar();
  }

  // A list of anything, with at least one entry.
  Result<std::vector<YAML::Node>> List(const std::string& key, const Field& field) const {
    if (!field.value.IsSequence()) {
      return Error(field, "'" + key + "' must be a list, not " + KindOf(field.value));
    }
    if (field.value.size() == 0) {
      return Error(field, "'" + key + "' is an empty list: leave it out, or list at least one");
    }
    return std::vector<YAML::Node>(field.value.begin(), field.value.end());
  }

  // A list of non-empty strings, with at least one entry.
  Result<std::vector<YAML::Node>> Strings(const std::string& key, const Field& field) const {
    SLUICE_ASSIGN_OR_RETURN(std::vector<YAML::Node> items, List(key, field));
    for (const YAML::Node& item : items) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        return Error(item, "'" + key + "' lists strings; this entry is " +
                               (item.IsScalar() ? "an empty string" : KindOf(item)));
      }
    }
    return items;
  }

  Result<bool> Bool(const std::string& key, const Field& field) const {
    bool value = false;
    if (!field.value.IsScalar() || !YAML::convert<bool>::decode(field.value, value)) {
      return Error(field, "'" + key + "' must be true or false, not " +
                              (field.value.IsScalar() ? "'" + field.value.Scalar() + "'"
                                                      : KindOf(field.value)));
    }
    return value;
  }

  // Relative paths are the config file's: the same file then means the same
  // images wherever sluice runs from (a cron job, another shell).
  std::string Resolve(std::string_view path) const {
    if (path.starts_with("/") || dir_ == ".") return std::string(path);
    return io::JoinPath(dir_, path);
  }

  // A name as written, with docker:// implied when it starts with no
  // transport sluice knows ("quay.io/team/app", "localhost:5000/app").
  Result<ImageName> ParseName(const YAML::Node& node) const {
    const std::string& text = node.Scalar();
    Result<TransportRef> parsed = ParseTransportRef(text);
    if (!parsed.ok()) {
      // Not a transport ref: a registry reference, when it reads as one;
      // else the transport parser's own error says what it expected.
      if (!ParseReference(text).ok()) return Error(node, parsed.status().message());
      parsed = ParseTransportRef("docker://" + text);
      if (!parsed.ok()) return Error(node, parsed.status().message());
    }
    ImageName name;
    name.ref = std::move(parsed).value();
    switch (name.ref.transport) {
      case Transport::kDocker: {
        Result<Reference> reference = ParseReference(name.ref.name);
        if (!reference.ok()) return Error(node, "'" + text + "': " + reference.status().message());
        if (reference->repository.empty()) {
          return Error(node, "'" + text +
                                 "' names a whole registry; a config names "
                                 "repositories (HOST/REPO)");
        }
        name.picks_image = !reference->tag.empty() || !reference->digest.empty();
        name.registry = std::move(reference).value();
        break;
      }
      case Transport::kOciLayout:
      case Transport::kOciArchive:
      case Transport::kDockerArchive:
        name.ref.path = Resolve(name.ref.path);
        name.picks_image = !name.ref.name.empty();
        break;
      case Transport::kRegistryStorage:
        return Error(node, "'" + text +
                               "': registry-storage: is an import destination, not a "
                               "source");
      case Transport::kHelmChart:
      case Transport::kFile:
        return Error(node, "'" + text +
                               "': charts and files are listed under 'charts:' and 'files:', "
                               "not among the images");
    }
    return name;
  }

  // The ref text of `name` picking `selector` (a tag, "@sha256:..." or, for
  // docker-archive:, NAME:TAG or @N); the name alone when it is empty.
  static std::string RefText(const ImageName& name, const std::string& selector) {
    if (name.registry) {
      Reference r = *name.registry;
      std::string text = "docker://" + r.ToString();
      if (selector.empty()) return text;
      return text + (selector.starts_with("@") ? "" : ":") + selector;
    }
    std::string prefix = name.ref.transport == Transport::kOciLayout    ? "oci:"
                         : name.ref.transport == Transport::kOciArchive ? "oci-archive:"
                                                                        : "docker-archive:";
    const std::string& picked = selector.empty() ? name.ref.name : selector;
    return prefix + name.ref.path + (picked.empty() ? "" : ":" + picked);
  }

  Status ReadImage(const YAML::Node& entry) {
    Fields fields;
    YAML::Node name_node = entry;
    if (entry.IsMap()) {
      SLUICE_ASSIGN_OR_RETURN(fields, MapFields(entry, "an image", kImageKeys));
      auto it = fields.find("name");
      if (it == fields.end()) {
        return Error(entry, "an image needs a name: (a reference, e.g. quay.io/team/app)");
      }
      SLUICE_RETURN_IF_ERROR(String("name", it->second).status());
      name_node = it->second.value;
    } else if (!entry.IsScalar() || entry.Scalar().empty()) {
      return Error(entry, "an image is a reference (a string) or a map with name:, not " +
                              (entry.IsScalar() ? "an empty string" : KindOf(entry)));
    }
    SLUICE_ASSIGN_OR_RETURN(ImageName name, ParseName(name_node));
    const bool registry = name.registry.has_value();

    SourceRef base;
    if (registry) base.auth_file = auth_file_;
    if (auto it = fields.find("platforms"); it != fields.end()) {
      SLUICE_ASSIGN_OR_RETURN(std::vector<YAML::Node> items, Strings("platforms", it->second));
      for (const YAML::Node& item : items) {
        Result<oci::Platform> platform = oci::ParsePlatform(item.Scalar());
        if (!platform.ok()) return Error(item, "platforms: " + platform.status().message());
        base.platforms.push_back(std::move(platform).value());
      }
    }

    // What picks the images: the name itself, or exactly one kind of the
    // selecting keys (tags, digests and a pattern may be combined).
    static constexpr const char* kSelectors[] = {"tags", "digests", "tagPattern", "allTags"};
    const Field* first_selector = nullptr;
    for (const char* key : kSelectors) {
      if (auto it = fields.find(key); it != fields.end() && first_selector == nullptr) {
        first_selector = &it->second;
      }
    }
    const std::string& written = name_node.Scalar();
    if (name.picks_image && first_selector != nullptr) {
      return Error(first_selector->key,
                   "'" + first_selector->key.Scalar() + "' picks images of a repository, but '" +
                       written + "' picks one already; write the name without its tag or digest");
    }
    if (name.picks_image) {
      Add(base, RefText(name, ""), name_node);
      return Status::Ok();
    }

    bool all_tags = false;
    if (auto it = fields.find("allTags"); it != fields.end()) {
      SLUICE_ASSIGN_OR_RETURN(all_tags, Bool("allTags", it->second));
      if (all_tags && fields.size() > 1 + fields.count("name") + fields.count("platforms")) {
        return Error(it->second.key,
                     "allTags: true takes every tag already; leave out tags:, "
                     "digests: and tagPattern:, or allTags:");
      }
    }
    if (!all_tags && !fields.contains("tags") && !fields.contains("digests") &&
        !fields.contains("tagPattern")) {
      // A repository alone is every tag on the command line; here it must
      // be said, so that no one mirrors a whole repository by accident.
      return Error(name_node, "'" + written +
                                  "' names no tag or digest: add tags:, digests:, "
                                  "tagPattern: or allTags: true (every tag)");
    }
    if (all_tags) {
      Add(base, RefText(name, ""), name_node);
      return Status::Ok();
    }
    if (auto it = fields.find("tags"); it != fields.end()) {
      SLUICE_ASSIGN_OR_RETURN(std::vector<YAML::Node> items, Strings("tags", it->second));
      for (const YAML::Node& item : items) {
        const std::string& tag = item.Scalar();
        if (registry && !IsValidTag(tag)) {
          return Error(item, "tags: '" + tag +
                                 "' is not a tag ([A-Za-z0-9_][A-Za-z0-9._-], at "
                                 "most 128)");
        }
        std::string text = RefText(name, tag);
        if (Result<TransportRef> ref = ParseTransportRef(text); !ref.ok()) {
          return Error(item, "tags: " + ref.status().message());
        }
        Add(base, std::move(text), item);
      }
    }
    if (auto it = fields.find("digests"); it != fields.end()) {
      if (!registry) {
        return Error(it->second.key,
                     "digests: apply to docker:// images; '" + written + "' is read by tag");
      }
      SLUICE_ASSIGN_OR_RETURN(std::vector<YAML::Node> items, Strings("digests", it->second));
      for (const YAML::Node& item : items) {
        Result<format::Digest> digest = format::Digest::Parse(item.Scalar());
        if (!digest.ok()) return Error(item, "digests: " + digest.status().message());
        Add(base, RefText(name, "@" + digest->str()), item);
      }
    }
    if (auto it = fields.find("tagPattern"); it != fields.end()) {
      if (!registry) {
        return Error(it->second.key,
                     "tagPattern: applies to docker:// repositories (it is "
                     "matched against the registry's tag list); '" +
                         written + "' is not one");
      }
      SLUICE_ASSIGN_OR_RETURN(std::string text, String("tagPattern", it->second));
      Result<TagPattern> pattern = TagPattern::Parse(text);
      if (!pattern.ok()) return Error(it->second, "tagPattern: " + pattern.status().message());
      SourceRef ref = base;
      ref.tag_pattern = std::move(pattern).value();
      Add(std::move(ref), RefText(name, ""), it->second.value);
    }
    return Status::Ok();
  }

  // A chart or a file: its path, or a map with path:.
  Status ReadPathEntry(const YAML::Node& entry, const std::string& list, const std::string& what,
                       const std::string& transport) {
    YAML::Node path_node = entry;
    if (entry.IsMap()) {
      SLUICE_ASSIGN_OR_RETURN(Fields fields, MapFields(entry, what, kPathKeys));
      auto it = fields.find("path");
      if (it == fields.end()) return Error(entry, what + " needs a path:");
      SLUICE_RETURN_IF_ERROR(String("path", it->second).status());
      path_node = it->second.value;
    } else if (!entry.IsScalar() || entry.Scalar().empty()) {
      return Error(entry, list + ": " + what + " is a path (a string) or a map with path:, not " +
                              (entry.IsScalar() ? "an empty string" : KindOf(entry)));
    }
    Add(SourceRef{}, transport + Resolve(path_node.Scalar()), path_node);
    return Status::Ok();
  }

  void Add(SourceRef ref, std::string text, const YAML::Node& at) {
    ref.text = std::move(text);
    ref.origin = Where(at);
    refs_.push_back(std::move(ref));
  }

  io::FileSystem* fs_;
  std::string path_;
  std::string dir_;
  std::string auth_file_;
  std::vector<SourceRef> refs_;
};

}  // namespace

Status ReadMirrorConfig(io::FileSystem* fs, const std::string& path, std::vector<SourceRef>* refs) {
  SLUICE_ASSIGN_OR_RETURN(std::string text, io::ReadSmallFile(fs, path, kMaxConfigSize));
  ConfigReader reader(fs, path);
  // yaml-cpp reports by throwing; here, and only here, that becomes a
  // Status naming the place.
  try {
    SLUICE_ASSIGN_OR_RETURN(std::vector<SourceRef> read, reader.Read(text));
    refs->insert(refs->end(), std::make_move_iterator(read.begin()),
                 std::make_move_iterator(read.end()));
    return Status::Ok();
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(reader.Where(e.mark) + ": " + e.msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
}

}  // namespace sluice
