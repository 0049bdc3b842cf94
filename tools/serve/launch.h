// `bertrt serve ...`: runs the bertrt-serve executable (built beside bertrt when cpp-httplib is
// installed) with the same arguments, so that the bertrt tool itself does not link the HTTP library.
#pragma once

namespace bertrt::serve {

// Replaces this process with bertrt-serve argv[2..]; returns an exit code only when it cannot.
int exec_server(int argc, char** argv);

}  // namespace bertrt::serve
