#include "wecare_common.h"
#include "wecare_image.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include <mutex>

extern "C" const char *wc_dcmtk_version(void) { return OFFIS_DCMTK_VERSION_STRING; }

// DCMTK's codec list is process-wide and registerCodecs() is not safe to race: register once.
// JPEG decoding converts YCbCr to RGB when the Photometric Interpretation says YBR_* (DCMTK's
// default, as dcmdjpeg does); DicomImage then reads the decoded colour model.
extern "C" void wc_codecs_register(void) {
    static std::once_flag once;
    std::call_once(once, [] {
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
    });
}
