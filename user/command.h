/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * -- COMMAND: forked at once, held until the probes are in place, then
 * exec'd; its exit status becomes pymemwatch's.
 */
#ifndef PMW_COMMAND_H
#define PMW_COMMAND_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct pmw_command {
	pid_t pid;			/* 0 = no command */
	int status;			/* wait status, once reaped */
	bool reaped;
	int sync_fd;			/* write end of the pipe that releases it; -1 = none */
	char exe[PATH_MAX];		/* what execvp will run: argv[0] found on PATH */
};

/*
 * Find @argv[0] as execvp will, and fork a child that waits to become it.
 * The child keeps the signal dispositions it inherits (it runs as it would
 * alone). Returns 0, or PMW_EXIT_TARGET / PMW_EXIT_RUNTIME (error named).
 */
int pmw_command_start(struct pmw_command *c, char **argv);

/* Let the held child exec. */
void pmw_command_release(struct pmw_command *c);

/* Reap the command if it has exited (never waits); true once it has been reaped. */
bool pmw_command_reaped(struct pmw_command *c);

/*
 * End of run: wait for the command (after a SIGINT when @interrupted: it
 * got Ctrl-C too if it shares our terminal). Returns its exit code, or
 * 128 + the signal that killed it.
 */
int pmw_command_wait(struct pmw_command *c, bool interrupted);

/* Cleanup after a failure: kill and reap a command still there, close the pipe. */
void pmw_command_kill(struct pmw_command *c);

#endif
