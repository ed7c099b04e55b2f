// Checks that a signed catalog is whole: every manifest parses, and every
// blob or child manifest it references is listed in the catalog (shipped, or
// assumed present at the destination); and that every ref's name is valid
// (CheckRefName, reference/ref_name.h: the one rule, which every sink applies
// too; a ref without a tag is pinned by digest). An absent manifest (a
// platform left out, format/SPEC.md section 4) counts as listed for the index
// that names it, is not parsed (it has no bytes), and must be named by a
// carried index. A trusted
// exporter can still be buggy; the importer must not find out half way
// through writing, and no name may reach a sink that builds paths from it.
// kCorruption otherwise.
#pragma once

#include "format/catalog.h"

namespace sluice {

Status CheckCatalogGraph(const format::Catalog& catalog);

}  // namespace sluice
