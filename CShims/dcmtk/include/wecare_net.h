/* DICOM networking over DCMTK: a Storage SCP pool (C-STORE, C-ECHO), a Storage SCU and C-ECHO,
 * optionally over TLS. Every decision (accept, where to write, which status) is a callback into
 * Swift; callbacks run on DCMTK worker threads, several at once. Strings are NUL-terminated UTF-8. */
#ifndef WECARE_NET_H
#define WECARE_NET_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* ---- shared ---------------------------------------------------------------------------------- */

typedef struct {
    const char *certificate_file;          /* PEM; NULL or "" = none (SCU without client certificate) */
    const char *private_key_file;          /* PEM */
    const char *trusted_certificates_file; /* PEM bundle; may be NULL */
    int require_peer_certificate;          /* SCP: require a trusted client cert; SCU: verify the server */
} wc_tls_config;

/* DCMTK's own log lines (warnings and errors only), handed to Swift instead of the console.
 * level: 3 warn, 4 error, 5 fatal. Messages may contain UIDs or AE titles: redact before logging.
 * Set once per process; NULL silences DCMTK completely (the default). */
typedef void (*wc_net_log_sink)(int level, const char *logger, const char *message);
void wc_net_set_log_sink(wc_net_log_sink sink);

/* Loads DCMTK's data dictionary now; otherwise the first message received or sent loads it,
 * and waits 20-30 ms for it. 1 when a dictionary is loaded, 0 when none was found (DCMDICTPATH,
 * else the dcmtk package's dicom.dic). */
int wc_dicom_dictionary_load(void);

/* Why an association-level operation failed. */
enum {
    WC_NET_OK = 0,
    WC_NET_CONNECT_FAILED = 1,   /* TCP connect refused / unreachable / timed out */
    WC_NET_REJECTED = 2,         /* A-ASSOCIATE-RJ: result/source/reason are set */
    WC_NET_NO_CONTEXT = 3,       /* association accepted but no usable presentation context */
    WC_NET_TLS = 4,              /* TLS set-up or handshake failed */
    WC_NET_ASSOCIATION = 5,      /* abort, timeout, protocol error */
    WC_NET_CONFIG = 6,           /* bad arguments */
    WC_NET_LISTEN = 7            /* cannot bind/listen */
};

typedef struct {
    int kind;                    /* WC_NET_* */
    uint8_t result, source, reason;
    char message[512];
} wc_net_error;

/* ---- Storage SCP ----------------------------------------------------------------------------- */

/* How an association that Swift accepted ended. */
enum {
    WC_ASSOC_RELEASED = 0,
    WC_ASSOC_ABORTED = 1,        /* A-ABORT, a broken connection, a DIMSE error or timeout */
    WC_ASSOC_NO_CONTEXT = 2,     /* refused after negotiation: no proposed presentation context fits */
    WC_ASSOC_REFUSED = 3         /* refused by DCMTK's own checks after Swift accepted (e.g. application context) */
};

/* Why a connection never reached association_requested. */
enum {
    WC_CONN_CLOSED_BEFORE_REQUEST = 1, /* closed without sending anything (port probe, TCP health check) */
    WC_CONN_DEADLINE = 2,              /* no complete A-ASSOCIATE-RQ within the ACSE timeout: cut off */
    WC_CONN_TLS_FAILED = 3,            /* TLS handshake failed (untrusted certificate, plain DICOM, ...) */
    WC_CONN_MALFORMED_PDU = 4,         /* what arrived is not a well-formed A-ASSOCIATE-RQ */
    WC_CONN_ASSOCIATION_LIMIT = 5,     /* max_associations busy: refused transient, local limit exceeded */
    WC_CONN_HANDSHAKE_LIMIT = 6,       /* max_handshakes in progress: closed at once */
    WC_CONN_STOPPING = 7,              /* the SCP stopped during the handshake */
    WC_CONN_NETWORK_ERROR = 8          /* accept() or the socket set-up failed */
};

typedef struct {
    const char *sop_class_uid;
    const char *const *transfer_syntaxes; /* in order of preference */
    size_t transfer_syntax_count;
} wc_presentation_context;

typedef struct {
    const char *ae_title;
    uint16_t port;                /* 0: any free port */
    int max_associations;
    /* Connections between accept and a complete A-ASSOCIATE-RQ (TLS handshake included), each on
     * its own thread; one more is accepted and closed at once (WC_CONN_HANDSHAKE_LIMIT). */
    int max_handshakes;
    /* Also the deadline for accept + TLS handshake + A-ASSOCIATE-RQ, however the peer trickles. */
    int acse_timeout_seconds;
    int dimse_timeout_seconds;
    const wc_tls_config *tls;     /* NULL: plain TCP */
    const wc_presentation_context *contexts;
    size_t context_count;
} wc_scp_config;

typedef struct {
    const char *calling_ae;
    const char *called_ae;
    const char *peer_address;
} wc_association_request;

