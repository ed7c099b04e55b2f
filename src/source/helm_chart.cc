#include "source/helm_chart.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "reference/reference.h"
#include "source/tar_index.h"

namespace sluice {
namespace {

using nlohmann::ordered_json;

// import-values are lists of strings or {child, parent} maps: a hostile
// Chart.yaml (aliases of aliases) must not make sluice build a huge tree.
constexpr int kMaxValueDepth = 8;
constexpr size_t kMaxValueNodes = 10000;

// Helm's sanitizeString for the ASCII range: whitespace becomes a space,
// other control characters are dropped. Bytes of UTF-8 sequences are kept.
std::string Sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == ' ') {
      out.push_back(' ');
    } else if (u >= 0x20 && u != 0x7f) {
      out.push_back(c);
    }
  }
  return out;
}

bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  });
}

// Every yaml-cpp call below may throw (a bad document, a node of another
// kind than asked for): ParseChartYaml is the one place that catches, and
// turns the exception into a Status. Errors found by sluice's own checks
// are reported through this, so both take the same way out.
struct ChartError {
  std::string message;
};

std::string Where(const YAML::Node& node, std::string_view key) {
  const YAML::Mark mark = node.Mark();
  std::string where = "'" + std::string(key) + "'";
  if (mark.line >= 0) where += " (line " + std::to_string(mark.line + 1) + ")";
  return where;
}

// A string field: a scalar, or nothing (absent or null).
std::string Scalar(const YAML::Node& map, std::string_view key) {
  YAML::Node node = map[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) return "";
  if (!node.IsScalar()) throw ChartError{Where(node, key) + " is not a string"};
  return node.Scalar();
}

bool Boolean(const YAML::Node& map, std::string_view key) {
  YAML::Node node = map[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) return false;
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    throw ChartError{Where(node, key) + " is not true or false"};
  }
  return value;
}

std::vector<std::string> Strings(const YAML::Node& map, std::string_view key) {
  std::vector<std::string> out;
  YAML::Node node = map[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) throw ChartError{Where(node, key) + " is not a list"};
  for (const YAML::Node& item : node) {
    if (!item.IsScalar()) throw ChartError{Where(item, key) + " holds something not a string"};
    out.push_back(Sanitize(item.Scalar()));
  }
  return out;
}

// A list of maps.
std::vector<YAML::Node> Maps(const YAML::Node& map, std::string_view key) {
  std::vector<YAML::Node> out;
  YAML::Node node = map[std::string(key)];
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) throw ChartError{Where(node, key) + " is not a list"};
  for (const YAML::Node& item : node) {
    if (!item.IsMap()) {
      throw ChartError{Where(item, key) +
                       " must hold mappings (an empty or null entry is refused, "
                       "as Helm refuses it)"};
    }
    out.push_back(item);
  }
  return out;
}

// Any value as JSON: scalars as strings, lists, mappings with sorted keys.
ordered_json ValueJson(const YAML::Node& node, int depth, size_t* budget) {
  if (depth > kMaxValueDepth || *budget == 0) {
    throw ChartError{"import-values nest too deep or hold too much"};
  }
  *budget -= 1;
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsScalar()) return node.Scalar();
  if (node.IsSequence()) {
    ordered_json list = ordered_json::array();
    for (const YAML::Node& item : node) list.push_back(ValueJson(item, depth + 1, budget));
    return list;
  }
  std::map<std::string, ordered_json> members;
  for (const auto& pair : node) {
    if (!pair.first.IsScalar()) throw ChartError{"import-values has a key that is not a string"};
    members[pair.first.Scalar()] = ValueJson(pair.second, depth + 1, budget);
  }
  ordered_json object = ordered_json::object();
  for (auto& [key, value] : members) object[key] = std::move(value);
  return object;
}

