/*  pm-load: pre-loads payments straight into payment-core, for `make bench`.
 *
 *  Sends PAYMENT_CREATE envelopes (pm_proto.h) to payment-core's api socket
 *  over one DEALER, keeping up to --inflight requests outstanding (pipelined),
 *  so payment-core's group commit sees full batches. The auth field carries
 *  the BLAKE2b-256 of a service token (paymentctl token create --role
 *  service), which may create payments for any sender. Every payment goes
 *  to bench-merchant by its payment method card-1 in USD, which the operator
 *  registers first (paymentctl method add --id card-1 --principal
 *  bench-merchant --bank none --currency USD).
 *
 *      pm-load --endpoint tcp://127.0.0.1:7100 --token pmk_... --count 1000000
 *              [--inflight 1000] [--tag run1] [--ids-out FILE] [--ids-every N]
 *
 *  Every idempotency token is "<tag>-<n>", so a tag must not be reused
 *  against one data directory (a reused token is an idempotent replay).
 *  --ids-out writes the id of every N-th created payment, one a line (the
 *  retrieve case of the scale run picks from them). Prints one JSON line:
 *  {"count", "ok", "errors", "seconds", "rate"}; exits 1 when any request
 *  failed or no reply came for 30 s.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pm_envelope.h"
#include "pm_ids.h"
#include "pm_proto.h"
#include "pm_sock.h"

#define S_MAX_MSG (1024 * 1024)
#define S_STALL_MS 30000

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_usage(void)
{
    fprintf(stderr, "usage: pm-load --endpoint EP --token TOKEN --count N [--inflight N] "
                    "[--tag TAG] [--ids-out FILE] [--ids-every N]\n"
                    "       [--curve-secret-key-file NAME.key --curve-server-public-key-file "
                    "CORE.pub]\n");
    exit(2);
}

static void s_kv(msgpack_packer *pk, const char *k, const char *v)
{
    pm_mp_pack_cstr(pk, k);
    pm_mp_pack_cstr(pk, v);
}

/* Packs one PAYMENT_CREATE envelope for request n into buf (reset first). */
static void s_pack_create(msgpack_sbuffer *buf, const uint8_t auth[PM_AUTH_LEN], const char *tag,
                          uint64_t n)
{
    msgpack_sbuffer_clear(buf);
    pm_header_t h;
    memset(&h, 0, sizeof h);
    h.type = PM_MSG_PAYMENT_CREATE;
    h.corr_id = n + 1;
    h.deadline_ms = 0;
    h.has_auth = true;
    memcpy(h.auth, auth, PM_AUTH_LEN);
    snprintf(h.trace_id, sizeof h.trace_id, "load-%" PRIu64, n);
    pm_envelope_pack_header(buf, &h);

    char idem[96], sender[32];
    snprintf(idem, sizeof idem, "%s-%" PRIu64, tag, n);
    snprintf(sender, sizeof sender, "load-%" PRIu64, n % 1000);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    s_kv(&pk, "idem", idem);
    s_kv(&pk, "sender_id", sender);
    s_kv(&pk, "sender_method", NULL);
    s_kv(&pk, "recipient_id", "bench-merchant");
    s_kv(&pk, "recipient_method", "card-1");
    s_kv(&pk, "currency", "USD");
    pm_mp_pack_cstr(&pk, "amount_minor");
    msgpack_pack_int64(&pk, (int64_t)(100 + n % 100000));
}

