/*
 * A worker leaving with no supervisor attached removes its attempt's
 * cgroups on its way out (cgexit.c); nothing is done where it lacks the
 * privilege, and the next PicoFlow start sweeps them instead.
 */
#ifndef PICOFLOW_CGEXIT_H
#define PICOFLOW_CGEXIT_H

void	 cgexit_leave(void);

#endif
