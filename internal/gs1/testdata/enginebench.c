/*
 * enginebench drives the GS1 Barcode Syntax Engine's scan-data entry point,
 * gs1_encoder_setScanData, for the comparison in engine_test.go. It is ours;
 * the engine is not part of the project: the Go benchmark compiles this file
 * against the engine's own build, named by EDGEAGENT_GS1_ENGINE, at run time.
 *
 * One command per line on stdin, one answer per line on stdout. Data travel
 * as hex so that GS and every other byte pass unchanged.
 *
 *   version          -> the engine's version string
 *   run N HEX        -> "NS OK": N calls on the data, timed by the monotonic
 *                       clock around the loop alone, and how many succeeded
 *   check HEX        -> "1 HEX" with the HRI lines joined by LF, or
 *                       "0 HEX" with the engine's error message
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gs1encoders.h"

#define MAXLINE 65536

static char line[MAXLINE];
static char data[MAXLINE / 2 + 1];
static char out[MAXLINE];

static int unhex(int c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* decode reads hex from s into data; it fails on odd length, bad digits or NUL. */
static int decode(const char *s) {
	size_t n = 0;
	while (s[0] && s[0] != '\n') {
		int hi = unhex(s[0]), lo = s[1] ? unhex(s[1]) : -1;
		if (hi < 0 || lo < 0 || (hi | lo) == 0 || n >= sizeof(data) - 1) return 0;
		data[n++] = (char)(hi << 4 | lo);
		s += 2;
	}
	data[n] = '\0';
	return 1;
}

static void reply(int ok, const char *text) {
	static const char digits[] = "0123456789abcdef";
	size_t n = 0;
	for (; *text && n + 2 < sizeof(out); text++) {
		out[n++] = digits[(unsigned char)*text >> 4];
		out[n++] = digits[(unsigned char)*text & 15];
	}
	out[n] = '\0';
	printf("%d %s\n", ok, out);
}

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void) {
	gs1_encoder_init_opts_t opts = { .struct_size = sizeof(gs1_encoder_init_opts_t) };
	gs1_encoder *ctx = gs1_encoder_init_ex(NULL, &opts); /* the embedded AI table, default options */
	if (!ctx) {
		fprintf(stderr, "enginebench: cannot initialise the engine\n");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "version", 7) == 0) {
			printf("%s\n", gs1_encoder_getVersion());
		} else if (strncmp(line, "run ", 4) == 0) {
			char *p;
			long n = strtol(line + 4, &p, 10), ok = 0, i;
			int64_t t0, t1;
			if (n <= 0 || *p != ' ' || !decode(p + 1)) {
				printf("error bad run command\n");
			} else {
				t0 = now_ns();
				for (i = 0; i < n; i++)
					ok += gs1_encoder_setScanData(ctx, data);
				t1 = now_ns();
				printf("%lld %ld\n", (long long)(t1 - t0), ok);
			}
		} else if (strncmp(line, "check ", 6) == 0) {
			if (!decode(line + 6)) {
				printf("error bad check command\n");
			} else if (gs1_encoder_setScanData(ctx, data)) {
				char **hri, joined[MAXLINE / 4];
				int k, lines = gs1_encoder_getHRI(ctx, &hri);
				joined[0] = '\0';
				for (k = 0; k < lines; k++) {
					if (k) strncat(joined, "\n", sizeof(joined) - strlen(joined) - 1);
					strncat(joined, hri[k], sizeof(joined) - strlen(joined) - 1);
				}
				reply(1, joined);
			} else {
				reply(0, gs1_encoder_getErrMsg(ctx));
			}
		} else {
			printf("error unknown command\n");
		}
		fflush(stdout);
	}
	gs1_encoder_free(ctx);
	return 0;
}
