#include "cli.h"

int pc_cmd_diff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return pc_usage_error("diff is not implemented yet");
}
