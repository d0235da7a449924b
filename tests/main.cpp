/// \file The Catch2 entry point for convtune_tests: every tests/**/*.cpp links into one binary.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
