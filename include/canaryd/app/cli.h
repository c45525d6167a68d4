#pragma once

namespace canaryd::app {

/// The whole command line: `canaryd <command> [flags]`. Returns the process exit code:
/// 0 success, 1 runtime failure, 2 usage or configuration error.
int Main(int argc, char** argv);

}  // namespace canaryd::app
