// SPDX-License-Identifier: GPL-2.0
/*
 * Differential fuzzer: seeded random sequences of create, fallocate, punch, touch (read/write through
 * mmap), convert (both forms, valid and invalid), pin, unpin and close run against the module and
 * against a small reference model here. After every step the errno, SIGBUS, data, the debugfs
 * ranges and the allocated page count must agree. On a difference it prints the seed and the
 * shortest sequence it can find that still reproduces it.
 *
 * FUZZ_SEED (default: seeds 1..FUZZ_SEEDS) and FUZZ_STEPS (default 1000) set the run; `make fuzz`
 * runs it longer.
 */
#include <linux/falloc.h>
#include <time.h>

#include "kselftest_harness.h"
#include "gmem_util.h"

#define PAGE	PAGE_SZ
#define NP	16		/* pages in a file */
#define MAPPED	20		/* pages mapped: the last four are past the end */
#define MAX_OPS	200000

enum op_type { CREATE, FALLOC, PUNCH, READ, WRITE, CONVERT, PIN, UNPIN, NR_OPS };
static const char *const op_names[] = {
	"create", "fallocate", "punch", "read", "write", "convert", "pin", "unpin",
};

struct op {
	enum op_type type;
	uint64_t a, b;		/* offsets/sizes in bytes, or page and value */
	int c, d;		/* flags: target state, uAPI form, init-shared */
};

/* What the file should be. */
struct model {
	int private[NP];
	int allocated[NP];
	char data[NP];		/* value of the page's bytes 0 and 100 */
	int pin;		/* pinned page (in the file's cache), or -1 */
};

/* The real thing. */
struct real {
	int fd;
	char *mem;
	int pin_fd;		/* gup_test descriptor, or -1 */
};

static unsigned long long rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Mostly page-aligned byte values around the file, sometimes odd ones. */
static uint64_t rnd_bytes(void)
{
	switch (rnd() % 16) {
	case 0: return rnd() % (MAPPED * PAGE);
	case 1: return ~0ULL & ~(PAGE - 1);
	default: return (rnd() % (NP + 3)) * PAGE;
	}
}

static void gen(unsigned long long seed, struct op *ops, int n)
{
	rnd_state = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (int i = 0; i < n; i++) {
		struct op *o = &ops[i];
		unsigned int r = rnd() % 100;

		o->type = r < 2 ? CREATE : r < 10 ? FALLOC : r < 18 ? PUNCH : r < 38 ? READ :
			  r < 58 ? WRITE : r < 88 ? CONVERT : r < 94 ? PIN : UNPIN;
		o->a = rnd_bytes();
		o->b = rnd() % 4 ? (1 + rnd() % 6) * PAGE : rnd_bytes();
		o->c = rnd() & 1;
		o->d = rnd() & 1;
		if (o->type == READ || o->type == WRITE || o->type == PIN)
			o->a = rnd() % MAPPED;
		if (o->type == WRITE)
			o->b = 1 + rnd() % 250;
	}
}

static void describe(const struct op *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s a=%#llx b=%#llx c=%d d=%d", op_names[o->type],
		 (unsigned long long)o->a, (unsigned long long)o->b, o->c, o->d);
}

static void real_close(struct real *r)
{
	if (r->mem)
		munmap(r->mem, MAPPED * PAGE);
	if (r->fd > 0)
		close(r->fd);
	r->mem = NULL;
	r->fd = -1;
}

static int real_open(struct real *r, int shared)
{
	r->fd = gmem_create(NP * PAGE, GUEST_MEMFD_FLAG_MMAP | (shared ? GUEST_MEMFD_FLAG_INIT_SHARED : 0));
	if (r->fd < 0)
		return -1;
	r->mem = mmap(NULL, MAPPED * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	return r->mem == MAP_FAILED ? -1 : 0;
}

static void model_open(struct model *m, int shared)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < NP; i++)
		m->private[i] = !shared;
	m->pin = -1;
}

/* Expected result of an fallocate/punch/convert range check: 0 or -errno, and the page range. */
static int range_of(uint64_t off, uint64_t len, uint64_t *first, uint64_t *end)
{
	if (off % PAGE || len % PAGE)
		return -EINVAL;
	*first = off / PAGE;
	*end = (off + len) / PAGE;
	return 0;
}

/*
 * Runs one op on both; returns 0 if they agree, else writes why into `why`.
 */
