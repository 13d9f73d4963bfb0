/*
 * A small Falco plugin (API 3.x) used only by the tests of scaptools.native.
 * Written from plugin-api.md (§2); it needs no header of any SDK.
 *
 * Sourcing: id 999, source "testsrc". Open params "COUNT,BATCH": COUNT events
 * with payload {"n":i} (i = 1..COUNT), BATCH per next_batch; the last batch comes
 * with EOF. The events leave ts of every third event, tid and plugin_id for the
 * framework to fill, as the SDKs do. "COUNT,BATCH,K": next_batch fails once K
 * events are out (the last ones come with the failure). Other open params fail.
 * Extraction: fields computed from n (see FIELDS). An init config holding "fail"
 * makes init fail with a last error.
 * Build switches: -DREQ_API='"x.y.z"', -DOMIT_CONTACT, -DOMIT_CLOSE, -DNO_SOURCE,
 * -DBAD_FIELDS (a required argument that is neither index nor key), -DBAD_ID (events
 * with plugin id 5). An init config holding "tables" asks the host for a table.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef REQ_API
#define REQ_API "3.12.0"
#endif

#pragma pack(push, 1)
typedef struct {
    uint64_t ts; uint64_t tid; uint32_t len; uint16_t type; uint32_t nparams;
} evt_hdr;
#pragma pack(pop)

typedef struct { const evt_hdr *evt; uint64_t evtnum; const char *evtsrc; } evt_input;
typedef struct { uint32_t len; const void *ptr; } byte_buffer;
typedef struct {
    union {
        const char **str; uint64_t *u64; uint32_t *u32; uint32_t *boolean; byte_buffer *buf;
    } res;
    uint64_t res_len;
    uint32_t field_id;
    const char *field;
    const char *arg_key;
    uint64_t arg_index;
    uint32_t arg_present;
    uint32_t ftype;
    uint32_t flist;
} extract_field;
typedef struct { void *f[4]; } reader_vtable;
typedef struct {
    void *owner;
    const char *(*get_owner_last_error)(void *);
    uint32_t num_fields;
    extract_field *fields;
    reader_vtable table_reader;
    void *table_reader_ext;
    void *value_offsets;
} extract_input;
typedef struct {
    void *(*list_tables)(void *owner, uint32_t *n);
    void *(*get_table)(void *owner, const char *name, int32_t key_type);
    void *add_table;
    void *fields[3];
    void **fields_ext;
    void **reader_ext;
    void **writer_ext;
} tables_input;
typedef struct {
    const char *config;
    void *owner;
    const char *(*get_owner_last_error)(void *);
    const tables_input *tables;
    void (*log_fn)(void *owner, const char *component, const char *msg, int32_t sev);
} init_input;

#define MAXF 8
#define EVTSZ 64

typedef struct {
    char err[1024];
    char text[256];
    /* result slots, one per requested field of a call */
    uint64_t u64[MAXF][4];
    uint32_t u32[MAXF][4];
    const char *strs[MAXF][4];
    char strbuf[MAXF][4][64];
    byte_buffer bufs[MAXF];
    uint8_t ip[MAXF][16];
} state_t;

typedef struct {
    uint32_t count, batch, next, failat;
    unsigned char events[16][EVTSZ];
    evt_hdr *ptrs[16];
} instance_t;

static const char FIELDS[] =
    "[{\"type\":\"uint64\",\"name\":\"test.n\",\"desc\":\"the event number n\"},"
    "{\"type\":\"string\",\"name\":\"test.name\",\"desc\":\"evt<n>; absent when n % 4 == 3\"},"
    "{\"type\":\"bool\",\"name\":\"test.even\",\"desc\":\"n is even\"},"
    "{\"type\":\"string\",\"name\":\"test.tags\",\"desc\":\"t0..t(n%3-1)\",\"isList\":true},"
    "{\"type\":\"uint64\",\"name\":\"test.mul\",\"desc\":\"n times the index\","
    "\"arg\":{\"isRequired\":true,\"isIndex\":true}},"
    "{\"type\":\"string\",\"name\":\"test.kv\",\"desc\":\"key=n\",\"arg\":{\"isKey\":true}},"
    "{\"type\":\"reltime\",\"name\":\"test.dur\",\"desc\":\"n microseconds\"},"
    "{\"type\":\"abstime\",\"name\":\"test.ts\",\"desc\":\"the event time\"},"
    "{\"type\":\"ipaddr\",\"name\":\"test.ip\",\"desc\":\"10.0.0.n\"},"
    "{\"type\":\"ipaddr\",\"name\":\"test.ip6\",\"desc\":\"fe80::n\"},"
    "{\"type\":\"uint64\",\"name\":\"test.evtnum\",\"desc\":\"the evtnum given\"},"
    "{\"type\":\"string\",\"name\":\"test.src\",\"desc\":\"the evtsrc given\"},"
    "{\"type\":\"string\",\"name\":\"test.secret\",\"desc\":\"hidden\","
    "\"properties\":[\"hidden\"]}]";

