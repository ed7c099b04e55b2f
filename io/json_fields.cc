#include "io/json_fields.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sluice::io {

using nlohmann::json;

namespace {

// "a string", "a negative number", ... for "is X, expected Y".
std::string Describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
      return value.get<int64_t>() < 0 ? "a negative number" : "a number";
    case json::value_t::number_unsigned:
      return "a number";
    case json::value_t::number_float:
      return "a number with a fraction";
    default:
      return "not a JSON value";
  }
}

// Object keys as a path step: .name for plain words, ["..."] for the rest
// (digests, annotation names), so a path reads back unambiguously.
std::string KeyStep(std::string_view key) {
  bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  if (plain) return "." + std::string(key);
  return "[" + json(std::string(key)).dump(-1, ' ', false, json::error_handler_t::replace) + "]";
}

std::string ChildPath(const std::string& path, std::string_view key) {
  std::string step = KeyStep(key);
  if (path.empty() && step.front() == '.') step.erase(0, 1);
  return path + step;
}

}  // namespace

bool JsonField::IsNull() const { return value_->is_null(); }
bool JsonField::IsObject() const { return value_->is_object(); }
bool JsonField::IsArray() const { return value_->is_array(); }
bool JsonField::IsString() const { return value_->is_string(); }

Status JsonField::Invalid(std::string_view problem) const {
  if (path_.empty()) return Status::Corruption(*document_ + " " + std::string(problem));
  return Status::Corruption(*document_ + ": " + path_ + " " + std::string(problem));
}

Status JsonField::WrongType(std::string_view expected) const {
  return Invalid("is " + Describe(*value_) + ", expected " + std::string(expected));
}

JsonField JsonField::Child(const nlohmann::json* value, std::string_view key) const {
  return JsonField(value, document_, ChildPath(path_, key));
}

Status JsonField::ExpectObject() const {
  return value_->is_object() ? Status::Ok() : WrongType("an object");
}

Status JsonField::ExpectArray() const {
  return value_->is_array() ? Status::Ok() : WrongType("an array");
}

Result<std::string> JsonField::AsString() const {
  if (!value_->is_string()) return WrongType("a string");
  return value_->get_ref<const std::string&>();
}

Result<uint64_t> JsonField::AsUint() const {
  if (value_->is_number_unsigned()) return value_->get<uint64_t>();
  if (value_->is_number_integer() && value_->get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value_->get<int64_t>());
  }
  return WrongType("an unsigned integer");
}

Result<bool> JsonField::AsBool() const {
  if (!value_->is_boolean()) return WrongType("a boolean");
  return value_->get<bool>();
}

Result<std::optional<JsonField>> JsonField::Member(std::string_view key) const {
  SLUICE_RETURN_IF_ERROR(ExpectObject());
  auto it = value_->find(key);
  if (it == value_->end()) return std::optional<JsonField>();
  return std::optional<JsonField>(Child(&*it, key));
}

namespace {

// The member, or an error naming it when it is absent.
Result<JsonField> Required(const JsonField& object, std::string_view key,
                           std::string_view expected) {
  SLUICE_ASSIGN_OR_RETURN(std::optional<JsonField> member, object.Member(key));
  if (!member) {
    return Status::Corruption(object.document() + ": " + ChildPath(object.path(), key) +
                              " is missing, expected " + std::string(expected));
  }
  return *member;
}

// The member, or nullopt when it is absent or null.
Result<std::optional<JsonField>> Optional(const JsonField& object, std::string_view key) {
  SLUICE_ASSIGN_OR_RETURN(std::optional<JsonField> member, object.Member(key));
  if (member && member->IsNull()) return std::optional<JsonField>();
  return member;
}

}  // namespace

Result<std::string> JsonField::String(std::string_view key) const {
  SLUICE_ASSIGN_OR_RETURN(JsonField f, Required(*this, key, "a string"));
  return f.AsString();
}

Result<uint64_t> JsonField::Uint(std::string_view key) const {
  SLUICE_ASSIGN_OR_RETURN(JsonField f, Required(*this, key, "an unsigned integer"));
  return f.AsUint();
}

Result<bool> JsonField::Bool(std::string_view key) const {
  SLUICE_ASSIGN_OR_RETURN(JsonField f, Required(*this, key, "a boolean"));
  return f.AsBool();
}

