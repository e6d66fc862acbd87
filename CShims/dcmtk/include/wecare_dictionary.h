/* DCMTK's data dictionary, asked by the Swift dataset scanner: in Implicit VR a defined-length
 * element is a sequence exactly when the dictionary says SQ, and DCMTK's parser will descend into
 * it, so the scanner must descend (and count the nesting) the same way. */
#ifndef WECARE_DICTIONARY_H
#define WECARE_DICTIONARY_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* The VR the dictionary gives (group,element), looked up as DCMTK's parser does: private tags
 * with their private creator (NULL or "" when none is known). Writes the two letters and a NUL
 * into vr[3] and returns 1; returns 0 when the dictionary has no entry (DCMTK then reads the
 * element as UN). Loads the dictionary on first use. Thread-safe. */
int wc_dictionary_vr(uint16_t group, uint16_t element, const char *private_creator, char vr[3]);

#ifdef __cplusplus
}
#endif
#endif
