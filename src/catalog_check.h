// Checks that a signed catalog is whole: every manifest parses, and every
// blob or child manifest it references is listed in the catalog (shipped, or
// assumed present at the destination). A trusted exporter can still be buggy;
// the importer must not find out half way through writing.
#pragma once

#include "format/catalog.h"

namespace sluice {

Status CheckCatalogGraph(const format::Catalog& catalog);

}  // namespace sluice
