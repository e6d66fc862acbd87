/* Reading instances: attributes, ultrasound regions, decoded frames.
 * The shim parses files and decodes frames with DCMTK; which attributes mean what, which
 * encodings are accepted and how a frame is windowed is decided in Swift (DICOMInstance). */
#ifndef WECARE_IMAGE_H
#define WECARE_IMAGE_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Registers DCMTK's JPEG, JPEG-LS and RLE decoders. Idempotent and thread-safe (one-time init);
 * wc_image_open calls it, so callers only need it to decode through other DCMTK paths. */
void wc_codecs_register(void);

/* Outcome of wc_image_open / wc_image_decode_frame. */
typedef enum {
    WC_IMAGE_OK = 0,
    WC_IMAGE_IO = 1,         /* file missing or unreadable */
    WC_IMAGE_NOT_DICOM = 2,  /* not parsable as DICOM */
    WC_IMAGE_TRUNCATED = 3,  /* the file ends before the dataset does */
    WC_IMAGE_DECODE = 4,     /* the frame could not be decoded (message says why) */
    WC_IMAGE_ARGUMENT = 5    /* bad frame index or output buffer too small */
} wc_image_status;

/* One parsed DICOM file (meta header + dataset). Large values (pixel data) are read from the
 * file on demand, so the file must stay in place while frames are decoded. Calls on one
 * handle are serialised inside; different handles may be used on different threads at once. */
typedef struct wc_image wc_image;

/* Parses `path`. On failure returns NULL, sets *status and writes a message (no PHI). */
wc_image *wc_image_open(const char *path, wc_image_status *status, char *message, size_t message_len);
void wc_image_close(wc_image *image);

/* Attribute access. Tags are packed as (group << 16) | element. `seq_tag` = 0 reads the
 * top-level dataset (group 0002 reads the meta header); otherwise the attribute is read from
 * item `item` (0-based) of the sequence `seq_tag` in the top-level dataset. */

/* Whole value as text (multiple values joined by '\'), copied NUL-terminated into buf (may be
 * NULL). Returns the full length without NUL, or -1 when the attribute is absent. */
long wc_image_string(wc_image *image, uint32_t seq_tag, uint32_t item, uint32_t tag, char *buf, size_t buf_len);
/* Value `index` of a numeric attribute (US, SS, UL, SL, FL, FD, DS, IS) as a double.
 * Returns 0, or -1 when absent, not numeric or index out of range. */
int wc_image_number(wc_image *image, uint32_t seq_tag, uint32_t item, uint32_t tag, uint32_t index, double *out);
/* Number of items of a top-level sequence, -1 when absent. */
long wc_image_item_count(wc_image *image, uint32_t seq_tag);
/* UID of the transfer syntax the dataset was actually parsed in (for files without a meta
 * header); "" when unknown. Static storage. */
const char *wc_image_original_transfer_syntax(wc_image *image);
/* 1 when the dataset has a Pixel Data (7FE0,0010) element with a value. */
int wc_image_has_pixel_data(wc_image *image);

/* How monochrome frames are mapped to 8 bits; chosen in Swift from the attributes. */
typedef enum {
    WC_VOI_MINMAX = 0,  /* DCMTK min-max window over this frame (min..max -> 0..254/255) */
    WC_VOI_WINDOW = 1,  /* Window Center/Width value `voi_index` */
    WC_VOI_LUT = 2,     /* VOI LUT Sequence item `voi_index` */
    WC_VOI_NONE = 3     /* no VOI: the full stored range 0..2^BitsStored-1 (identity for 8 bits) */
} wc_voi_mode;

/* Decodes frame `frame` (0-based) to 8 bits per sample and writes rows x columns x samples
 * bytes into out: samples = 1 for monochrome (in stored polarity: MONOCHROME1 is NOT inverted
 * here), 3 (interleaved RGB) for colour (RGB, YBR_*, PALETTE COLOR). Writes width,
 * height, samples; returns WC_IMAGE_OK or a status with a message. */
wc_image_status wc_image_decode_frame(wc_image *image, uint32_t frame, wc_voi_mode voi, uint32_t voi_index,
                                      uint8_t *out, size_t out_len,
                                      uint32_t *width, uint32_t *height, uint32_t *samples,
                                      char *message, size_t message_len);

/* Copies frame `frame` (0-based) of native (not encapsulated) Pixel Data as stored: the
 * `frame_bytes` bytes at offset frame x frame_bytes, read from the file. For samples that need
 * no mapping to 8 bits, which Swift decides; WC_IMAGE_DECODE with a message when the data is
 * encapsulated or shorter than the frame's end. */
wc_image_status wc_image_read_native_frame(wc_image *image, uint32_t frame, uint8_t *out, size_t frame_bytes,
                                           char *message, size_t message_len);

/* Copies frame `frame` (0-based) of a one-sample image as its stored sample values, 8 or 16 bits
 * each in this machine's byte order, from native or encapsulated (decoded on the way) Pixel Data:
 * for the palette indices of a PALETTE COLOR image that Swift looks up itself (segmented LUTs,
 * which DCMTK's image module cannot expand). `frame_bytes` = rows x columns x Bits Allocated / 8. */
wc_image_status wc_image_read_frame_samples(wc_image *image, uint32_t frame, uint8_t *out, size_t frame_bytes,
                                            char *message, size_t message_len);

/* The 16-bit words of an OW / US attribute of the top-level dataset (e.g. Segmented Palette Color
 * Lookup Table Data) in this machine's byte order, up to `count` copied into out (may be NULL).
 * Returns how many words the value has, or -1 when the attribute is absent or not 16-bit. */
long wc_image_words(wc_image *image, uint32_t tag, uint16_t *out, size_t count);

/* Warnings DCMTK's JPEG, JPEG-LS and RLE decoders logged on this thread since the last call
 * (libjpeg's "Corrupt JPEG data" among them: the frame then decodes, but wrongly). Returns
 * their count and copies the first into `first`; resets. The first call starts listening. */
unsigned long wc_image_take_decode_warnings(char *first, size_t first_len);

#ifdef __cplusplus
}
#endif
#endif