Result<JsonField> JsonField::Object(std::string_view key) const {
  SLUICE_ASSIGN_OR_RETURN(JsonField f, Required(*this, key, "an object"));
  SLUICE_RETURN_IF_ERROR(f.ExpectObject());
  return f;
}

Result<JsonField> JsonField::Array(std::string_view key) const {
  SLUICE_ASSIGN_OR_RETURN(JsonField f, Required(*this, key, "an array"));
  SLUICE_RETURN_IF_ERROR(f.ExpectArray());
  return f;
}

Result<std::string> JsonField::StringOr(std::string_view key, std::string_view fallback) const {
  SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> s, OptionalString(key));
  return s ? std::move(*s) : std::string(fallback);
}

Result<uint64_t> JsonField::UintOr(std::string_view key, uint64_t fallback) const {
  SLUICE_ASSIGN_OR_RETURN(std::optional<JsonField> f, Optional(*this, key));
  if (!f) return fallback;
  return f->AsUint();
}

Result<bool> JsonField::BoolOr(std::string_view key, bool fallback) const {
  SLUICE_ASSIGN_OR_RETURN(std::optional<JsonField> f, Optional(*this, key));
  if (!f) return fallback;
  return f->AsBool();
}

Result<std::optional<std::string>> JsonField::OptionalString(std::string_view key) const {
  SLUICE_ASSIGN_OR_RETURN(std::optional<JsonField> f, Optional(*this, key));
  if (!f) return std::optional<std::string>();
  SLUICE_ASSIGN_OR_RETURN(std::string s, f->AsString());
  return std::optional<std::string>(std::move(s));
}

Result<std::optional<JsonField>> JsonField::OptionalObject(std::string_view key) const {
  SLUICE_ASSIGN_OR_RETURN(std::optional<JsonField> f, Optional(*this, key));
  if (f) SLUICE_RETURN_IF_ERROR(f->ExpectObject());
  return f;
}

Result<std::optional<JsonField>> JsonField::OptionalArray(std::string_view key) const {
  SLUICE_ASSIGN_OR_RETURN(std::optional<JsonField> f, Optional(*this, key));
  if (f) SLUICE_RETURN_IF_ERROR(f->ExpectArray());
  return f;
}

Result<std::vector<JsonField>> JsonField::Elements() const {
  SLUICE_RETURN_IF_ERROR(ExpectArray());
  std::vector<JsonField> out;
  out.reserve(value_->size());
  for (size_t i = 0; i < value_->size(); ++i) {
    out.emplace_back(&(*value_)[i], document_, path_ + "[" + std::to_string(i) + "]");
  }
  return out;
}

Result<std::vector<std::pair<std::string, JsonField>>> JsonField::Members() const {
  SLUICE_RETURN_IF_ERROR(ExpectObject());
  std::vector<std::pair<std::string, JsonField>> out;
  out.reserve(value_->size());
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    out.emplace_back(it.key(), Child(&it.value(), it.key()));
  }
  return out;
}

struct JsonDocument::State {
  json value;
  std::string name;
};

JsonDocument::JsonDocument(std::unique_ptr<State> state) : state_(std::move(state)) {}
JsonDocument::JsonDocument(JsonDocument&&) noexcept = default;
JsonDocument& JsonDocument::operator=(JsonDocument&&) noexcept = default;
JsonDocument::~JsonDocument() = default;

JsonField JsonDocument::root() const { return JsonField(&state_->value, &state_->name, ""); }
const std::string& JsonDocument::name() const { return state_->name; }

int JsonNestingDepth(std::string_view text) {
  int nesting = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      deepest = std::max(deepest, ++nesting);
    else if (c == '}' || c == ']')
      --nesting;
  }
  return deepest;
}

Result<JsonDocument> ParseJson(std::string_view text, std::string document, int max_depth) {
  if (int depth = JsonNestingDepth(text); depth > max_depth) {
    return Status::Corruption(document + " nests " + std::to_string(depth) +
                              " levels deep (limit " + std::to_string(max_depth) + ")");
  }
  auto state = std::make_unique<JsonDocument::State>();
  state->value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (state->value.is_discarded()) return Status::Corruption(document + " is not valid JSON");
  state->name = std::move(document);
  return JsonDocument(std::move(state));
}

std::string DumpJson(const nlohmann::json& doc, int indent) {
  return doc.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string DumpJson(const nlohmann::ordered_json& doc, int indent) {
  return doc.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace sluice::io
