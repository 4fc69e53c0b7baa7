/*
 * progress.c - the progress line of long nudgectl commands (see
 * progress.h).
 */
#include "cli/progress.h"

#include <string.h>
#include <unistd.h>

#include "core/clock.h"

double progress_rate(size_t done, int64_t elapsed_ms)
{
    if (elapsed_ms <= 0 || done == 0)
        return 0;
    return (double)done * 1000.0 / (double)elapsed_ms;
}

long progress_seconds_left(size_t done, size_t total, int64_t elapsed_ms)
{
    double rate = progress_rate(done, elapsed_ms), left;

    if (done >= total)
        return 0;
    if (rate <= 0)
        return -1;
    left = (double)(total - done) / rate;
    return (long)left + (left > (double)(long)left);
}

char *progress_group(unsigned long long v, char *buf, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", v);
    size_t o = 0;

    for (int i = 0; i < len && o + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && o + 2 < n)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    if (n)
        buf[o < n ? o : n - 1] = 0;
    return buf;
}

/* "2s", "3m05s", "1h02m". */
static void format_left(long s, char *buf, size_t n)
{
    if (s < 60)
        snprintf(buf, n, "%lds", s);
    else if (s < 3600)
        snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, n, "%ldh%02ldm", s / 3600, s % 3600 / 60);
}

char *progress_format(char *buf, size_t n, const char *what,
                      const char *unit, size_t done, size_t total,
                      int64_t elapsed_ms)
{
    char d[32], t[32], r[32], l[32];
    double rate = progress_rate(done, elapsed_ms);
    long left = progress_seconds_left(done, total, elapsed_ms);

    progress_group(done, d, sizeof d);
    progress_group(total, t, sizeof t);
    if (rate <= 0) {
        snprintf(buf, n, "%s: %s/%s %s", what, d, t, unit);
        return buf;
    }
    progress_group((unsigned long long)(rate + 0.5), r, sizeof r);
    format_left(left, l, sizeof l);
    snprintf(buf, n, "%s: %s/%s %s, %s/s, %s left", what, d, t, unit, r, l);
    return buf;
}

int progress_wanted(FILE *fp, int json)
{
    return !json && fp && isatty(fileno(fp));
}

void progress_start(struct progress *p, FILE *fp, int show, const char *what,
                    const char *unit, size_t total, int64_t (*now_ms)(void))
{
    memset(p, 0, sizeof *p);
    p->out = show ? fp : NULL;
    p->what = what;
    p->unit = unit;
    p->total = total;
    p->now_ms = now_ms ? now_ms : clock_mono_ms;
    p->start_ms = p->now_ms();
}

void progress_update(struct progress *p, size_t done)
{
    char line[160];
    int64_t now;

    p->done = done;
    if (!p->out)
        return;
    now = p->now_ms();
    if (p->drawn && done < p->total && now - p->drawn_ms < PROGRESS_REDRAW_MS)
        return;
    progress_format(line, sizeof line, p->what, p->unit, done, p->total,
                    now - p->start_ms);
    /* \033[K: the rest of the old line goes, whatever its length */
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
    p->drawn = 1;
    p->drawn_ms = now;
}

void progress_end(struct progress *p)
{
    if (p->out && p->drawn) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->drawn = 0;
}
