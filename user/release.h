/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a release says about itself: --version's lines, and the bash
 * completion script generated from the argp option table (the hidden
 * --bash-completion option; `make` writes it to .output/pymemwatch.bash and
 * `make install` installs it).
 */
#ifndef PMW_RELEASE_H
#define PMW_RELEASE_H

#include <argp.h>
#include <stdio.h>

/*
 * --version: "pymemwatch VERSION", then the git revision it was built from
 * (PMW_GIT_REV: `git describe --always --dirty`, or the REVISION file of a
 * `make dist` tarball), the build (dynamic or static), the libbpf it runs
 * with (libbpf_version_string(); static: the one linked in), whether
 * libdebuginfod can be loaded, and the CPython versions of the version table
 * (user/cpython/pyver.c), free-threaded ones included. argp's version hook.
 */
void pmw_print_version(FILE *f, struct argp_state *state);

/*
 * A bash completion script for pymemwatch, from @opts (argp options, ending
 * with an all-zero entry; hidden ones left out): every long and short option;
 * for an option's argument, files for FILE, the words of a choice ("gc|heap|
 * full"), Python PIDs for PID lists, nothing for numbers and addresses; after
 * "--", a command; after "report", files.
 */
void pmw_bash_completion(FILE *f, const struct argp_option *opts);

#endif
