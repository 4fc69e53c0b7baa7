/*
 * check_channels.c - `nudgectl check` of the channels (see check.h): the
 * daemon's own channels_open(), so that check and nudged never disagree
 * on a channel. Opening a channel has no effect outside this process
 * but one: an outbox creates its file, as nudged would at start.
 */
#include <stdio.h>

#include "channels/channel.h"
#include "cli/check.h"

int check_channels(struct ctl *ctl, struct diag *d, FILE *report)
{
    struct channel_set set = {0};
    int errors = d->errors;

    if (channels_open(&ctl->cfg, &set, d) == 0) {
        fprintf(report, "channels: %zu (", set.n);
        for (size_t i = 0; i < set.n; i++)
            fprintf(report, "%s%s %s", i ? ", " : "", set.v[i].name,
                    set.v[i].type);
        fprintf(report, ")\n");
        channels_close(&set);
    }
    return d->errors > errors ? -1 : 0;
}
