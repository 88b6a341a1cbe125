// The golden tests' main: RunGoldenCli over the fixture directories given as
// arguments (golden_cli.h); fails if any case fails or a directory cannot be
// run.

#include <iostream>
#include <string>
#include <vector>

#include "tests/golden/golden_cli.h"

int main(int argc, char** argv) {
  return sam2::RunGoldenCli(std::vector<std::string>(argv + 1, argv + argc),
                            std::cout, std::cerr);
}
