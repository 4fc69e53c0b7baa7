/*
 * plugin.h - channel drivers loaded from shared objects: a `type = NAME`
 * that is not built in is looked for as [channels] plugin_dir/NAME.so.
 *
 * A plugin is a shared object that exports one const struct chan_driver
 * (channels/channel.h) under the name CHAN_PLUGIN_SYMBOL:
 *
 *   const struct chan_driver nudge_channel_driver = {
 *       .abi_version = CHAN_ABI_VERSION, .type = "NAME",
 *       .init = ..., .submit = ..., .close = ...,
 *   };
 *
 * It is loaded with dlopen(RTLD_NOW | RTLD_LOCAL) and refused, with a
 * config error on the channel's `type` line, when its ABI version is not
 * this nudge's (the version is checked first: a table of another ABI may
 * be laid out differently), when its type is not NAME, or when init,
 * submit or close is missing.
 *
 * A plugin may call the few nudge functions listed in
 * channels/plugin_api.syms (reading its config keys, resolving paths and
 * secrets, reporting errors and outcomes, masking contacts, logging); the
 * programs that open channels export those and nothing else
 * (-Wl,--dynamic-list, see the Makefile). docs/channels.md says how to
 * write, build and load one.
 *
 * Threads: called while channels are opened and closed (one thread).
 */
#ifndef NUDGE_PLUGIN_H
#define NUDGE_PLUGIN_H

#include "channels/channel.h"

/* Loads the plugin for `type` of channel section sec. Returns 0 with *drv
 * (valid while the handle is open) and *dl (the dlopen() handle, which
 * the caller closes with chan_plugin_close() after the driver's close),
 * or -1 with the reason in d at the `type` line. */
int chan_plugin_open(const struct config *cfg, struct conf_section *sec,
                     const char *type, const struct chan_driver **drv,
                     void **dl, struct diag *d);

/* dlclose()s a handle from chan_plugin_open(); NULL is ignored. */
void chan_plugin_close(void *dl);

#endif