typedef struct {
    const char *calling_ae;
    const char *peer_address;
    const char *sop_class_uid;
    const char *sop_instance_uid;
    const char *transfer_syntax_uid;
    uint64_t association_id;
} wc_store_command;

typedef struct {
    void *context;
    /* Return 0 to accept; nonzero to reject with *result (1 permanent, 2 transient), *source, *reason. */
    int (*association_requested)(void *context, const wc_association_request *request,
                                 uint8_t *result, uint8_t *source, uint8_t *reason);
    /* Return 1 and fill path (NUL-terminated, < path_capacity) to receive into that file;
     * return 0 and set *discard_status to drain the dataset without writing and answer that status.
     * comment (NUL-terminated, < comment_capacity, may stay empty): the response's Error Comment
     * (0000,0902), sent with a failure or warning status so the modality's operator reads why. */
    int (*store_requested)(void *context, const wc_store_command *command,
                           char *path, size_t path_capacity, uint16_t *discard_status,
                           char *comment, size_t comment_capacity);
    /* After receiving into path: file is NULL and error set when writing failed. The shim does not
     * parse the file (Swift scans it before anything parses it), so the three UIDs are always NULL;
     * they stay in the signature for callers built against it. Returns the C-STORE response status. */
    uint16_t (*store_received)(void *context, const wc_store_command *command, const char *file,
                               const char *sop_class_uid, const char *sop_instance_uid,
                               const char *study_instance_uid, const char *error,
                               char *comment, size_t comment_capacity);
    /* Exactly once for every association that association_requested accepted, however it ended
     * (WC_ASSOC_*): DCMTK may still refuse it after that, e.g. when no presentation context fits. */
    void (*association_ended)(void *context, uint64_t association_id, const char *calling_ae, int outcome);
    /* Once for every connection that ended before association_requested could be asked, or that the
     * pool refused (WC_CONN_*), from the listener or a handshake thread. peer_address: the IP, ""
     * when accept() itself failed; message: what DCMTK or OpenSSL said (may hold AE titles). */
    void (*connection_failed)(void *context, const char *peer_address, int reason, const char *message);
} wc_scp_callbacks;

typedef struct wc_scp wc_scp;

/* Validates the configuration and loads TLS files; NULL with *error filled on failure. */
wc_scp *wc_scp_create(const wc_scp_config *config, const wc_scp_callbacks *callbacks, wc_net_error *error);
/* Binds, starts the listener thread, returns once listening. 0 on success. */
int wc_scp_start(wc_scp *scp, wc_net_error *error);
uint16_t wc_scp_bound_port(const wc_scp *scp);
/* Stops accepting, waits for open associations to finish. Safe to call twice or before start. */
void wc_scp_stop(wc_scp *scp);
/* Stops if needed and frees. */
void wc_scp_destroy(wc_scp *scp);

/* ---- Storage SCU / C-ECHO ---------------------------------------------------------------------- */

typedef struct {
    const char *called_ae;
    const char *host;
    uint16_t port;
    const char *calling_ae;
    const wc_tls_config *tls;     /* NULL: plain TCP */
    int timeout_seconds;
} wc_peer;

typedef struct {
    char sop_instance_uid[68];    /* "" when the object could not be read */
    int has_status;               /* 1 when the peer answered */
    uint16_t status;
    char error[256];              /* "" when none */
} wc_store_result;

/* C-ECHO. Returns WC_NET_OK with *status set, or a WC_NET_* kind with *error filled. */
int wc_echo(const wc_peer *peer, uint16_t *status, wc_net_error *error);

/* An open association kept for the next files (NULL: none). */
typedef struct wc_scu_association wc_scu_association;

/* One object to store: a Part 10 file on disk, or a Part 10 file's bytes in memory. */
typedef struct {
    const char *file;             /* path; NULL when bytes is set */
    const uint8_t *bytes;         /* the whole Part 10 file; NULL to read file instead */
    size_t length;
} wc_store_source;

/* C-STORE of objects over one association: each object's SOP class is proposed with its own
 * transfer syntax plus Explicit and Implicit VR Little Endian. results has count entries.
 * Returns WC_NET_OK when an association worked (per-object outcomes in results), else the
 * association-level failure.
 * The objects go on *association when it is still open, the peer has sent nothing since
 * (no release request, abort or closed connection) and it accepted every object's own transfer
 * syntax (an uncompressed one for an uncompressed object);
 * else *association is released and a new one opened, which also proposes the SOP classes in
 * also_propose (Explicit/Implicit VR LE) so that it can serve later objects. When a kept
 * association breaks before any object is answered (the peer closed it meanwhile), the objects
 * go once more over a new one. Afterwards *association is the open association, or NULL when it
 * broke or none could be opened. */
int wc_store(wc_scu_association **association, const wc_peer *peer, const wc_store_source *sources,
             size_t count, const char *const *also_propose, size_t also_count,
             wc_store_result *results, wc_net_error *error);

/* A-RELEASE (abort when the peer does not answer) and free; NULL is ignored. */
void wc_scu_association_release(wc_scu_association *association);

#ifdef __cplusplus
}
#endif
#endif
