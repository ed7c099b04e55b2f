// Typed reads of untrusted JSON. nlohmann::json's value(), get<>() and at()
// throw on a missing field or a type mismatch; an exception is a second error
// mechanism that ends in std::terminate when nobody catches it. Every JSON
// document sluice reads (ledger, inventory, index.json, manifest.json, auth
// files, registry answers) goes through these getters instead: they never
// throw, and their errors are kCorruption messages that name the document,
// the field path and what was expected versus found:
//   "ledger /srv/a.ledger: blobs[3].digest is a number, expected a string"
//
// Contract shared by every getter: a required field that is absent is an
// error ("is missing"); an optional field that is absent or null yields the
// fallback (or nullopt); a field of the wrong type is an error in both cases.
// Unsigned integers reject negative numbers and numbers with a fraction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/status.h"

namespace sluice::io {

// One value inside a parsed document, with its path for messages. A view:
// it borrows from the JsonDocument it came from, which must outlive it.
// Cheap to copy. Not thread-safe to share with writers; documents are
// read-only once parsed.
class JsonField {
 public:
  JsonField(const nlohmann::json* value, const std::string* document, std::string path)
      : value_(value), document_(document), path_(std::move(path)) {}

  // "blobs[3].digest"; "" for the document's root.
  const std::string& path() const { return path_; }
  // The document's name as given to ParseJson ("ledger /srv/a.ledger").
  const std::string& document() const { return *document_; }
  // The underlying value, for callers that keep parts of it as they are.
  const nlohmann::json& json() const { return *value_; }

  bool IsNull() const;
  bool IsObject() const;
  bool IsArray() const;
  bool IsString() const;

  // This value as a given type; kCorruption naming path() otherwise.
  Status ExpectObject() const;
  Status ExpectArray() const;
  Result<std::string> AsString() const;
  Result<uint64_t> AsUint() const;
  Result<bool> AsBool() const;

  // Members of this object. kCorruption when this is not an object, when the
  // member is absent (required getters) or of another type.
  Result<std::string> String(std::string_view key) const;
  Result<uint64_t> Uint(std::string_view key) const;
  Result<bool> Bool(std::string_view key) const;
  Result<JsonField> Object(std::string_view key) const;
  Result<JsonField> Array(std::string_view key) const;
  Result<std::string> StringOr(std::string_view key, std::string_view fallback) const;
  Result<uint64_t> UintOr(std::string_view key, uint64_t fallback) const;
  Result<bool> BoolOr(std::string_view key, bool fallback) const;
  Result<std::optional<std::string>> OptionalString(std::string_view key) const;
  Result<std::optional<JsonField>> OptionalObject(std::string_view key) const;
  Result<std::optional<JsonField>> OptionalArray(std::string_view key) const;
  // The member `key` whatever its type, or nullopt when absent (null counts
  // as present here). kCorruption when this is not an object.
  Result<std::optional<JsonField>> Member(std::string_view key) const;

  // Elements of this array, each with its path ("blobs[3]"); kCorruption
  // when this is not an array.
  Result<std::vector<JsonField>> Elements() const;
  // (key, value) pairs of this object in the document's order; kCorruption
  // when this is not an object.
  Result<std::vector<std::pair<std::string, JsonField>>> Members() const;

  // kCorruption "<document>: <path> <problem>" (or "<document> <problem>"
  // at the root), for checks of a value's meaning (a bad digest, say).
  Status Invalid(std::string_view problem) const;

 private:
  JsonField Child(const nlohmann::json* value, std::string_view key) const;
  Status WrongType(std::string_view expected) const;

  const nlohmann::json* value_;
  const std::string* document_;
  std::string path_;
};

// A parsed document that owns its values; JsonFields borrow from it. Moving
// the document keeps its fields valid. Not copyable.
class JsonDocument {
 public:
  JsonDocument(JsonDocument&&) noexcept;
  JsonDocument& operator=(JsonDocument&&) noexcept;
  ~JsonDocument();

  JsonField root() const;
  const std::string& name() const;

 private:
  friend Result<JsonDocument> ParseJson(std::string_view, std::string, int);
  struct State;
  explicit JsonDocument(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

inline constexpr int kMaxJsonDepth = 64;

// Parses `text` without exceptions. `document` names it in every message
// ("ledger /srv/a.ledger", "index.json of oci:/srv/images"). kCorruption
// when the text is not JSON or nests deeper than `max_depth` arrays and
// objects (refused before parsing, so hostile input cannot exhaust the
// stack of anything that walks the tree).
Result<JsonDocument> ParseJson(std::string_view text, std::string document,
                               int max_depth = kMaxJsonDepth);

// The deepest nesting of arrays and objects in `text`, counted without
// parsing (strings skipped); for checks before a parse.
int JsonNestingDepth(std::string_view text);

// The text of a JSON document sluice writes (ledger, inventory, receipt,
// index.json, destination state): nlohmann's dump(), except that a string
// holding bytes that are not UTF-8 (a path, a source's name) is written with
// U+FFFD in their place instead of throwing. indent < 0: one line.
std::string DumpJson(const nlohmann::json& doc, int indent = -1);
std::string DumpJson(const nlohmann::ordered_json& doc, int indent = -1);

}  // namespace sluice::io
