/* WeCare's plain C view of DCMTK. The shim moves bytes and calls DCMTK; every decision
 * (who may connect, which status to answer, what to write) is made in Swift.
 * Each area has its own header; this one includes them all. */
#ifndef WECARE_DCMTK_H
#define WECARE_DCMTK_H
#include "wecare_common.h"  /* version, process-wide set-up */
#include "wecare_net.h"     /* Storage SCP pool, Storage SCU, C-ECHO, TLS */
#include "wecare_image.h"   /* reading instances: attributes, ultrasound regions, decoded frames */
#include "wecare_writers.h" /* SEG, TID 1500 SR, presentation state */
#include "wecare_dictionary.h" /* data dictionary look-ups for the dataset scanner */
#include "wecare_certificates.h" /* TLS certificate and key files, for the self-test */
#endif
