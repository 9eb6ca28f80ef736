/*
 * run_as "user[:group]" judged against the name service of the calling
 * process (names or numeric ids).
 */
#ifndef PICOFLOW_RUNAS_H
#define PICOFLOW_RUNAS_H

/* 1 when user or group is root (uid or gid 0), else 0. */
int	 runas_is_root(const char *run_as);

#endif
