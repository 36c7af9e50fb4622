/* fuzz_driver.c - runs a libFuzzer target without libFuzzer (gcc builds, ctest).
 *
 *   fuzz_<target> CORPUS_DIR [ROUNDS]
 *
 * Every file of CORPUS_DIR is passed to LLVMFuzzerTestOneInput as is, then ROUNDS (default
 * 2000) deterministic mutations of each (byte flips, insertions, deletions, truncations), so
 * the sanitizer builds exercise the decoders on damaged input in every test run. A finding
 * aborts (the target's own checks, or ASan/UBSan) and leaves the input in ./fuzz-crash.bin
 * (run it again: fuzz_<target> DIR-containing-it 0). Real fuzzing: build with -DGT_FUZZ=ON and
 * clang (see README, Tests). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE    *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long     n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
	}
	fclose(f);
	return buf;
}

/* The input being run, saved to ./fuzz-crash.bin when a check aborts (signal-safe). */
static const uint8_t *cur;
static size_t         cur_len;

static void
on_abort(int sig)
{
	static const char msg[] = "fuzz_driver: the failing input is in ./fuzz-crash.bin\n";
	int               fd = open("fuzz-crash.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		(void)!write(fd, cur, cur_len);
		close(fd);
	}
	(void)!write(2, msg, sizeof(msg) - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* One input in an allocation of exactly its size, so ASan sees any overread. */
static void
run_one(const uint8_t *p, size_t n)
{
	uint8_t *exact = malloc(n ? n : 1);

	if (n > 0)
		memcpy(exact, p, n);
	cur = exact;
	cur_len = n;
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
}

static void
mutate_and_run(const uint8_t *seed, size_t len, long rounds, uint64_t *st)
{
	uint8_t *m = malloc(len + 64);
	long     r;

	for (r = 0; r < rounds; r++) {
		size_t n = len, k, edits = 1 + rnd(st) % 4;

		memcpy(m, seed, len);
		for (k = 0; k < edits; k++) {
			size_t at = n ? rnd(st) % n : 0;

			switch (rnd(st) % 5) {
			case 0:
			case 1:
				if (n > 0)
					m[at] = (uint8_t)rnd(st);
				break;
			case 2:
				if (n < len + 60) {
					memmove(m + at + 1, m + at, n - at);
					m[at] = (uint8_t)rnd(st);
					n++;
				}
				break;
			case 3:
				if (n > 0) {
					memmove(m + at, m + at + 1, n - at - 1);
					n--;
				}
				break;
			default:
				n = at; /* truncate */
				break;
			}
		}
		run_one(m, n);
	}
	free(m);
}

int
main(int argc, char **argv)
{
	DIR           *d;
	struct dirent *e;
	long           rounds = argc > 2 ? atol(argv[2]) : 2000;
	uint64_t       st = 0x9e3779b97f4a7c15u;
	int            files = 0;

	signal(SIGABRT, on_abort);
	if (argc < 2 || (d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "usage: %s CORPUS_DIR [ROUNDS]\n", argv[0]);
		return 2;
	}
	while ((e = readdir(d)) != NULL) {
		char     path[4096];
		uint8_t *buf;
		size_t   len = 0;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		if ((buf = read_file(path, &len)) == NULL)
			continue;
		run_one(buf, len);
		mutate_and_run(buf, len, rounds, &st);
		free(buf);
		files++;
	}
	closedir(d);
	run_one((const uint8_t *)"", 0);
	printf("%s: %d corpus files, %ld mutations each: no finding\n", argv[0], files, rounds);
	return files > 0 ? 0 : 1;
}
