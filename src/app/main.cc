#include "canaryd/app/cli.h"

int main(int argc, char** argv) { return canaryd::app::Main(argc, argv); }
