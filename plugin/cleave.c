/* SPDX-License-Identifier: ISC */
/* LV2 entry point of cleave.lv2: the descriptor and the extension interfaces
 * (worker, state). The work is done in clv_plugin.c (setup, worker, state) and
 * clv_plugin_rt.c (audio thread). */
#include <string.h>

#include <lv2/core/lv2.h>
#include <lv2/state/state.h>
#include <lv2/worker/worker.h>

#include "clv_plugin.h"

static LV2_Handle instantiate(const LV2_Descriptor *d, double rate, const char *bundle_path,
                              const LV2_Feature *const *features)
{
    (void)d;
    return clv_plugin_new(rate, bundle_path, features);
}

static void connect_port(LV2_Handle h, uint32_t port, void *data)
{
    clv_plugin_connect_port(h, port, data);
}

static void activate(LV2_Handle h) { clv_plugin_activate(h); }

static void run(LV2_Handle h, uint32_t n) { clv_plugin_run(h, n); }

static void deactivate(LV2_Handle h) { (void)h; }

static void cleanup(LV2_Handle h) { clv_plugin_free(h); }

static LV2_Worker_Status work(LV2_Handle h, LV2_Worker_Respond_Function respond,
                              LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
    return clv_plugin_work(h, respond, handle, size, data);
}

static LV2_Worker_Status work_response(LV2_Handle h, uint32_t size, const void *body)
{
    return clv_plugin_work_response(h, size, body);
}

static LV2_State_Status save(LV2_Handle h, LV2_State_Store_Function store, LV2_State_Handle sh,
                             uint32_t flags, const LV2_Feature *const *features)
{
    return clv_plugin_save(h, store, sh, flags, features);
}

static LV2_State_Status restore(LV2_Handle h, LV2_State_Retrieve_Function retrieve,
                                LV2_State_Handle sh, uint32_t flags,
                                const LV2_Feature *const *features)
{
    return clv_plugin_restore(h, retrieve, sh, flags, features);
}

static const void *extension_data(const char *uri)
{
    static const LV2_Worker_Interface worker = {work, work_response, NULL};
    static const LV2_State_Interface state = {save, restore};
    if (!strcmp(uri, LV2_WORKER__interface)) return &worker;
    if (!strcmp(uri, LV2_STATE__interface)) return &state;
    return NULL;
}

static const LV2_Descriptor descriptor = {
    CLV_PLUGIN_URI, instantiate, connect_port, activate, run, deactivate, cleanup, extension_data,
};

/* The only exported symbol. Thread: any (LV2 discovery class). */
LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{
    return index == 0 ? &descriptor : NULL;
}