int main(int argc, char **argv)
{
    const char *endpoint = NULL, *token = NULL, *tag = "load", *ids_out = NULL;
    const char *curve_key = "", *curve_server = "";
    long long count = -1, inflight = 1000, ids_every = 100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            s_usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--endpoint"))
            endpoint = v;
        else if (!strcmp(a, "--token"))
            token = v;
        else if (!strcmp(a, "--count"))
            count = atoll(v);
        else if (!strcmp(a, "--inflight"))
            inflight = atoll(v);
        else if (!strcmp(a, "--tag"))
            tag = v;
        else if (!strcmp(a, "--ids-out"))
            ids_out = v;
        else if (!strcmp(a, "--ids-every"))
            ids_every = atoll(v);
        else if (!strcmp(a, "--curve-secret-key-file"))
            curve_key = v;
        else if (!strcmp(a, "--curve-server-public-key-file"))
            curve_server = v;
        else
            s_usage();
    }
    if (!endpoint || !token || count < 0 || inflight < 1 || ids_every < 1)
        s_usage();

    if (pm_sock_curve_client("pm-load", curve_key, curve_server) != 0)
        return 2;
    pm_sock_init();
    pm_ids_init();
    uint8_t auth[PM_AUTH_LEN];
    pm_token_hash(token, strlen(token), auth);

    FILE *ids = NULL;
    if (ids_out && !(ids = fopen(ids_out, "w"))) {
        fprintf(stderr, "pm-load: %s: %s\n", ids_out, strerror(errno));
        return 1;
    }
    zsock_t *dealer = pm_sock_dealer_connect(endpoint, 1000000, S_MAX_MSG, false);
    if (!dealer) {
        fprintf(stderr, "pm-load: cannot connect to %s\n", endpoint);
        return 1;
    }
    void *sock = zsock_resolve(dealer);
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);

    uint64_t sent = 0, done = 0, ok = 0, errors = 0;
    int64_t t0 = s_mono_ms(), last_reply = t0;
    char first_err[256] = "";
    while (done < (uint64_t)count) {
        /* Fill the window. */
        while (sent < (uint64_t)count && sent - done < (uint64_t)inflight) {
            s_pack_create(&buf, auth, tag, sent);
            if (pm_sock_send(dealer, buf.data, buf.size) != 0) {
                if (errno == EAGAIN)
                    break;
                fprintf(stderr, "pm-load: send: %s\n", strerror(errno));
                return 1;
            }
            sent++;
        }
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, 200);
        if (rc < 0 && errno != EINTR)
            break;
        for (;;) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            last_reply = s_mono_ms();
            pm_header_t partial;
            bool header_ok = false;
            char why[128];
            pm_envelope_t *env =
                pm_envelope_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), S_MAX_MSG, &partial,
                                   &header_ok, why, sizeof why);
            zmq_msg_close(&msg);
            done++;
            int64_t err = -1;
            const msgpack_object *body = env ? pm_envelope_body(env) : NULL;
            if (body && pm_mp_get_int(body, "err", &err) == 0 && err == 0) {
                ok++;
                const pm_header_t *h = pm_envelope_header(env);
                if (ids && (h->corr_id - 1) % (uint64_t)ids_every == 0) {
                    char id[PM_UUID_LEN + 1];
                    const msgpack_object *p = pm_mp_get(body, "payment");
                    if (p && pm_mp_copy_str(p, "id", id, sizeof id) == 0)
                        fprintf(ids, "%s\n", id);
                }
            } else {
                errors++;
                if (!first_err[0]) {
                    char msgtext[160] = "";
                    if (body)
                        pm_mp_copy_str(body, "msg", msgtext, sizeof msgtext);
                    snprintf(first_err, sizeof first_err, "err %" PRId64 " %s %s", err,
                             env ? "" : why, msgtext);
                }
            }
            pm_envelope_destroy(&env);
        }
        if (s_mono_ms() - last_reply > S_STALL_MS) {
            fprintf(stderr, "pm-load: no reply for %d s (%" PRIu64 " of %lld done)\n",
                    S_STALL_MS / 1000, done, count);
            break;
        }
    }
    double secs = (double)(s_mono_ms() - t0) / 1000.0;
    if (ids)
        fclose(ids);
    msgpack_sbuffer_destroy(&buf);
    zsock_destroy(&dealer);
    if (first_err[0])
        fprintf(stderr, "pm-load: first error: %s\n", first_err);
    printf("{\"count\":%lld,\"ok\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"seconds\":%.3f,\"rate\":%.1f}\n",
           count, ok, errors + ((uint64_t)count - done), secs, secs > 0 ? (double)ok / secs : 0.0);
    return (errors == 0 && done == (uint64_t)count) ? 0 : 1;
}
