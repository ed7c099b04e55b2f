// Shared by the src/ tests: temp directories, file helpers and a builder that
// writes real OCI image layouts (random layer bytes, real configs and
// manifests). All of it lives in tests/support/ now, in this namespace; this
// header keeps the names the src/ tests use.
#pragma once

#include "tests/support/files.h"
#include "tests/support/layout_builder.h"
#include "tests/support/temp_dir.h"
