// The cache tests use the shared test temp dir (tests/support/temp_dir.hpp).
#pragma once

#include "core/cache/disk.hpp"
#include "support/temp_dir.hpp"
