/* Coincidence kernels of the ground stations: O(n + m) merge sweeps over two sorted
 * arrays of int64 time tags (picoseconds).  No allocation: the caller passes every
 * output buffer.  Built by ground_segment/coincidence_build.py; the numpy reference in
 * ground_segment/coincidence.py implements the same rules and the tests compare them.
 * The caller keeps |tag|, |offset|, window and max delay <= 2^61 ps, so no sum or
 * difference here overflows int64.
 *
 * Speed: one merge sweep is a chain of dependent steps (each step's loads need the
 * previous step's indices), about 4 ns a tag.  Both kernels therefore split A into
 * STREAMS parts and advance one sweep per part in the same loop, so the processor
 * overlaps their chains (about 2x on this machine); the result is the same as one sweep's.
 */
#include <stdint.h>
#include <string.h>

#define STREAMS 4             /* sweeps interleaved in one loop (its test is written out for 4) */
#define MIN_STREAM_TAGS 64    /* fewer A tags than STREAMS times this: one sweep */

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Index of the first tag smaller than its predecessor; -1 when t is sorted ascending. */
int64_t qs_first_unsorted(const int64_t *t, int64_t n)
{
    for (int64_t i = 1; i < n; i++) {
        if (t[i] < t[i - 1]) {
            return i;
        }
    }
    return -1;
}