static int step(const struct op *o, struct model *m, struct real *r, char *why, size_t len)
{
	uint64_t first = 0, end = 0, eo = 0;
	int want, got;

	switch (o->type) {
	case CREATE:
		if (r->pin_fd >= 0)
			m->pin = -1;	/* the pin keeps its page, outside any file */
		real_close(r);
		model_open(m, o->c);
		return real_open(r, o->c) ? (snprintf(why, len, "create failed"), 1) : 0;
	case FALLOC:
	case PUNCH: {
		int punch = o->type == PUNCH;
		int64_t off = o->a & 0x3fffffffffffffffLL, l = o->b & 0x3fffffffffffffffLL;

		if (!l)
			l = PAGE;
		want = range_of(off, l, &first, &end);
		if (!want && !punch && end > NP)
			want = -EINVAL;
		got = fallocate(r->fd, FALLOC_FL_KEEP_SIZE | (punch ? FALLOC_FL_PUNCH_HOLE : 0), off, l) ? -errno : 0;
		if (got != want)
			return snprintf(why, len, "fallocate: got %d want %d", got, want), 1;
		for (uint64_t i = first; !want && i < end && i < NP; i++) {
			if (punch) {
				m->allocated[i] = 0;
				m->data[i] = 0;
				if (m->pin == (int)i)
					m->pin = -1;	/* the pinned folio left the page cache */
			} else {
				m->allocated[i] = 1;
			}
		}
		return 0;
	}
	case READ:
	case WRITE: {
		int p = o->a, sigbus_want = p >= NP || m->private[p], sigbus;

		if (o->type == READ) {
			sigbus = READ_SIGBUSES(r->mem + p * PAGE);
		} else {
			sigbus = WRITE_SIGBUSES(r->mem + p * PAGE, (char)o->b);
			if (!sigbus)
				sigbus = WRITE_SIGBUSES(r->mem + p * PAGE + 100, (char)o->b);
		}
		if (sigbus != sigbus_want)
			return snprintf(why, len, "page %d: SIGBUS %d want %d", p, sigbus, sigbus_want), 1;
		if (sigbus)
			return 0;
		m->allocated[p] = 1;
		if (o->type == WRITE)
			m->data[p] = (char)o->b;
		if (r->mem[p * PAGE] != m->data[p] || r->mem[p * PAGE + 100] != m->data[p])
			return snprintf(why, len, "page %d: data %d want %d", p, r->mem[p * PAGE], m->data[p]), 1;
		return 0;
	}
	case CONVERT: {
		int to_private = o->c, first_busy = -1;

		want = range_of(o->a, o->b, &first, &end);
		if (!want && (o->a + o->b < o->a || end > NP))
			want = -EINVAL;
		/* KVM_SET_MEMORY_ATTRIBUTES2 refuses size 0, as Linux 7.4; the RFC form does nothing. */
		if (!want && o->d == CONV_ATTRIBUTES2 && !o->b)
			want = -EINVAL;
		if (!want && to_private && m->pin >= (int)first && m->pin < (int)end && !m->private[m->pin])
			first_busy = m->pin;
		if (first_busy >= 0)
			want = -EAGAIN;
		got = gmem_convert(r->fd, o->d, o->a, o->b, to_private, &eo);
		if (got != want)
			return snprintf(why, len, "convert: got %d want %d", got, want), 1;
		if (want == -EAGAIN && eo != (uint64_t)first_busy * PAGE)
			return snprintf(why, len, "convert: error_offset %#llx want %#llx",
					(unsigned long long)eo, (unsigned long long)first_busy * PAGE), 1;
		for (uint64_t i = first; !want && i < end; i++)
			m->private[i] = to_private;
		return 0;
	}
	case PIN: {
		int p = o->a;

		if (r->pin_fd >= 0)
			return 0;
		/* Pinning faults the page in: it works exactly where a host access would. */
		want = p < NP && !m->private[p];
		r->pin_fd = gup_pin(r->mem + p * PAGE, PAGE);
		if ((r->pin_fd >= 0) != want)
			return snprintf(why, len, "pin page %d: got %d want %s", p, r->pin_fd,
					want ? "success" : "failure"), 1;
		if (r->pin_fd >= 0) {
			m->pin = p;
			m->allocated[p] = 1;
		}
		return 0;
	}
	case UNPIN:
		if (r->pin_fd >= 0)
			gup_unpin(r->pin_fd);
		r->pin_fd = -1;
		m->pin = -1;
		return 0;
	default:
		return 0;
	}
}

