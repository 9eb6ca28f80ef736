#include <stdio.h>

int
main(void)
{
	printf("picoflow %s\n", PF_VERSION);
	return 0;
}
