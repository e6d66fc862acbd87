/* Writers of the derived objects: Segmentation (SEG), TID 1500 Structured Report (SR) and
 * presentation state (GSPS / Color SPS). Swift decides everything (codes, UIDs, texts, which
 * frames); these functions only hand the values to DCMTK and encode the object (Part 10, Explicit
 * VR Little Endian) into memory: the gateway decides where it is stored.
 * All strings are UTF-8 / ASCII, NUL-terminated; NULL or "" means "absent" unless said otherwise.
 * Every function returns 0 on success, otherwise non-zero with a message in err (errlen bytes). */
#ifndef WECARE_WRITERS_H
#define WECARE_WRITERS_H
#include <stddef.h>
#include <stdint.h>
#include "wecare_image.h"
#ifdef __cplusplus
extern "C" {
#endif

/* A coded concept (Code Value, Coding Scheme Designator, Code Meaning). value NULL = none. */
typedef struct {
    const char *value;
    const char *scheme;
    const char *meaning;
} wc_code;

/* An encoded object: data is malloc'd and owned by the caller; release it with wc_bytes_free. */
typedef struct {
    uint8_t *data;
    size_t length;
} wc_bytes;

void wc_bytes_free(wc_bytes *bytes);

/* ---------- the source instance (what Swift needs to decide) ----------
 * Every writer copies from the source as it was opened for analysis (wc_image_open), so a job
 * parses its source once. A writer holds the handle's lock while it runs. */

/* Strings are copied into fixed buffers; empty when absent. */
typedef struct {
    char sop_class_uid[68];
    char sop_instance_uid[68];
    char study_instance_uid[68];
    char series_instance_uid[68];
    char transfer_syntax_uid[68];
    char photometric[20];
    char laterality[4];               /* (0020,0060) Laterality */
    char image_laterality[4];         /* (0020,0062) Image Laterality */
    char lossy_flag[4];               /* (0028,2110) Lossy Image Compression */
    char lossy_ratio[68];             /* (0028,2112), backslash-separated */
    char lossy_method[68];            /* (0028,2114), backslash-separated */
    char frame_of_reference_uid[68];
    uint32_t rows, columns, frames, samples_per_pixel, bits_allocated;
    uint64_t encapsulated_bytes;      /* sum of compressed fragment lengths; 0 when native */
} wc_source_info;

int wc_writer_source_info(wc_image *source, wc_source_info *info, char *err, size_t errlen);

/* ---------- shared identification of a derived instance ---------- */

typedef struct {
    const char *series_instance_uid;
    const char *sop_instance_uid;
    const char *series_description;
    const char *series_number;        /* IS as text */
    const char *instance_number;      /* IS as text */
    const char *content_date;         /* YYYYMMDD */
    const char *content_time;         /* HHMMSS(.ffffff) */
    const char *manufacturer;
    const char *model_name;
    const char *device_serial_number;
    const char *software_versions;
    const char *laterality;           /* R / L / NULL: General Series Laterality (PR only; SEG and
                                         SR carry it as an anatomy / finding-site modifier) */
} wc_derived_ids;

/* ---------- Segmentation ---------- */

typedef struct {
    wc_image *source;                 /* the source instance (patient/study/refs copied) */
    wc_derived_ids ids;
    const char *content_label;        /* CS */
    const char *content_description;
    const char *content_creator;      /* PN, may be NULL */
    /* the one segment */
    const char *segment_label;
    wc_code category, type, anatomy, anatomy_modifier; /* modifier.value NULL = none */
    const char *algorithm_name;
    const char *algorithm_version;
    wc_code algorithm_family;
    const char *derivation_description;
    /* frames: frame_count masks of rows*columns bytes (0 / non-zero), row-major */
    uint16_t rows, columns;
    uint32_t frame_count;
    const uint8_t *masks;
    const int32_t *source_frame_numbers; /* NULL for single-frame sources, else frame_count entries */
    const char *dimension_organization_uid;
    const char *patient_orientation;  /* e.g. "" -> written empty (type 2C) */
    int shared_plane_orientation;     /* 1: shared Plane Orientation 1\0\0\0\1\0 (OHIF) */
    int lossy_flag;                   /* 1: Lossy Image Compression "01" + ratio + method (if given) */
    const char *lossy_ratio;
    const char *lossy_method;
    const char *algorithm_type;       /* "AUTOMATIC" (NULL) or "SEMIAUTOMATIC" (a person corrected it) */
} wc_seg_request;

int wc_write_seg(const wc_seg_request *req, wc_bytes *out, char *err, size_t errlen);

/* ---------- Structured report: a generic content tree, nodes in pre-order ---------- */

enum { WC_REL_ROOT = 0, WC_REL_CONTAINS, WC_REL_HAS_OBS_CONTEXT, WC_REL_HAS_CONCEPT_MOD,
       WC_REL_HAS_PROPERTIES, WC_REL_INFERRED_FROM, WC_REL_SELECTED_FROM };
enum { WC_VT_CONTAINER = 0, WC_VT_TEXT, WC_VT_CODE, WC_VT_NUM, WC_VT_UIDREF, WC_VT_IMAGE,
       WC_VT_SCOORD, WC_VT_PNAME /* text: a person's name (PN) */ };
enum { WC_GT_POINT = 0, WC_GT_POLYLINE, WC_GT_CIRCLE, WC_GT_ELLIPSE, WC_GT_MULTIPOINT };

typedef struct {
    int32_t parent;                   /* index of an earlier node; -1 for the root */
    int32_t relationship;             /* WC_REL_* */
    int32_t value_type;               /* WC_VT_* */
    wc_code concept;                  /* concept name; value NULL = none (IMAGE in a library) */
    const char *text;                 /* TEXT, UIDREF value; NUM numeric value */
    wc_code code;                     /* CODE value; NUM measurement unit */
    const char *template_id;          /* CONTAINER: Template Identifier (DCMR), e.g. "1500" */
    /* IMAGE */
    const char *ref_sop_class_uid;
    const char *ref_sop_instance_uid;
    const int32_t *ref_frames; size_t ref_frame_count;
    const int32_t *ref_segments; size_t ref_segment_count;
    /* SCOORD: x,y pairs in image pixel coordinates (column, row; 0.5 = first pixel centre) */
    int32_t graphic_type;
    const float *graphic_data; size_t graphic_point_count;
} wc_sr_node;

typedef struct {
    const char *study_instance_uid;
    const char *series_instance_uid;
    const char *sop_class_uid;
    const char *sop_instance_uid;
} wc_sop_ref;

/* A coding scheme not in the standard's registry (e.g. a private "99..." one), declared in the
 * Coding Scheme Identification Sequence. */
typedef struct {
    const char *designator;
    const char *name;
    const char *responsible_organization;
} wc_coding_scheme;

typedef struct {
    wc_image *source;                 /* the source instance (patient/study copied from it) */
    wc_derived_ids ids;
    const char *sop_class_uid;        /* Comprehensive 3D SR or Enhanced SR */
    const wc_sr_node *nodes; size_t node_count;
    const wc_sop_ref *evidence; size_t evidence_count; /* Current Requested Procedure Evidence */
    const wc_coding_scheme *schemes; size_t scheme_count;
    const char *completion_flag;      /* "COMPLETE" (NULL) or "PARTIAL" */
    /* A signed revision (the reading room): VerificationFlag VERIFIED with one Verifying
     * Observer; NULL name = UNVERIFIED (AI output). */
    const char *verifying_observer_name;      /* PN */
    const char *verifying_organization;       /* LO, written even when empty */
    const char *verification_datetime;        /* DT YYYYMMDDHHMMSS */
    /* Predecessor Documents Sequence: the documents this one replaces (the AI's SR). */
    const wc_sop_ref *predecessors; size_t predecessor_count;
} wc_sr_request;

int wc_write_sr(const wc_sr_request *req, wc_bytes *out, char *err, size_t errlen);

/* ---------- Presentation state (GSPS or Color SPS) with graphic annotations ---------- */

typedef struct {
    const float *points; size_t point_count;   /* x,y pairs, PIXEL units; closed = first repeated */
    const char *graphic_type;                  /* "POLYLINE" */
    int filled;
} wc_pr_graphic;

typedef struct {
    const char *text;
    float top_left[2], bottom_right[2];        /* bounding box, PIXEL units */
    int has_anchor; float anchor[2];
} wc_pr_text;

typedef struct {
    wc_image *source;                          /* the source instance */
    wc_derived_ids ids;
    const char *sop_class_uid;                 /* GSPS ...11.1 or Color SPS ...11.2 */
    const char *content_label;                 /* CS */
    const char *content_description;
    const char *content_creator;
    const int32_t *referenced_frames; size_t referenced_frame_count; /* multi-frame sources */
    const char *layer_name;                    /* CS */
    const char *layer_description;
    int32_t layer_gray;                        /* recommended display grayscale 0..65535, -1 none */
    const uint16_t *layer_cielab;              /* 3 values or NULL */
    const wc_pr_graphic *graphics; size_t graphic_count;
    const wc_pr_text *texts; size_t text_count;
    uint32_t columns, rows;                    /* displayed area (whole image) */
    const char *presentation_lut_shape;        /* GSPS: IDENTITY / INVERSE; NULL for colour */
    const uint8_t *icc_profile; size_t icc_profile_length; /* Color SPS */
} wc_pr_request;

int wc_write_pr(const wc_pr_request *req, wc_bytes *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
