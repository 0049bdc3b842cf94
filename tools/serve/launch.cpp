#include "serve/launch.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace bertrt::serve {

int exec_server(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<char*> args = {const_cast<char*>("bertrt-serve")};
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  // Beside this executable (installed), in serve/ beside it (a build tree), then PATH.
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = self.parent_path();
    for (const fs::path& candidate : {dir / "bertrt-serve", dir / "serve" / "bertrt-serve"}) {
      if (access(candidate.c_str(), X_OK) == 0) {
        execv(candidate.c_str(), args.data());
        std::fprintf(stderr, "bertrt serve: cannot run %s: %s\n", candidate.c_str(), std::strerror(errno));
        return 1;
      }
    }
  }
  execvp("bertrt-serve", args.data());
  std::fprintf(stderr,
               "bertrt serve: bertrt-serve was not found beside bertrt or on PATH (%s); it is built when "
               "cpp-httplib is installed (scripts/install-deps.sh, then reconfigure)\n",
               std::strerror(errno));
  return 1;
}

}  // namespace bertrt::serve