// Masterminds semver (what Helm uses): "v"? MAJOR(.MINOR(.PATCH)?)?
// (-PRERELEASE)? (+BUILD)?, identifiers of [0-9A-Za-z-], numeric
// pre-release identifiers without a leading zero.
bool IsIdentifierList(std::string_view list, bool prerelease) {
  if (list.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = list.find('.', start);
    std::string_view id = list.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (id.empty()) return false;
    bool numeric = true;
    for (char c : id) {
      bool digit = c >= '0' && c <= '9';
      bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
      if (!digit && !alpha) return false;
      numeric = numeric && digit;
    }
    if (prerelease && numeric && id.size() > 1 && id[0] == '0') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

void Validate(const ChartMetadata& m) {
  if (m.api_version.empty()) throw ChartError{"apiVersion is missing"};
  if (m.name.empty()) throw ChartError{"name is missing"};
  if (!IsValidPathComponent(m.name)) {
    throw ChartError{"chart name '" + m.name +
                     "' is not a registry repository name (lower-case letters and digits, "
                     "with '.', '_', '__' or dashes between them): it would land in charts/" +
                     m.name + ", which no registry takes"};
  }
  if (m.version.empty()) throw ChartError{"version is missing"};
  if (!IsValidChartVersion(m.version)) {
    throw ChartError{"chart version '" + m.version +
                     "' is not a SemVer version as Helm requires (e.g. 1.2.3, 1.2.3-rc.1)"};
  }
  if (!IsValidTag(ChartTag(m.version))) {
    throw ChartError{"chart version '" + m.version +
                     "' makes no registry tag (at most 128 characters)"};
  }
  if (!m.type.empty() && m.type != "application" && m.type != "library") {
    throw ChartError{"chart type '" + m.type + "' is neither application nor library"};
  }
}

ChartMetadata ReadMetadata(const YAML::Node& root) {
  if (!root.IsMap()) throw ChartError{"not a mapping of fields"};
  ChartMetadata m;
  m.name = Sanitize(Scalar(root, "name"));
  m.home = Sanitize(Scalar(root, "home"));
  m.sources = Strings(root, "sources");
  m.version = Scalar(root, "version");
  m.description = Sanitize(Scalar(root, "description"));
  m.keywords = Strings(root, "keywords");
  for (const YAML::Node& node : Maps(root, "maintainers")) {
    m.maintainers.push_back({Sanitize(Scalar(node, "name")), Sanitize(Scalar(node, "email")),
                             Sanitize(Scalar(node, "url"))});
  }
  m.icon = Sanitize(Scalar(root, "icon"));
  m.api_version = Scalar(root, "apiVersion");
  m.condition = Sanitize(Scalar(root, "condition"));
  m.tags = Sanitize(Scalar(root, "tags"));
  m.app_version = Sanitize(Scalar(root, "appVersion"));
  m.deprecated = Boolean(root, "deprecated");
  YAML::Node annotations = root["annotations"];
  if (annotations.IsDefined() && !annotations.IsNull()) {
    if (!annotations.IsMap())
      throw ChartError{Where(annotations, "annotations") + " is not a mapping"};
    for (const auto& pair : annotations) {
      if (!pair.first.IsScalar() || !(pair.second.IsScalar() || pair.second.IsNull())) {
        throw ChartError{Where(pair.first, "annotations") + " must map strings to strings"};
      }
      m.annotations[pair.first.Scalar()] = pair.second.IsNull() ? "" : pair.second.Scalar();
    }
  }
  m.kube_version = Sanitize(Scalar(root, "kubeVersion"));
  size_t budget = kMaxValueNodes;
  for (const YAML::Node& node : Maps(root, "dependencies")) {
    ChartDependency d;
    d.name = Sanitize(Scalar(node, "name"));
    d.version = Sanitize(Scalar(node, "version"));
    d.repository = Sanitize(Scalar(node, "repository"));
    d.condition = Sanitize(Scalar(node, "condition"));
    d.tags = Strings(node, "tags");
    d.enabled = Boolean(node, "enabled");
    YAML::Node values = node["import-values"];
    if (values.IsDefined() && !values.IsNull()) {
      if (!values.IsSequence()) throw ChartError{Where(values, "import-values") + " is not a list"};
      d.import_values = ValueJson(values, 0, &budget);
    }
    d.alias = Scalar(node, "alias");
    m.dependencies.push_back(std::move(d));
  }
  m.type = Sanitize(Scalar(root, "type"));
  Validate(m);
  return m;
}

// Sets `key` when `value` is not empty (Go's omitempty).
void Put(ordered_json* object, const char* key, const std::string& value) {
  if (!value.empty()) (*object)[key] = value;
}
void Put(ordered_json* object, const char* key, const std::vector<std::string>& value) {
  if (!value.empty()) (*object)[key] = value;
}

}  // namespace

bool IsValidChartVersion(std::string_view v) {
  if (v.starts_with('v')) v.remove_prefix(1);
  size_t plus = v.find('+');
  if (plus != std::string_view::npos) {
    if (!IsIdentifierList(v.substr(plus + 1), false)) return false;
    v = v.substr(0, plus);
  }
  size_t dash = v.find('-');
  if (dash != std::string_view::npos) {
    if (!IsIdentifierList(v.substr(dash + 1), true)) return false;
    v = v.substr(0, dash);
  }
  // MAJOR(.MINOR(.PATCH)?)?: one to three runs of digits.
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t dot = v.find('.', start);
    std::string_view part = v.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string_view::npos) {
      return false;
    }
    if (++parts > 3) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Outside strings none of the escaped characters can occur, so they are
// replaced in the dumped text.
std::string GoJsonText(const ordered_json& value) {
  std::string text = value.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xa8' || text[i + 2] == '\xa9')) {
      out += text[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string ChartTag(std::string_view version) {
  std::string tag(version);
  std::replace(tag.begin(), tag.end(), '+', '_');
  return tag;
}

Result<ChartMetadata> ParseChartYaml(std::string_view text) {
  try {
    return ReadMetadata(YAML::Load(std::string(text)));
  } catch (const ChartError& e) {
    return Status::Corruption(e.message);
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? "" : "line " + std::to_string(e.mark.line + 1) + ": ";
    return Status::Corruption("not YAML Helm can read: " + where + e.msg);
  }
}

std::string ChartConfigJson(const ChartMetadata& m) {
  // Field for field in the order of Helm's Metadata struct.
  ordered_json doc = ordered_json::object();
  Put(&doc, "name", m.name);
  Put(&doc, "home", m.home);
  Put(&doc, "sources", m.sources);
  Put(&doc, "version", m.version);
  Put(&doc, "description", m.description);
  Put(&doc, "keywords", m.keywords);
  if (!m.maintainers.empty()) {
    ordered_json list = ordered_json::array();
    for (const ChartMaintainer& person : m.maintainers) {
      ordered_json entry = ordered_json::object();
      Put(&entry, "name", person.name);
      Put(&entry, "email", person.email);
      Put(&entry, "url", person.url);
      list.push_back(std::move(entry));
    }
    doc["maintainers"] = std::move(list);
  }
  Put(&doc, "icon", m.icon);
  Put(&doc, "apiVersion", m.api_version);
  Put(&doc, "condition", m.condition);
  Put(&doc, "tags", m.tags);
  Put(&doc, "appVersion", m.app_version);
  if (m.deprecated) doc["deprecated"] = true;
  if (!m.annotations.empty()) {
    ordered_json annotations = ordered_json::object();
    for (const auto& [key, value] : m.annotations) annotations[key] = value;
    doc["annotations"] = std::move(annotations);
  }
  Put(&doc, "kubeVersion", m.kube_version);
  if (!m.dependencies.empty()) {
    ordered_json list = ordered_json::array();
    for (const ChartDependency& d : m.dependencies) {
      ordered_json entry = ordered_json::object();
      entry["name"] = d.name;  // no omitempty in Helm's Dependency
      Put(&entry, "version", d.version);
      entry["repository"] = d.repository;
      Put(&entry, "condition", d.condition);
      Put(&entry, "tags", d.tags);
      if (d.enabled) entry["enabled"] = true;
      if (!d.import_values.empty()) entry["import-values"] = d.import_values;
      Put(&entry, "alias", d.alias);
      list.push_back(std::move(entry));
    }
    doc["dependencies"] = std::move(list);
  }
  Put(&doc, "type", m.type);
  return GoJsonText(doc);
}

std::map<std::string, std::string> ChartAnnotations(const ChartMetadata& m) {
  std::map<std::string, std::string> out;
  auto put = [&](std::string_view key, const std::string& value) {
    if (!IsBlank(value)) out[std::string(key)] = value;
  };
  put("org.opencontainers.image.description", m.description);
  put("org.opencontainers.image.title", m.name);
  put("org.opencontainers.image.version", m.version);
  put("org.opencontainers.image.url", m.home);
  if (!m.sources.empty()) put("org.opencontainers.image.source", m.sources.front());
  std::string authors;
  for (size_t i = 0; i < m.maintainers.size(); ++i) {
    const ChartMaintainer& person = m.maintainers[i];
    authors += person.name;
    if (!person.email.empty()) authors += " (" + person.email + ")";
    if (i + 1 < m.maintainers.size()) authors += ", ";
  }
  put("org.opencontainers.image.authors", authors);
  for (const auto& [key, value] : m.annotations) {
    if (key == "org.opencontainers.image.title" || key == "org.opencontainers.image.version") {
      continue;  // what names the chart is the chart's own name and version
    }
    out[key] = value;
  }
  return out;
}

Result<PackagedChart> ReadPackagedChart(io::FileSystem* fs, const std::string& path) {
  const std::string what = "chart " + path;
  {
    SLUICE_ASSIGN_OR_RETURN(auto file, fs->NewPositionalReader(path));
    uint8_t magic[2] = {0, 0};
    SLUICE_ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, magic));
    if (n < 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
      return Status::Corruption(what +
                                " is not a packaged Helm chart: not gzip-compressed (helm package "
                                "writes NAME-VERSION.tgz)");
    }
  }
  auto index = TarIndex::Build(fs, path);
  if (!index.ok()) {
    if (index.status().kind() != ErrorKind::kCorruption) return index.status();
    return Status::Corruption(what + " is damaged or not a packaged Helm chart (" +
                              index.status().message() + ")");
  }
  // Helm's loader takes the first path component of every entry as the
  // chart's directory; its Chart.yaml is the chart's metadata.
  std::vector<std::string> found;
  for (const auto& [name, entry] : (*index)->entries()) {
    if (name == "Chart.yaml") {
      return Status::Corruption(what +
                                ": Chart.yaml is not in a chart directory (helm package writes "
                                "NAME/Chart.yaml)");
    }
    size_t slash = name.find('/');
    if (slash != std::string::npos && name.substr(slash + 1) == "Chart.yaml") found.push_back(name);
  }
  if (found.empty()) {
    return Status::Corruption(what + " holds no Chart.yaml (helm package writes NAME/Chart.yaml)");
  }
  if (found.size() > 1) {
    return Status::Corruption(what + " holds several charts (" + found[0] + ", " + found[1] +
                              "); a packaged chart has one top directory");
  }
  SLUICE_ASSIGN_OR_RETURN(const TarEntry* entry, (*index)->Resolve(found[0]));
  if (entry->size > kMaxChartYamlSize) {
    return Status::Corruption(what + ": " + found[0] + " has " + std::to_string(entry->size) +
                              " bytes, more than the " + std::to_string(kMaxChartYamlSize) +
                              " a Chart.yaml may have");
  }
  SLUICE_ASSIGN_OR_RETURN(std::string text, (*index)->ReadSmall(found[0], kMaxChartYamlSize));
  auto metadata = ParseChartYaml(text);
  if (!metadata.ok()) return metadata.status().WithContext(what + ": " + found[0]);
  return PackagedChart{std::move(metadata).value(), found[0]};
}

}  // namespace sluice