const char *plugin_get_required_api_version(void) { return REQ_API; }
const char *plugin_get_version(void) { return "0.2.1"; }
const char *plugin_get_name(void) { return "native3test"; }
const char *plugin_get_description(void) { return "test plugin for the API 3.x host"; }
#ifndef OMIT_CONTACT
const char *plugin_get_contact(void) { return "tests"; }
#endif

#ifdef INIT_SCHEMA
/* a JSON Schema for the init config: an object with an integer "level", nothing else */
const char *plugin_get_init_schema(int32_t *type) {
    *type = 1;
    return "{\"type\":\"object\",\"properties\":{\"level\":{\"type\":\"integer\"}},"
           "\"additionalProperties\":false}";
}
#endif

void *plugin_init(const init_input *in, int32_t *rc) {
    state_t *s = calloc(1, sizeof(state_t));
    uint32_t n = 99;
    *rc = 1;
    if (!in || !in->config || !in->owner || !in->get_owner_last_error || !in->tables
            || !in->tables->fields_ext || !in->tables->reader_ext || !in->tables->writer_ext
            || !in->log_fn) {
        snprintf(s->err, sizeof s->err, "incomplete init input");
        return s;
    }
    if (in->tables->list_tables(in->owner, &n) != NULL || n != 0) {
        snprintf(s->err, sizeof s->err, "list_tables stub misbehaved");
        return s;
    }
    if (strstr(in->config, "tables")) {
        if (in->tables->get_table(in->owner, "threads", 4) == NULL) {
            snprintf(s->err, sizeof s->err, "no threads table: %s",
                     in->get_owner_last_error(in->owner));
            return s;
        }
    }
    if (strstr(in->config, "fail")) {
        snprintf(s->err, sizeof s->err, "init refused: config '%s'", in->config);
        return s;
    }
    in->log_fn(in->owner, NULL, "initialised", 6);
    *rc = 0;
    return s;
}

void plugin_destroy(void *s) { free(s); }
const char *plugin_get_last_error(void *s) { return ((state_t *)s)->err; }

#ifndef NO_SOURCE
uint32_t plugin_get_id(void) { return 999; }
const char *plugin_get_event_source(void) { return "testsrc"; }

void *plugin_open(void *st, const char *params, int32_t *rc) {
    state_t *s = st;
    instance_t *h;
    unsigned count, batch, failat = 0;
    if (sscanf(params, "%u,%u,%u", &count, &batch, &failat) < 2 || batch == 0 || batch > 16) {
        snprintf(s->err, sizeof s->err, "bad open params '%s'", params);
        *rc = 1;
        return NULL;
    }
    h = calloc(1, sizeof(instance_t));
    h->count = count;
    h->batch = batch;
    h->failat = failat;
    *rc = 0;
    return h;
}

#ifndef OMIT_CLOSE
void plugin_close(void *s, void *h) { (void)s; free(h); }
#endif

static void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

int32_t plugin_next_batch(void *st, void *hh, uint32_t *nevts, evt_hdr ***evts) {
    instance_t *h = hh;
    state_t *s = st;
    uint32_t k = 0;
    while (k < h->batch && h->next < h->count && (!h->failat || h->next < h->failat)) {
        unsigned char *e = h->events[k];
        char payload[32];
        uint32_t i = ++h->next;
        int len = snprintf(payload, sizeof payload, "{\"n\":%u}", i);
        evt_hdr hdr = {i % 3 == 0 ? UINT64_MAX : 1700000000000000000ULL + i * 1000ULL,
                       UINT64_MAX, 38 + len, 322, 2};
        memcpy(e, &hdr, 26);
        put_u32(e + 26, 4);
        put_u32(e + 30, len);
#ifdef BAD_ID
        put_u32(e + 34, 5);
#else
        put_u32(e + 34, 0);
#endif
        memcpy(e + 38, payload, len);
        h->ptrs[k++] = (evt_hdr *)e;
    }
    *nevts = k;
    *evts = h->ptrs;
    if (h->failat && h->next >= h->failat) {
        snprintf(s->err, sizeof s->err, "stopped after %u events", h->next);
        return 1;
    }
    return h->next >= h->count ? 2 : 0;
}

