// agora-log-decode: renders the records of crash dumps, dump_now() files and
// binary log files as the live backend would have written them. The command
// line is tools/decode_cli.cpp, the decoding is in src/decode/.

#include "decode_cli.hpp"

#include <cstdio>

int main(int argc, char** argv) { return agora::log::detail::decode_cli(argc, argv, stdin, stdout, stderr); }
