#include "cli.h"

int pc_cmd_watch(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return pc_usage_error("watch is not implemented yet");
}
