/*  pbk_job: one bank job, from the JOB map payment-core leases to the data
 *  of its JOB_RESULT, without I/O.
 *
 *  Decodes a JOB {id, kind, attempt, payload} strictly (pm_proto.h, "Bank
 *  jobs"): every field of its kind present with its type and within its
 *  bounds, else the job is answered unknown "malformed job: <field>" and
 *  nothing is sent to a bank. Keys the kind does not name are ignored, so
 *  payment-core may add fields for its logs. Then it picks the client by
 *  payload.bank ("halkbank" -> pbk_rbs, "foreign_affairs_bank" -> pbk_tfeb),
 *  builds the request, classifies the answer and packs the result's data.
 *  pbk_worker does the I/O around it; tests/unit/test_pbk_worker_job.c
 *  covers every path.
 *
 *  A job that no bank call can serve is answered at once: an unknown bank,
 *  and for TFEB a deposit, a reverse, a two-phase order or a currency other
 *  than 934, are rejected, since nothing was applied and sending the same
 *  job again cannot change that. */
#ifndef PBK_JOB_H
#define PBK_JOB_H
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "pbk_rbs.h"
#include "pbk_tfeb.h"
#include "pbk_wire.h"

#define PBK_JOB_ID_MAX 128 /* bytes of a job id (payment-core's are UUIDs) */

typedef enum { PBK_BANK_HALKBANK = 0, PBK_BANK_TFEB } pbk_bank_t;

/* "halkbank" or "foreign_affairs_bank", as payload.bank spells them. */
const char *pbk_bank_name(pbk_bank_t bank);

/* One decoded job: fixed-size copies, so it outlives the reply it came in. */
typedef struct {
    char id[PBK_JOB_ID_MAX + 1];
    int64_t attempt; /* calls leased so far, >= 0 */
    pbk_call_t call;
    pbk_bank_t bank;
    bool has_call, has_bank;             /* call and bank were read (for logs of a refused job) */
    char order_id[PBK_ORDER_ID_MAX + 1]; /* status, deposit, reverse, refund */
    int64_t amount_minor;                /* register, deposit, refund: 1..PBK_AMOUNT_MAX */
    /* register: */
    char order_number[PBK_ORDER_NUMBER_MAX + 1];
    char currency[4];
    char return_url[PBK_RETURN_URL_MAX + 1];
    char fail_url[PBK_RETURN_URL_MAX + 1];     /* "" when none */
    char description[PBK_DESCRIPTION_MAX + 1]; /* "" when none */
    char language[3];                          /* "" when none */
    bool two_phase;
} pbk_job_t;

/* Decodes one JOB map of a JOB_TAKE reply into job (emptied first).
 * Returns 0 when the job is ready for its bank call; -1 when it must be
 * answered without one, with r set (unknown "malformed job: <field>", or
 * rejected "unknown bank" or what the bank cannot do) and job->id and
 * job->attempt filled as far as they could be read; -2 when the map has no
 * usable id (nothing can be answered: the lease runs out). o is a borrowed
 * view; job copies what it keeps. */
int pbk_job_decode(const msgpack_object *o, pbk_job_t *job, pbk_result_t *r);

/* The order of a register job: views into job. */
void pbk_job_order(const pbk_job_t *job, pbk_order_t *order);

/* TFEB's RequestId for this call: "<id>-<attempt>". Returns 0, or -1 when
 * it does not fit in cap or is not 1..PBK_TFEB_ID_MAX of [A-Za-z0-9_-]. */
int pbk_job_request_id(const pbk_job_t *job, char *out, size_t cap);

/* True when the job's call is made on a connection of its own: every call
 * that changes money or registers an order. libcurl sends a request again,
 * unasked, when a reused connection closes before any answer; for a
 * deposit, reverse or refund that would be a blind second call, and for a
 * register a second registration that RBS answers "duplicate order
 * number" although the first one went through. */
bool pbk_job_fresh_connection(const pbk_job_t *job);

/* Builds the job's request (req emptied first; release with
 * pbk_request_clear) for its bank: rbs for halkbank, tfeb and the access
 * token for TFEB (token may be NULL for halkbank). Returns 0, or -1 with
 * *why static (a value the decoder let through but the builder refuses, a
 * request that does not fit). */
int pbk_job_request(const pbk_job_t *job, const pbk_rbs_account_t *rbs,
                    const pbk_tfeb_account_t *tfeb, const char *token, pbk_request_t *req,
                    const char **why);

/* Classifies the answer to the job's call with its bank's client. */
void pbk_job_classify(const pbk_job_t *job, const pbk_answer_t *a, pbk_result_t *r);

/* Packs the JOB_RESULT data map of r: register ok {order_id, checkout_url},
 * status ok {state, amount_minor (int|nil), code}, anything else {}. */
void pbk_job_pack_data(msgpack_packer *pk, const pbk_job_t *job, const pbk_result_t *r);

#endif
