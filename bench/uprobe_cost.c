// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * uprobe_cost: the cost of one uprobe hit on this machine, for scripts/bench.py.
 *
 *   uprobe_cost FUNC N     call FUNC N times in a loop, print "FUNC N ns_per_call"
 *
 * The harness runs it once without a probe and once with a uprobe on FUNC;
 * the difference per call is the cost of one hit. The functions are written
 * in assembly so that their first instruction is known whatever the compiler:
 *   f_push   push %rbp    the x86 uprobe code emulates it (no single-step)
 *   f_r13    push %r13    emulated too, with a REX prefix (the first instruction of
 *                         allocate_from_new_pool on Debian's 3.11)
 *   f_lea    lea          the kernel copies it to the XOL slot and single-steps it
 *                         (what _PyObject_Free's first instruction costs)
 *   f_jcc    jne          emulated (where pymemwatch probes "test; je" entries)
 *   f_nop5   5-byte nop   emulated; kernels with uprobe optimization (6.18+
 *                         x86-64) may turn it into a call to a trampoline
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long f_push(long x);
long f_r13(long x);
long f_lea(long x);
long f_jcc(long x);
long f_nop5(long x);

__asm__(".text\n"
	".globl f_push\n.type f_push,@function\n.p2align 4\n"
	"f_push:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	lea 1(%rdi), %rax\n"
	"	pop %rbp\n"
	"	ret\n"
	".size f_push, .-f_push\n"
	".globl f_r13\n.type f_r13,@function\n.p2align 4\n"
	"f_r13:\n"
	"	push %r13\n"
	"	lea 1(%rdi), %rax\n"
	"	pop %r13\n"
	"	ret\n"
	".size f_r13, .-f_r13\n"
	".globl f_lea\n.type f_lea,@function\n.p2align 4\n"
	"f_lea:\n"
	"	lea 1(%rdi), %rax\n"
	"	ret\n"
	".size f_lea, .-f_lea\n"
	".globl f_jcc\n.type f_jcc,@function\n.p2align 4\n"
	"f_jcc:\n"
	"	jne 1f\n"	/* either way: the flags come from the caller */
	"1:	lea 1(%rdi), %rax\n"
	"	ret\n"
	".size f_jcc, .-f_jcc\n"
	".globl f_nop5\n.type f_nop5,@function\n.p2align 4\n"
	"f_nop5:\n"
	"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"	lea 1(%rdi), %rax\n"
	"	ret\n"
	".size f_nop5, .-f_nop5\n");

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long (*volatile fn)(long);
	long n, i, acc = 0;
	double t0, t1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s f_push|f_r13|f_lea|f_jcc|f_nop5 N\n", argv[0]);
		return 64;
	}
	if (!strcmp(argv[1], "f_push"))
		fn = f_push;
	else if (!strcmp(argv[1], "f_r13"))
		fn = f_r13;
	else if (!strcmp(argv[1], "f_lea"))
		fn = f_lea;
	else if (!strcmp(argv[1], "f_jcc"))
		fn = f_jcc;
	else if (!strcmp(argv[1], "f_nop5"))
		fn = f_nop5;
	else {
		fprintf(stderr, "uprobe_cost: unknown function %s\n", argv[1]);
		return 64;
	}
	n = strtol(argv[2], NULL, 10);
	if (n <= 0) {
		fprintf(stderr, "uprobe_cost: bad count %s\n", argv[2]);
		return 64;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++)
		acc = fn(acc);
	t1 = now_ns();
	if (acc != n) {
		fprintf(stderr, "uprobe_cost: wrong result %ld\n", acc);
		return 1;
	}
	printf("%s %ld %.3f\n", argv[1], n, (t1 - t0) / n);
	return 0;
}