/* First index of sorted t[0..n) with t[index] >= v (n if none). */
static int64_t lower_bound(const int64_t *t, int64_t n, int64_t v)
{
    int64_t lo = 0;
    int64_t hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (t[mid] < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* One sweep over A tags [i, i_end): j is the first B tag neither used nor too early for
 * A tag i; its n pairs go to ia[out..], ib[out..]. */
typedef struct {
    int64_t i, i_end, j, n, out;
} find_sweep;

/* Compares ta[i] with tb[j] and moves i, j or both.  The moves use no branch: the
 * interleaving of two stations' tags is random, so a branch on it would be mispredicted
 * half the time; the branch on a pair is rarely taken at realistic rates. */
static inline void find_step(find_sweep *s, const int64_t *ta, const int64_t *tb,
                             int64_t window_ps, int64_t offset_ps, int64_t *ia, int64_t *ib)
{
    const int64_t d = tb[s->j] - (ta[s->i] + offset_ps);
    const int64_t early = d < -window_ps;  /* B tag too early for this and later A tags */
    const int64_t match = !early & (d <= window_ps);
    if (match) {
        ia[s->out + s->n] = s->i;
        ib[s->out + s->n] = s->j;
        s->n++;
    }
    s->j += early | match;
    s->i += !early;  /* paired, or no B tag left in its window */
}

/* Pairs A and B tags with |tb[j] - offset_ps - ta[i]| <= window_ps, each tag at most once.
 * Rule: walk A in time order; each A tag takes the earliest B tag that is unused and in
 * its window.  Because the windows' both ends move forward with A, the used B tags all
 * lie before the next candidate, so one forward pointer j suffices.
 * A part of A starts where consecutive A tags are more than 2 windows apart: no B tag
 * is then in both windows, so the sweep before it has used only B tags before the new
 * sweep's first candidate (index L), and the rule's state there is just j = L.  Part k
 * writes its pairs from min(its first A index, its L) on, which the next part's start
 * exceeds by at least part k's pairs; the parts are packed together at the end.
 * Writes the pairs to ia[], ib[] (capacity min(na, nb)); returns how many.
 */
int64_t qs_find_coincidences(const int64_t *ta, int64_t na, const int64_t *tb, int64_t nb,
                             int64_t window_ps, int64_t offset_ps, int64_t *ia, int64_t *ib)
{
    find_sweep s[STREAMS];
    int k = 0;
    if (na == 0 || nb == 0) {
        return 0;
    }
    s[0].i = 0;
    if (na >= STREAMS * MIN_STREAM_TAGS) {
        for (int p = 1; p < STREAMS; p++) {
            int64_t x = na / STREAMS * p;
            const int64_t limit = na / STREAMS * (p + 1);
            while (x < limit && ta[x] - ta[x - 1] <= 2 * window_ps) {
                x++;
            }
            if (x < limit) {
                s[k].i_end = x;
                s[++k].i = x;
            }
        }
    }
    s[k].i_end = na;
    const int parts = k + 1;
    for (k = 0; k < parts; k++) {
        s[k].j = lower_bound(tb, nb, ta[s[k].i] + offset_ps - window_ps);
        s[k].n = 0;
        s[k].out = s[k].i < s[k].j ? s[k].i : s[k].j;
    }
    if (parts == STREAMS) {
        while (s[0].i < s[0].i_end && s[1].i < s[1].i_end && s[2].i < s[2].i_end && s[3].i < s[3].i_end
               && s[3].j < nb) {  /* s[k].j <= s[3].j */
            for (k = 0; k < STREAMS; k++) {
                find_step(&s[k], ta, tb, window_ps, offset_ps, ia, ib);
            }
        }
    }
    int64_t n = 0;
    for (k = 0; k < parts; k++) {
        while (s[k].i < s[k].i_end && s[k].j < nb) {
            find_step(&s[k], ta, tb, window_ps, offset_ps, ia, ib);
        }
        memmove(ia + n, ia + s[k].out, (size_t)s[k].n * sizeof *ia);
        memmove(ib + n, ib + s[k].out, (size_t)s[k].n * sizeof *ib);
        n += s[k].n;
    }
    return n;
}

/* Counts A tag i's delays, to B tags j, j + 1, ... while tb[j] - first < span_ps as
 * unsigned (first = ta[i] - max_delay_ps).  Out of line: it is rarely called at
 * realistic rates, and with its loop inline gcc 12 kept the interleaved sweeps' state
 * in memory, which cost the interleaving's gain. */
static NOINLINE void count_delays(const int64_t *tb, int64_t nb, int64_t j, int64_t first,
                                  uint64_t span_ps, int64_t bin_ps, int64_t *counts)
{
    for (; j < nb && (uint64_t)(tb[j] - first) < span_ps; j++) {
        counts[(tb[j] - first) / bin_ps]++;
    }
}

/* One histogram sweep over A tags [i, i_end): lo is the first B tag not too early for A tag i. */
typedef struct {
    int64_t i, i_end, lo;
} hist_sweep;

/* Moves lo past a B tag too early for A tag i, or moves i on after counting its delays
 * (if tb[lo] is in range: the unsigned test is false for a B tag before first too).
 * No branch on which move, as in find_step. */
static inline void hist_step(hist_sweep *s, const int64_t *ta, const int64_t *tb, int64_t nb,
                             int64_t max_delay_ps, uint64_t span_ps, int64_t bin_ps, int64_t *counts)
{
    const int64_t first = ta[s->i] - max_delay_ps;
    const int64_t b = tb[s->lo];
    const int64_t early = b < first;  /* B tag too early for this and later A tags */
    if ((uint64_t)(b - first) < span_ps) {
        count_delays(tb, nb, s->lo, first, span_ps, bin_ps, counts);
    }
    s->lo += early;
    s->i += !early;
}

/* Adds every pairwise delay d = tb[j] - ta[i] with -max_delay_ps <= d < max_delay_ps to
 * counts[(d + max_delay_ps) / bin_ps] (nbins >= 2 * max_delay_ps / bin_ps, zeroed by the
 * caller).  Cost O(n + m + pairs).  An A tag's delays depend on no other tag's, so A
 * splits anywhere into STREAMS interleaved sweeps.
 */
void qs_delay_histogram(const int64_t *ta, int64_t na, const int64_t *tb, int64_t nb,
                        int64_t max_delay_ps, int64_t bin_ps, int64_t *counts)
{
    const uint64_t span_ps = (uint64_t)(2 * max_delay_ps);
    hist_sweep s[STREAMS];
    if (na == 0 || nb == 0) {
        return;
    }
    const int parts = na >= STREAMS * MIN_STREAM_TAGS ? STREAMS : 1;
    for (int k = 0; k < parts; k++) {
        s[k].i = na / parts * k;
        s[k].i_end = k == parts - 1 ? na : na / parts * (k + 1);
        s[k].lo = lower_bound(tb, nb, ta[s[k].i] - max_delay_ps);
    }
    if (parts == STREAMS) {
        while (s[0].i < s[0].i_end && s[1].i < s[1].i_end && s[2].i < s[2].i_end && s[3].i < s[3].i_end
               && s[0].lo < nb && s[1].lo < nb && s[2].lo < nb && s[3].lo < nb) {
            for (int k = 0; k < STREAMS; k++) {
                hist_step(&s[k], ta, tb, nb, max_delay_ps, span_ps, bin_ps, counts);
            }
        }
    }
    for (int k = 0; k < parts; k++) {
        while (s[k].i < s[k].i_end && s[k].lo < nb) {
            hist_step(&s[k], ta, tb, nb, max_delay_ps, span_ps, bin_ps, counts);
        }
    }
}
