// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "command.h"
#include "log.h"

/* execvp's PATH search, to know the executable before it runs */
static int find_in_path(const char *cmd, char *out, size_t len)
{
	char buf[4096], *save = NULL;
	const char *path = getenv("PATH");

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(out, X_OK) ? -errno : 0;
	}
	snprintf(buf, sizeof(buf), "%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, cmd);
		if (!access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

int pmw_command_start(struct pmw_command *c, char **argv)
{
	int pfd[2], err;

	c->sync_fd = -1;
	err = find_in_path(argv[0], c->exe, sizeof(c->exe));
	if (err) {
		elog("cannot run '%s': %s\n", argv[0], strerror(-err));
		return PMW_EXIT_TARGET;
	}
	if (pipe2(pfd, O_CLOEXEC))
		return PMW_EXIT_RUNTIME;
	c->pid = fork();
	if (c->pid < 0) {
		c->pid = 0;
		close(pfd[0]);
		close(pfd[1]);
		return PMW_EXIT_RUNTIME;
	}
	if (c->pid == 0) {
		char x;

		close(pfd[1]);
		/* wait until the probes are in place, then become the command */
		if (read(pfd[0], &x, 1) != 1)
			_exit(127);
		/* signal dispositions stay as inherited: the command runs as it would alone */
		execvp(argv[0], argv);
		fprintf(stderr, "pymemwatch: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[0]);
	c->sync_fd = pfd[1];
	return 0;
}

void pmw_command_release(struct pmw_command *c)
{
	if (c->sync_fd < 0)
		return;
	if (write(c->sync_fd, "x", 1) != 1)
		elog("cannot start the command\n");
	close(c->sync_fd);
	c->sync_fd = -1;
}

bool pmw_command_reaped(struct pmw_command *c)
{
	int st;

	if (c->pid && !c->reaped && waitpid(c->pid, &st, WNOHANG) == c->pid) {
		c->status = st;
		c->reaped = true;
	}
	return c->reaped;
}

int pmw_command_wait(struct pmw_command *c, bool interrupted)
{
	if (!c->reaped) {
		if (interrupted)
			kill(c->pid, SIGINT);
		waitpid(c->pid, &c->status, 0);
		c->reaped = true;
	}
	return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 128 + WTERMSIG(c->status);
}

void pmw_command_kill(struct pmw_command *c)
{
	if (c->pid && !c->reaped) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->reaped = true;
	}
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	c->sync_fd = -1;
}