const char *plugin_event_to_string(void *st, const evt_input *in) {
    state_t *s = st;
    uint32_t datalen;
    memcpy(&datalen, (const unsigned char *)in->evt + 30, 4);
    snprintf(s->text, sizeof s->text, "payload %.*s (%u bytes)", (int)datalen,
             (const char *)in->evt + 38, datalen);
    return s->text;
}
#endif

#ifdef BAD_FIELDS
const char *plugin_get_fields(void) {
    return "[{\"type\":\"uint64\",\"name\":\"test.n\",\"desc\":\"n\","
           "\"arg\":{\"isRequired\":true}}]";
}
#else
const char *plugin_get_fields(void) { return FIELDS; }
#endif
const char *plugin_get_extract_event_sources(void) { return "[\"testsrc\"]"; }

static uint16_t TYPES[] = {322};
uint16_t *plugin_get_extract_event_types(uint32_t *n, void *s) {
    (void)s;
    *n = 1;
    return TYPES;
}

static int one_field(state_t *s, const evt_input *in, extract_field *f, int slot) {
    const unsigned char *e = (const unsigned char *)in->evt;
    char text[64];
    uint32_t datalen, n, j;
    if (in->evt->type != 322) {
        snprintf(s->err, sizeof s->err, "not a plugin event");
        return 1;
    }
    memcpy(&datalen, e + 30, 4);
    if (datalen >= sizeof text) datalen = sizeof text - 1;
    memcpy(text, e + 38, datalen);
    text[datalen] = 0;
    if (sscanf(text, "{\"n\":%u", &n) != 1) {
        f->res_len = 0;
        return 0;
    }
    f->res_len = 1;
    f->res.u64 = s->u64[slot];
    switch (f->field_id) {
    case 0: s->u64[slot][0] = n; break;
    case 1:
        if (n % 4 == 3) { f->res_len = 0; break; }
        snprintf(s->strbuf[slot][0], 64, "evt%u", n);
        s->strs[slot][0] = s->strbuf[slot][0];
        f->res.str = s->strs[slot];
        break;
    case 2: s->u32[slot][0] = n % 2 == 0; f->res.boolean = s->u32[slot]; break;
    case 3:
        if (!f->flist) { snprintf(s->err, sizeof s->err, "flist not set"); return 1; }
        f->res_len = n % 3;
        for (j = 0; j < n % 3; j++) {
            snprintf(s->strbuf[slot][j], 64, "t%u", j);
            s->strs[slot][j] = s->strbuf[slot][j];
        }
        f->res.str = s->strs[slot];
        break;
    case 4:
        if (!f->arg_present) {
            snprintf(s->err, sizeof s->err, "test.mul needs an index");
            return 1;
        }
        s->u64[slot][0] = n * f->arg_index;
        break;
    case 5:
        snprintf(s->strbuf[slot][0], 64, "%s=%u",
                 f->arg_present && f->arg_key ? f->arg_key : "nokey", n);
        s->strs[slot][0] = s->strbuf[slot][0];
        f->res.str = s->strs[slot];
        break;
    case 6: s->u64[slot][0] = n * 1000ULL; break;
    case 7: s->u64[slot][0] = in->evt->ts; break;
    case 8:
    case 9:
        memset(s->ip[slot], 0, 16);
        if (f->field_id == 8) {
            s->ip[slot][0] = 10; s->ip[slot][3] = (uint8_t)n; s->bufs[slot].len = 4;
        } else {
            s->ip[slot][0] = 0xfe; s->ip[slot][1] = 0x80; s->ip[slot][15] = (uint8_t)n;
            s->bufs[slot].len = 16;
        }
        s->bufs[slot].ptr = s->ip[slot];
        f->res.buf = &s->bufs[slot];
        break;
    case 10: s->u64[slot][0] = in->evtnum; break;
    case 11:
        snprintf(s->strbuf[slot][0], 64, "%s", in->evtsrc ? in->evtsrc : "(null)");
        s->strs[slot][0] = s->strbuf[slot][0];
        f->res.str = s->strs[slot];
        break;
    default:
        f->res_len = 0;
    }
    return 0;
}

int32_t plugin_extract_fields(void *st, const evt_input *in, const extract_input *x) {
    state_t *s = st;
    uint32_t i;
    if (!x->owner || !x->get_owner_last_error || !x->table_reader_ext || x->num_fields > MAXF)
        return 1;
    for (i = 0; i < x->num_fields; i++)
        if (one_field(s, in, &x->fields[i], (int)i) != 0)
            return 1;
    return 0;
}