/* The debugfs view must show the model's merged ranges and allocation. */
static int compare_state(const struct model *m, const struct real *r, char *why, size_t len)
{
	static char text[1 << 14];
	char want[2048], *w = want, *got;
	int allocated = 0;

	for (int i = 0; i < NP; i++)
		allocated += m->allocated[i];
	for (int i = 0; i < NP;) {
		int j = i;

		while (j + 1 < NP && m->private[j + 1] == m->private[i])
			j++;
		w += sprintf(w, "range: 0x%x-0x%x %s\n", i, j, m->private[i] ? "private" : "shared");
		i = j + 1;
	}
	if (gmem_debugfs(r->fd, text, sizeof(text)) < 0)
		return snprintf(why, len, "no debugfs view"), 1;
	got = strstr(text, "range: ");
	if (!got || strcmp(got, want))
		return snprintf(why, len, "ranges:\n%s want\n%s", got ? got : "(none)", want), 1;
	if (debugfs_field(text, "allocated_pages") != allocated)
		return snprintf(why, len, "allocated %lld want %d", debugfs_field(text, "allocated_pages"),
				allocated), 1;
	return 0;
}

/* Runs ops[i] for every i with keep[i]; returns the failing step, or -1. */
static int run(const struct op *ops, const char *keep, int n, char *why, size_t len)
{
	struct model m;
	struct real r = { .fd = -1, .pin_fd = -1 };
	int bad = -1;

	model_open(&m, 1);
	if (real_open(&r, 1))
		return snprintf(why, len, "create failed"), 0;
	for (int i = 0; i < n && bad < 0; i++) {
		if (keep && !keep[i])
			continue;
		if (step(&ops[i], &m, &r, why, len) || compare_state(&m, &r, why, len))
			bad = i;
	}
	if (r.pin_fd >= 0)
		gup_unpin(r.pin_fd);
	real_close(&r);
	return bad;
}

/*
 * Shrinking (delta debugging): try dropping chunks of the kept ops, halves first, then ever smaller
 * chunks down to single ops, keeping every drop after which the difference still shows. Bounded in
 * time; returns the number of ops kept.
 */
static int shrink(const struct op *ops, int bad, char *keep)
{
	time_t deadline = time(NULL) + 120;
	char why[4096];
	int kept = bad + 1;

	memset(keep, 1, bad + 1);
	for (int chunk = (bad + 1) / 2; chunk >= 1 && time(NULL) < deadline; chunk /= 2) {
		/* The failing op itself stays. */
		for (int start = 0; start < bad && time(NULL) < deadline; start += chunk) {
			int end = start + chunk < bad ? start + chunk : bad, dropped = 0;
			char was[chunk];

			for (int i = start; i < end; i++) {
				was[i - start] = keep[i];
				dropped += keep[i];
				keep[i] = 0;
			}
			if (!dropped)
				continue;
			if (run(ops, keep, bad + 1, why, sizeof(why)) < 0) {
				/* Needed: put back exactly what was dropped. */
				for (int i = start; i < end; i++)
					keep[i] = was[i - start];
			} else {
				kept -= dropped;
			}
		}
	}
	return kept;
}

static unsigned long env(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v ? strtoul(v, NULL, 0) : def;
}

FIXTURE(fuzz) {};
FIXTURE_SETUP(fuzz) {}
FIXTURE_TEARDOWN(fuzz) {}

TEST_F_TIMEOUT(fuzz, differential, 1800)
{
	static struct op ops[MAX_OPS];
	static char keep[MAX_OPS];
	unsigned long steps = env("FUZZ_STEPS", 1000), seeds = env("FUZZ_SEEDS", 4);
	unsigned long seed0 = env("FUZZ_SEED", 0), total = 0;
	char why[4096], line[128];

	if (steps > MAX_OPS)
		steps = MAX_OPS;
	if (access(GUP_TEST_PATH, F_OK))
		SKIP(return, "no %s (CONFIG_GUP_TEST)", GUP_TEST_PATH);
	for (unsigned long s = 0; s < (seed0 ? 1 : seeds); s++) {
		unsigned long long seed = seed0 ? seed0 : s + 1;
		int bad, kept;

		gen(seed, ops, steps);
		bad = run(ops, NULL, steps, why, sizeof(why));
		total += bad < 0 ? steps : bad;
		if (bad < 0)
			continue;
		TH_LOG("seed %llu: difference at step %d: %s", seed, bad, why);
		kept = shrink(ops, bad, keep);
		TH_LOG("seed %llu: shortest reproducer, %d steps (FUZZ_SEED=%llu FUZZ_STEPS=%d):", seed,
		       kept, seed, bad + 1);
		for (int i = 0; i <= bad; i++) {
			if (!keep[i])
				continue;
			describe(&ops[i], line, sizeof(line));
			TH_LOG("  step %d: %s", i, line);
		}
		ASSERT_LT(bad, 0);
	}
	TH_LOG("fuzz steps: %lu", total);
}

TEST_HARNESS_MAIN
